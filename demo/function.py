"""The demo's Lambda function: shardsafe's zip plus ``demo_handler.py``, the template with a crash trigger.

The end-to-end tests deploy the same function, so the demo and the tests exercise one thing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from demo import demo_handler
from shardsafe.ops.packaging import add_to_zip

#: The function's handler setting.
HANDLER = "demo_handler.lambda_handler"
#: The producer kind of the record the function dies on.
CRASH_KIND = "crash"


def build_zip(package_zip: Path, output: Path) -> Path:
    """shardsafe's Lambda zip (``make package``) with ``demo_handler.py`` added; reproducible."""
    return add_to_zip(package_zip, {"demo_handler.py": Path(demo_handler.__file__)}, output)


def crash_record(partition_key: str = "crash") -> Any:
    """A producer record the demo handler dies on (see demo_handler)."""
    from shardsafe.ops.produce import ProducerRecord

    # alone: inside a KPL aggregate the demo handler would not see it (it reads each Kinesis record's data)
    return ProducerRecord(
        data=demo_handler.CRASH_PAYLOAD, partition_key=partition_key, kind=CRASH_KIND, alone=True
    )
