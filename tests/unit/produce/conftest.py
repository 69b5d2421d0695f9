"""The fakes' fixtures (tests/unit/fakes.py) for the produce tests."""

from tests.unit.fakes import fake_kinesis

__all__ = ["fake_kinesis"]
