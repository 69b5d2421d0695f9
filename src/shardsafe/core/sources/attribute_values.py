"""DynamoDB's attribute values (``{"N": "1.5"}``) as Python values, as boto3's ``TypeDeserializer`` gives them.

A stream record's ``Keys``, ``NewImage`` and ``OldImage`` are maps of attribute values. This reads them
without boto3 (half a second of cold start), with boto3's rules (``boto3/dynamodb/types.py``):

==========  =============================================================================
``S``       ``str``
``N``       ``decimal.Decimal`` in DynamoDB's context (38 digits); what is not a finite number is refused
``B``       ``bytes`` (Lambda's event carries base64; boto3's ``Binary`` compares equal to it)
``BOOL``    ``bool``;  ``NULL``: ``None``
``SS``      ``set`` of ``str``; ``NS``: ``set`` of ``Decimal``; ``BS``: ``set`` of ``bytes``
``L``       ``list``;  ``M``: ``dict``
==========  =============================================================================

>>> item({"pk": {"S": "order-1"}, "amount": {"N": "12.50"}, "tags": {"SS": ["a"]}})
{'pk': 'order-1', 'amount': Decimal('12.50'), 'tags': {'a'}}

Anything else (an unknown type, a value of the wrong JSON type, a number DynamoDB would not store)
raises :class:`MalformedAttributeValue`, a ``ValueError`` naming the attribute.
"""

from __future__ import annotations

import binascii

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from decimal import Context
    from typing import Any

__all__ = ["MalformedAttributeValue", "deserialize", "item"]


class MalformedAttributeValue(ValueError):
    """An attribute value that is not one DynamoDB writes."""


_context: Context | None = None


def _dynamodb_context() -> Context:
    """boto3's ``DYNAMODB_CONTEXT``; decimal is imported with the first number (a DynamoDB batch only)."""
    global _context  # noqa: PLW0603 - built once per process
    if _context is None:
        from decimal import Clamped, Context, Inexact, Overflow, Rounded, Underflow

        _context = Context(
            Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow]
        )
    return _context


def _number(text: object) -> Any:
    if type(text) is not str:
        raise MalformedAttributeValue(f"N must be a string of digits, got {type(text).__name__}")
    try:
        number = _dynamodb_context().create_decimal(text)
    except ArithmeticError as error:  # Inexact (more than 38 digits), Overflow, Underflow...
        raise MalformedAttributeValue(
            f"N {text[:64]!r} is not a number DynamoDB stores ({error!r})"
        ) from None
    if not number.is_finite():  # boto3 reads "one" as NaN; DynamoDB stores no NaN nor infinity
        raise MalformedAttributeValue(f"N {text[:64]!r} is not a number DynamoDB stores")
    return number


def _string(text: object) -> str:
    if type(text) is not str:
        raise MalformedAttributeValue(f"S must be a string, got {type(text).__name__}")
    return text


def _binary(text: object) -> bytes:
    if type(text) is bytes:  # boto3's low-level shape: botocore has decoded the base64 already
        return text
    if type(text) is not str:
        raise MalformedAttributeValue(f"B must be base64 text, got {type(text).__name__}")
    try:
        return binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError) as error:
        raise MalformedAttributeValue(f"B is not base64: {error}") from None


def _bool(value: object) -> bool:
    if type(value) is not bool:
        raise MalformedAttributeValue(f"BOOL must be true or false, got {type(value).__name__}")
    return value


def _null(value: object) -> None:
    return None  # boto3 returns None whatever NULL holds (DynamoDB writes true)


def _set_of(element: Callable[[object], Any], kind: str) -> Callable[[object], set[Any]]:
    def read(values: object) -> set[Any]:
        if type(values) is not list:
            raise MalformedAttributeValue(f"{kind} must be a list, got {type(values).__name__}")
        return {element(value) for value in values}

    return read


def _list(values: object) -> list[Any]:
    if type(values) is not list:
        raise MalformedAttributeValue(f"L must be a list, got {type(values).__name__}")
    return [deserialize(value) for value in values]


def _map(values: object) -> dict[str, Any]:
    if type(values) is not dict:
        raise MalformedAttributeValue(f"M must be an object, got {type(values).__name__}")
    return {name: deserialize(value) for name, value in values.items()}


_READERS: dict[str, Callable[[Any], Any]] = {
    "S": _string,
    "N": _number,
    "B": _binary,
    "BOOL": _bool,
    "NULL": _null,
    "SS": _set_of(_string, "SS"),
    "NS": _set_of(_number, "NS"),
    "BS": _set_of(_binary, "BS"),
    "L": _list,
    "M": _map,
}


def deserialize(value: object) -> Any:
    """One attribute value (``{"N": "1"}``) as a Python value."""
    if type(value) is not dict or len(value) != 1:
        raise MalformedAttributeValue(
            f"an attribute value is an object with one type key (S, N, B, BOOL, NULL, SS, NS, BS, L, M), got {_shape(value)}"
        )
    ((kind, content),) = value.items()
    reader = _READERS.get(kind)
    if reader is None:
        raise MalformedAttributeValue(f"DynamoDB has no attribute type {str(kind)[:32]!r}")
    return reader(content)


def item(image: object) -> dict[str, Any]:
    """A map of attribute values (an item, its keys, an image) as a dict of Python values."""
    if type(image) is not dict:
        raise MalformedAttributeValue(f"an item is an object of attribute values, got {type(image).__name__}")
    values = {}
    for name, value in image.items():
        try:
            values[name] = deserialize(value)
        except MalformedAttributeValue as error:
            raise MalformedAttributeValue(f"attribute {str(name)[:64]!r}: {error}") from None
    return values


def _shape(value: object) -> str:
    if type(value) is dict:
        return f"an object with keys {sorted(map(str, value))[:5]}"
    return f"a {type(value).__name__}"
