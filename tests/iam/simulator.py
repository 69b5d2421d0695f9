"""IAM's evaluation of an identity policy, for what the module writes: is this request allowed?

LocalStack's community edition does not enforce IAM, so a deployment there says nothing about the
role's policy. This evaluates the policy read back from the deployed role, as AWS documents the
evaluation (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):

- a request is allowed when an Allow statement matches it and no Deny statement does (an explicit
  Deny wins; nothing matching is an implicit deny);
- Action matches case-insensitively, with ``*`` (any run of characters) and ``?`` (one character)
  (reference_policies_elements_action.html);
- Resource matches segment by segment (partition, service, region, account, resource), case
  sensitively, ``*`` and ``?`` within a segment, the resource segment taking ``/`` and ``:`` too;
  ``"*"`` alone is every resource (reference_policies_elements_resource.html);
- Condition: every operator and every key must match (AND), any of a key's values may (OR); a key the
  request lacks fails the condition, except for the negated operators and ``...IfExists``
  (reference_policies_elements_condition_operators.html).

Anything else in a statement (NotAction, NotResource, Principal, an operator not listed) raises
:class:`UnsupportedPolicy`, rather than being evaluated wrongly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

__all__ = ["Decision", "Request", "UnsupportedPolicy", "evaluate"]


class UnsupportedPolicy(ValueError):
    """The policy uses an element or operator this evaluator does not implement."""


class Decision(Enum):
    ALLOW = "allow"
    IMPLICIT_DENY = "implicit deny"
    EXPLICIT_DENY = "explicit deny"


@dataclass(frozen=True)
class Request:
    """One API call as IAM sees it: the action it is authorized as, its resource, its context keys."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


_STATEMENT_KEYS = {"Sid", "Effect", "Action", "Resource", "Condition"}
_ARN_SEGMENTS = 6  # arn:partition:service:region:account:resource


def _glob(pattern: str, *, ignore_case: bool, slash_colon: bool = True) -> re.Pattern[str]:
    any_run = ".*" if slash_colon else "[^:]*"
    one = "." if slash_colon else "[^:]"
    body = "".join(any_run if c == "*" else one if c == "?" else re.escape(c) for c in pattern)
    return re.compile(f"^{body}$", re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _action_matches(patterns: Sequence[str], action: str) -> bool:
    return any(_glob(pattern, ignore_case=True).match(action) for pattern in patterns)


def _resource_matches(patterns: Sequence[str], resource: str) -> bool:
    for pattern in patterns:
        if pattern == "*":
            return True
        wanted = pattern.split(":", _ARN_SEGMENTS - 1)
        actual = resource.split(":", _ARN_SEGMENTS - 1)
        if len(wanted) != _ARN_SEGMENTS or len(actual) != _ARN_SEGMENTS:
            if pattern == resource:
                return True
            continue
        # Every segment but the resource one is matched within the segment; the resource segment
        # (the sixth) may hold "/" and ":" and a wildcard there spans them.
        if all(
            _glob(p, ignore_case=False, slash_colon=(index == _ARN_SEGMENTS - 1)).match(a)
            for index, (p, a) in enumerate(zip(wanted, actual, strict=True))
        ):
            return True
    return False


def _string_equals(wanted: str, actual: str) -> bool:
    return wanted == actual


def _string_like(wanted: str, actual: str) -> bool:
    return bool(_glob(wanted, ignore_case=False).match(actual))


def _arn_like(wanted: str, actual: str) -> bool:
    return _resource_matches([wanted], actual)


def _bool(wanted: str, actual: str) -> bool:
    return wanted.lower() == actual.lower()


_OPERATORS = {
    "StringEquals": (_string_equals, False),
    "StringNotEquals": (_string_equals, True),
    "StringLike": (_string_like, False),
    "StringNotLike": (_string_like, True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (_bool, False),
}


def _conditions_hold(conditions: Mapping[str, Mapping[str, Any]], context: Mapping[str, str]) -> bool:
    for operator, keys in conditions.items():
        if_exists = operator.endswith("IfExists")
        name = operator.removesuffix("IfExists")
        if name not in _OPERATORS:
            raise UnsupportedPolicy(f"condition operator {operator!r} is not implemented")
        compare, negated = _OPERATORS[name]
        for key, values in keys.items():
            present = {k.lower(): v for k, v in context.items()}  # condition keys are case-blind
            actual = present.get(key.lower())
            if actual is None:
                if not (if_exists or negated):
                    return False
                continue
            matched = any(compare(wanted, actual) for wanted in _as_list(values))
            if matched == negated:
                return False
    return True


def _matches(statement: Mapping[str, Any], request: Request) -> bool:
    unknown = set(statement) - _STATEMENT_KEYS
    if unknown:
        raise UnsupportedPolicy(f"statement {statement.get('Sid', '?')!r} uses {sorted(unknown)}")
    return (
        _action_matches(_as_list(statement["Action"]), request.action)
        and _resource_matches(_as_list(statement["Resource"]), request.resource)
        and _conditions_hold(statement.get("Condition", {}), request.context)
    )


def evaluate(policy: Mapping[str, Any], request: Request) -> Decision:
    """What IAM decides for ``request`` under the identity policy ``policy`` alone."""
    statements = policy["Statement"]
    statements = [statements] if isinstance(statements, Mapping) else statements
    allowed = False
    for statement in statements:
        if not _matches(statement, request):
            continue
        if statement["Effect"] == "Deny":
            return Decision.EXPLICIT_DENY
        allowed = True
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY
