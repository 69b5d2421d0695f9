"""The validate stage: convert the decoded data (``model=``, ``convert=``), then check it (``validate=``).

**Checking.** A validator is called with the decoded data. It fails by raising (any exception not
marked retryable) or by returning ``False``; either way the record is poison (``validation_error``).
Whatever else it returns (``None``, ``True``, a ``re.Match``, a count) passes the record with its
data unchanged: a validator's return value is a verdict, never the data. ``jsonschema`` plugs in as a
callable::

    StreamProcessor(handle, validate=Draft202012Validator(schema).validate)

**Converting.** What ``convert=`` returns is the data the handler gets, whatever it is (``None``
included); raising is poison (``validation_error``), as for a validator. ``model=`` is the converter of
a pydantic model (:mod:`shardsafe.core.stages.model`), with pydantic's messages::

    StreamProcessor(handle, model=Tick)                       # record.data is a Tick
    StreamProcessor(handle, convert=Order.from_dict)          # record.data is what from_dict returns

Converting is asked for by name, not guessed from a return value: a check that returns a truthy
object by accident (``re.compile(...).match``, ``lambda d: d.get("id") and d["price"]``) must not
silently hand the handler something else than the data it checked. With both, the validator checks
what the handler will get, the converted value (``validate=lambda tick: tick.PRICE > 0`` with
``model=Tick``): whatever converts, the validator has the last word on ``record.data``.
"""

from __future__ import annotations

from collections.abc import Mapping

from shardsafe.core.errors import ConfigurationError, ValidationError

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    FieldType = type | tuple[type, ...]
    Validator = Callable[[Any], object]
    Converter = Callable[[Any], Any]

_TYPE_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "a boolean", list: "an array"}
_TYPE_NAMES[dict] = "an object"
_TYPE_NAMES[type(None)] = "null"


class FieldSchema:
    """Require fields of given types in a JSON object.

    ``float`` accepts integers too (JSON has one number type) but not infinities (``1e999999`` decodes
    to ``inf``) or NaN; ``bool`` is never taken for a number. Extra fields are allowed.

    >>> tick = FieldSchema({"EVENT_TIME": str, "TICKER": str, "PRICE": float})
    >>> tick({"EVENT_TIME": "2024-01-01T00:00:00", "TICKER": "AMZN", "PRICE": 12})
    >>> tick({"TICKER": "AMZN", "PRICE": "12"})
    Traceback (most recent call last):
    ...
    shardsafe.core.errors.ValidationError: missing field 'EVENT_TIME'; field 'PRICE' must be a number, got a string
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: Mapping[str, FieldType]) -> None:
        if not fields:
            raise ConfigurationError("FieldSchema needs at least one field, e.g. {'TICKER': str}")
        compiled: list[tuple[str, tuple[type, ...], bool]] = []
        for name, expected in fields.items():
            kinds = expected if isinstance(expected, tuple) else (expected,)
            if not kinds or not all(isinstance(kind, type) for kind in kinds):
                raise ConfigurationError(f"FieldSchema: field {name!r} must map to a type, got {expected!r}")
            if float in kinds and int not in kinds:
                kinds = (*kinds, int)
            compiled.append((name, kinds, bool in kinds))
        self._fields = tuple(compiled)

    def __call__(self, data: object) -> None:
        if type(data) is not dict:
            raise ValidationError(f"expected an object, got {type(data).__name__}")
        problems: list[str] | None = None
        for name, kinds, bool_ok in self._fields:
            try:
                value = data[name]
            except KeyError:
                problems = problems or []
                problems.append(f"missing field {name!r}")
                continue
            if isinstance(value, kinds) and (bool_ok or type(value) is not bool):
                if type(value) is not float or value - value == 0:
                    continue
                # inf or NaN: what 1e999999 decodes to, and no number JSON can write
                problems = problems or []
                problems.append(f"field {name!r} must be a finite number, got {value!r}")
                continue
            problems = problems or []
            expected = " or ".join(_TYPE_NAMES.get(kind, kind.__name__) for kind in kinds if kind is not int)
            if not expected:
                expected = _TYPE_NAMES[int]
            got = _TYPE_NAMES.get(type(value), type(value).__name__)
            problems.append(f"field {name!r} must be {expected}, got {got}")
        if problems:
            raise ValidationError("; ".join(problems))

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{name!r}: {'|'.join(kind.__name__ for kind in kinds)}" for name, kinds, _ in self._fields
        )
        return f"FieldSchema({{{fields}}})"


def as_validator(validate: Validator | Mapping[str, FieldType] | None) -> Validator | None:
    """The callable behind ``StreamProcessor(validate=...)``: a mapping becomes a FieldSchema."""
    if validate is None or callable(validate):
        return validate
    if isinstance(validate, Mapping):
        return FieldSchema(validate)
    raise ConfigurationError(
        f"validate must be a callable or a mapping of field names to types, got {type(validate).__name__}"
    )


def as_converter(convert: Converter | None, model: object = None) -> Converter | None:
    """The callable behind ``StreamProcessor(convert=..., model=...)``: at most one of them. A model's is
    pydantic's Python mode, for data that is not JSON bytes (:mod:`shardsafe.core.stages.model`)."""
    if model is not None:
        if convert is not None:
            raise ConfigurationError(
                "give model= or convert=, not both: a model converts the data itself "
                "(for more, convert in the model's validators)"
            )
        from shardsafe.core.stages.model import model_converter  # only with a model

        return model_converter(model)
    if convert is not None and not callable(convert):
        raise ConfigurationError(
            f"convert must be a callable data -> value, got {type(convert).__name__}: {convert!r}"
        )
    return convert


