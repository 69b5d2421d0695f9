"""The demo: examples/complete deployed on LocalStack, fed good and poison records, every record accounted for.

``python -m demo`` (``make demo``) runs it; :mod:`demo.function` is the function it deploys (the
handler template plus a record that crashes it), which the end-to-end tests deploy too;
:mod:`demo.report` writes the report, counting records by producer kind.
"""
