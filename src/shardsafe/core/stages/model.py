"""Typed records: a pydantic model (``model=``) or a converter (``convert=``) makes the data the handler gets.

::

    class Tick(BaseModel):
        TICKER: str
        PRICE: float

    def handle(record: KinesisRecord[Tick]) -> None:
        print(record.data.PRICE)          # the validated Tick

    processor = StreamProcessor(handle, model=Tick)

A record whose data the model refuses is poison (``validation_error``), with pydantic's messages, one
line, at most :data:`MAX_ERRORS` of them. pydantic is the user's import: shardsafe imports nothing of
it unless a model is given, and then only what the model's module has loaded already.
"""

from __future__ import annotations

from shardsafe.core import reasons
from shardsafe.core.errors import ConfigurationError, Rejection

TYPE_CHECKING = False  # typing is not imported at run time: it would cost the cold start
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: The pydantic errors a quarantined record's message lists; the count says how many there were.
MAX_ERRORS = 5
#: The most characters of one error's message kept (a custom validator's message may be long).
MAX_ERROR_CHARS = 200


class ModelRejection(Rejection):
    """A record the model refused: pydantic's ``ValidationError``, with its messages on one bounded line."""

    def __init__(self, error: BaseException, message: str) -> None:
        super().__init__(reasons.VALIDATION_ERROR, error)
        self._message = message

    @property
    def error_message(self) -> str:
        return self._message


def model_converter(model: object) -> Callable[[Any], Any]:
    """``data -> instance`` for a pydantic model class; ConfigurationError for anything else."""
    validate = getattr(model, "model_validate", None) if isinstance(model, type) else None
    if not callable(validate):
        raise ConfigurationError(
            f"model must be a pydantic model class (a BaseModel subclass), got {model!r}; for another "
            "type, pass convert=pydantic.TypeAdapter(YourType).validate_python"
        )
    from pydantic_core import ValidationError  # loaded already: the model's module imported pydantic

    def to_model(data: Any) -> Any:
        try:
            return validate(data)
        except ValidationError as error:
            raise ModelRejection(error, describe(error)) from None

    to_model.__qualname__ = f"{getattr(model, '__qualname__', model)}.model_validate"
    return to_model


def describe(error: Any) -> str:
    """pydantic's messages on one line: ``2 validation errors for Tick: PRICE: Input should be ...; ...``.

    Input values are left out (the quarantined record carries the payload), and so are pydantic's
    documentation links; at most :data:`MAX_ERRORS` messages, so a record with a thousand bad fields
    still gives a short line.
    """
    count = error.error_count()
    details = error.errors(include_url=False, include_context=False, include_input=False)
    parts = []
    for detail in details[:MAX_ERRORS]:
        where = ".".join(str(part) for part in detail["loc"]) or "(the record)"
        message = str(detail["msg"])
        if len(message) > MAX_ERROR_CHARS:
            message = message[: MAX_ERROR_CHARS - 3] + "..."
        parts.append(f"{where}: {message} [type={detail['type']}]")
    more = f"; and {count - MAX_ERRORS} more" if count > MAX_ERRORS else ""
    noun = "error" if count == 1 else "errors"
    return f"{count} validation {noun} for {error.title}: " + "; ".join(parts) + more