def validate_stage(
    validate: Validator | None,
    is_retryable: Callable[[BaseException], bool],
    convert: Converter | None = None,
) -> Callable[[Any], Any] | None:
    """The validate stage: ``data -> data`` (converted, then checked), or
    :class:`~shardsafe.core.errors.Rejection` (``validation_error``).

    What the converter or the validator raises is poison unless the policy calls it retryable (one that
    calls out, to a schema registry, may time out); a validator returning ``False`` is poison too.
    """
    if validate is None and convert is None:
        return None
    check = None if validate is None else _checking(validate, is_retryable)
    if convert is None:
        return check
    to_data = converting(convert, is_retryable)
    if check is None:
        return to_data

    def converted_and_checked(data: Any) -> Any:
        return check(to_data(data))

    return converted_and_checked


def converting(convert: Converter, is_retryable: Callable[[BaseException], bool]) -> Callable[[Any], Any]:
    """``convert`` whose failures are poison (``validation_error``) unless the policy calls them retryable."""
    from shardsafe.core import reasons
    from shardsafe.core.errors import Rejection
    from shardsafe.core.policy import NEVER_CAUGHT

    def converted(data: Any) -> Any:
        try:
            return convert(data)
        except Rejection:
            raise
        except BaseException as error:  # sys.exit() in a converter fails its record, not the invocation
            if isinstance(error, NEVER_CAUGHT) or is_retryable(error):
                raise
            raise Rejection(reasons.VALIDATION_ERROR, error) from None

    return converted


def _checking(validate: Validator, is_retryable: Callable[[BaseException], bool]) -> Callable[[Any], Any]:
    from shardsafe.core import reasons
    from shardsafe.core.errors import Rejection
    from shardsafe.core.policy import NEVER_CAUGHT

    def check(data: Any) -> Any:
        try:
            verdict = validate(data)
        except Rejection:
            raise
        except BaseException as error:  # sys.exit() in a validator fails its record, not the invocation
            if isinstance(error, NEVER_CAUGHT) or is_retryable(error):
                raise
            raise Rejection(reasons.VALIDATION_ERROR, error) from None
        if verdict is False:
            name = getattr(validate, "__qualname__", None) or type(validate).__name__
            raise Rejection(reasons.VALIDATION_ERROR, f"validator {name} returned False")
        return data

    return check
