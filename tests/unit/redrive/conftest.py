"""The fakes' fixtures (tests/unit/fakes.py) for the redrive tests."""

from tests.unit.fakes import fake_kinesis, fake_sqs, on_failure_body, quarantine_body

__all__ = ["fake_kinesis", "fake_sqs", "on_failure_body", "quarantine_body"]
