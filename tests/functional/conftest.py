"""Fixtures of the functional tests beyond the shared factories: the idempotency stores."""

from __future__ import annotations

from tests.idempotency_support import dynamodb, store  # noqa: F401 - fixtures, found by name
