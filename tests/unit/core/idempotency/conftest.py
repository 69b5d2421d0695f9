"""The idempotency stores as fixtures: in memory, and DynamoDB as moto serves it."""

from __future__ import annotations

from tests.idempotency_support import dynamodb, store  # noqa: F401 - fixtures, found by name
