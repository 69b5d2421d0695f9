"""The operator side: the tools run from a laptop or CI, never inside the function.

- ``produce``: load with poison, on a stream or a queue;
- ``redrive``: failures read back (queues, the failure bucket, dead-letter queues) and replayed;
- ``packaging``: the Lambda zip and layer (``shardsafe package``);
- ``failures``: the one model of a failure message or object;
- ``cli``: the ``shardsafe`` command, parsing and output only;
- ``aws``: the one boto3 client factory.

These import the Lambda side's names (sources, reasons, the envelope format) from :mod:`shardsafe.core`,
never the other way round.
"""
