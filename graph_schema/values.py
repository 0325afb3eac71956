"""Each property type of the schema as a pydantic type: what it accepts and how it is cleaned.

These types are the one definition of a property value: the ingest request models
(`service.domain.ingest.models`) are built from them, and `Property.coerce` (the importers' local
check) validates through them, so the service and its clients cannot disagree. They are strict:
no string is taken for a number, no number for a string, no `true` for an integer. `message`
turns pydantic's error into the sentence the API returns.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, Strict, TypeAdapter
from pydantic_core import ErrorDetails, PydanticCustomError

MAX_STRING = 10_000
MAX_LIST = 100
INT64 = 2**63


def _iso_date(value: str) -> str:
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise PydanticCustomError("date_format", "expected a date as YYYY-MM-DD") from None


def _iso_datetime(value: str) -> str:
    try:
        return dt.datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise PydanticCustomError("datetime_format", "expected an ISO 8601 date-time") from None


String = Annotated[str, Strict(), Field(max_length=MAX_STRING)]

VALUE_TYPES: dict[str, Any] = {
    "string": String,
    "text": String,
    "integer": Annotated[int, Strict(), Field(ge=-INT64, lt=INT64)],
    # An integer is a number: 3 is taken as 3.0 (not true, not "3").
    "float": Annotated[float, Strict(), Field(allow_inf_nan=False)],
    "boolean": Annotated[bool, Strict()],
    # Stored as the ISO text Python reads and writes back, as every date of the graph is.
    "date": Annotated[str, Strict(), AfterValidator(_iso_date), Field(json_schema_extra={"format": "date"})],
    "datetime": Annotated[str, Strict(), AfterValidator(_iso_datetime),
                          Field(json_schema_extra={"format": "date-time"})],
    "list[string]": Annotated[list[String], Strict(), Field(max_length=MAX_LIST)],
}


def value_type(type_name: str, values: tuple[str, ...] = ()) -> Any:
    """The pydantic type of a property of `type_name` (an enum's with its `values`)."""
    if type_name == "enum":
        return Literal[values]  # an enum's values are strings: strict, nothing else matches
    return VALUE_TYPES[type_name]


@cache
def adapter(type_name: str, values: tuple[str, ...] = ()) -> TypeAdapter[Any]:
    return TypeAdapter(value_type(type_name, values))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_EXPECTED_TEXT = {"date": "expected a date as YYYY-MM-DD", "datetime": "expected an ISO 8601 date-time"}


def message(error: ErrorDetails, type_name: str = "") -> str:
    """What the caller is told for one pydantic error of a value (of property type `type_name`, when
    known): what was expected, and what came when it is short."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_type":
        return _EXPECTED_TEXT.get(type_name, "expected a string")
    if kind == "string_too_long":
        return f"at most {ctx.get('max_length')} characters"
    if kind == "int_type":
        return "expected an integer"
    if kind in ("less_than", "greater_than_equal") and isinstance(error.get("input"), int):
        return "integer out of the 64-bit range"
    if kind == "float_type":
        return "expected a number"
    if kind == "finite_number":
        return "expected a finite number"
    if kind == "bool_type":
        return "expected true or false"
    if kind == "literal_error":
        return f"expected one of {ctx.get('expected')}, got {_shown(error.get('input'))}"
    if kind == "list_type":
        return "expected a list"
    if kind == "too_long":
        return f"at most {ctx.get('max_length')} items"
    if kind in ("dict_type", "model_type", "model_attributes_type", "typed_dict_type"):
        return "expected an object"
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    return str(error["msg"])
