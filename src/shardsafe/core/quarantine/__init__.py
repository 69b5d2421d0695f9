"""Where poison goes: the flush (``flush.py``), the envelope format, claim checks, and the sinks.

The sinks, one file each, by the name ``SHARDSAFE_QUARANTINE_SINK`` (which the Terraform module sets)
chooses them with: adding a sink is its file and one line in :data:`SINKS`. The contract a sink
keeps is :class:`~shardsafe.core.quarantine.sink.QuarantineSink`. Nothing here is imported until a
batch has poison.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from shardsafe.core.quarantine.sink import QuarantineSink

#: ``SHARDSAFE_QUARANTINE_SINK``: which sink a processor without ``quarantine=`` sends to.
SINK_ENV = "SHARDSAFE_QUARANTINE_SINK"
#: The sinks by name, as ``module:class`` (imported when chosen).
SINKS = {
    "sqs": "shardsafe.core.quarantine.sqs:SqsQuarantine",
    "sns": "shardsafe.core.quarantine.sns:SnsQuarantine",
}
DEFAULT_SINK = "sqs"


def sink_from_environment() -> QuarantineSink:
    """The sink ``SHARDSAFE_QUARANTINE_SINK`` names (``sqs`` when unset), configured from the environment."""
    from shardsafe.core.errors import ConfigurationError

    name = os.environ.get(SINK_ENV, "").strip().lower() or DEFAULT_SINK
    where = SINKS.get(name)
    if where is None:
        raise ConfigurationError(
            f"{SINK_ENV}={name!r}: set it to one of {sorted(SINKS)} (the module sets it)"
        )
    import importlib

    module, _, name = where.partition(":")
    sink: QuarantineSink = getattr(importlib.import_module(module), name)()
    return sink
