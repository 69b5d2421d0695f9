"""Factory fixtures (synthetic events, in-memory sinks, log capture) from tests/factories.py."""

from factories import (  # noqa: F401 - fixtures are found by name
    context,
    dynamodb_event_fixture,
    kinesis_event_fixture,
    kinesis_record_fixture,
    log_lines,
    metrics,
    quarantine,
    sqs_event_fixture,
)
