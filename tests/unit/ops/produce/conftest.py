"""The fakes' fixtures (tests/unit/ops/fakes.py) for the produce tests."""

from tests.unit.ops.fakes import fake_kinesis

__all__ = ["fake_kinesis"]
