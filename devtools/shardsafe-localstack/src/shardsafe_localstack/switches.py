"""The embedded LocalStack's on/off switches: environment variables of the LocalStack process, each on by default.

SHARDSAFE_LOCALSTACK_BISECT (bisect_on_error), SHARDSAFE_LOCALSTACK_PAYLOAD_LIMIT (payload_limit),
SHARDSAFE_LOCALSTACK_MEMORY_LIMIT (executor), SHARDSAFE_LOCALSTACK_SQS_SCALING (sqs_scaling) and
SHARDSAFE_LOCALSTACK_SQS_BODY (sqs_body) and SHARDSAFE_LOCALSTACK_TUMBLING_WINDOW (tumbling_window) turn an
emulation off with ``0`` (stock LocalStack).
SHARDSAFE_LOCALSTACK_FAST_INVOKE (executor), SHARDSAFE_LOCALSTACK_BATCH_LOGS,
SHARDSAFE_LOCALSTACK_BATCH_METRICS and SHARDSAFE_LOCALSTACK_POLL_AGAIN (speedups) turn a speed-up off
the same way. SHARDSAFE_LOCALSTACK_DYNAMODB (ctl, dynamodb) serves DynamoDB and DynamoDB Streams from moto; ``0``
leaves LocalStack's own providers, which download DynamoDB Local at first use;
SHARDSAFE_LOCALSTACK_DYNAMODB_TRANSACTIONS (dynamodb_transactions) ``0`` leaves moto's transactions, which
copy each table they name.
SHARDSAFE_LOCALSTACK_TRACE (trace) is not a switch but a file path, off when unset.
"""

from __future__ import annotations

import os

DYNAMODB_ENV = "SHARDSAFE_LOCALSTACK_DYNAMODB"
DYNAMODB_PROVIDER = "shardsafe"  # the provider name PROVIDER_OVERRIDE_DYNAMODB(STREAMS) selects

_ON = {"1", "true", "on", "yes"}
_OFF = {"0", "false", "off", "no"}


class SwitchError(ValueError):
    """A switch has a value that is neither on nor off; the message names it and the fix."""


def parse_switch(value: str, where: str) -> bool:
    """``on``/``off`` (or 1/0, true/false, yes/no) as a bool; SwitchError naming ``where`` otherwise."""
    normalized = value.strip().lower()
    if normalized in _ON:
        return True
    if normalized in _OFF:
        return False
    raise SwitchError(f"{where}={value!r} is neither on nor off: set it to 1 or 0 (on/off, true/false)")


def switch(name: str) -> bool:
    """The environment switch ``name`` (on unless set otherwise); SwitchError for a value that is neither."""
    return parse_switch(os.environ.get(name, "1"), name)
