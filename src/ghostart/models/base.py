"""The base every domain model shares: strict, immutable, and a typed error for bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Self
from uuid import UUID, uuid4

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from ghostart.errors import InvalidInput

__all__ = ["DomainModel", "Text", "as_uuid", "new_id", "utcnow"]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters (\\u0000)")
    return value


#: Text people or providers send. PostgreSQL refuses NUL in text and JSON, so it is refused on
#: every store alike, as bad input, before it reaches one.
Text = Annotated[str, AfterValidator(_no_nul)]


def new_id() -> UUID:
    """A new random identifier."""
    return uuid4()


def as_uuid(value: object, field: str = "id") -> UUID:
    """``value`` as a UUID (a UUID or its text), or :class:`InvalidInput` naming ``field``."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(f"{field} must be a UUID, got {value!r}", field=field) from None


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class DomainModel(BaseModel):
    """Frozen pydantic model; ``parse`` turns validation failures into :class:`InvalidInput`."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    @classmethod
    def parse(cls, data: Self | dict[str, Any]) -> Self:
        """Validate ``data`` (a mapping or an instance) or raise ``InvalidInput`` naming the field."""
        if isinstance(data, cls):
            return data
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise invalid_input_from(exc) from None


def invalid_input_from(exc: ValidationError) -> InvalidInput:
    """Summarise a pydantic error as one readable, typed error."""
    problems = []
    first_field: str | None = None
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in err["loc"]) or "value"
        first_field = first_field or loc
        problems.append(f"{loc}: {err['msg']}")
    return InvalidInput("; ".join(problems), field=first_field, errors=problems)
