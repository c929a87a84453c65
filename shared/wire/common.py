"""Typed request shapes over inputs the edge has already validated against the model.

Field names stay camelCase as the model spells them. The model's constraints live in
the model and are checked once, by the edge (``shared/edge``); these types only give
the handlers typed values (timestamps as datetimes), plus the few rules Evidently
documents beyond the model. Anything that fails here becomes a ValidationException
whose message names the field.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

import orjson
from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from shared.domain.limits import deeper_than
from shared.domain.tagging import MAX_TAGS
from shared.errors import ValidationException

# Names for what a string or an integer is; the model constrains them.
ResourceName = str
SegmentName = str
Description = str
Salt = str
SplitWeight = int
JsonPath = str
LongValue = int


def _check_tags(tags: dict[str, str]) -> dict[str, str]:
    # The edge checked each key and value against the model; the count is Evidently's
    # documented rule beyond it.
    if len(tags) > MAX_TAGS:
        raise ValueError(f"a resource has at most {MAX_TAGS} tags, not {len(tags)}")
    return tags


Tags = Annotated[dict[str, str], AfterValidator(_check_tags)]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, strict=False)


M = TypeVar("M", bound=BaseModel)


def _location(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "body"


def validation_error(error: ValidationError) -> ValidationException:
    first = error.errors()[0]
    where = _location(first["loc"])
    count = error.error_count()
    message = (
        f"{count} validation error{'s' if count > 1 else ''} detected: "
        f"Value at '{where}' failed to satisfy constraint: {first['msg']}"
    )
    return ValidationException(message, field=where)


def json_object(
    text: str | bytes, field: str, name: str | None = None, *, max_depth: int | None = None
) -> dict[str, Any]:
    """A JSON object from a field that carries JSON text; a ValidationException naming
    ``field`` (as ``name`` in the message) if it is not valid JSON or not an object,
    or, given ``max_depth``, if it nests objects and arrays deeper than that."""
    name = name or field
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        # orjson stops at 1024 levels on its own; past a smaller limit of ours that is
        # the same problem, and the message should name our limit, not orjson's.
        if max_depth is not None and str(exc).startswith("depth limit exceeded"):
            raise _too_deep(name, field, max_depth) from None
        raise ValidationException(f"{name} is not valid JSON: {exc}", field=field) from None
    if not isinstance(data, dict):
        raise ValidationException(f"{name} must be a JSON object", field=field)
    if max_depth is not None and deeper_than(data, max_depth):
        raise _too_deep(name, field, max_depth)
    return data


def _too_deep(name: str, field: str, max_depth: int) -> ValidationException:
    return ValidationException(
        f"{name} nests objects and arrays more than {max_depth} levels deep, the limit",
        field=field,
    )


def parse(model: type[M], document: dict[str, Any]) -> M:
    """A typed request from an input the edge has validated against the model.

    Only Verdict's own rules beyond the model can still fail here."""
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        raise validation_error(exc) from None
