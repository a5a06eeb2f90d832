"""What the portal accepts as a number or a text from a request: the one place
that knows PostgreSQL's limits, so no input reaches the database in a form it
refuses (an ``integer`` column takes -2**31..2**31-1; ``text`` takes no NUL).

Used by the input guard (path, query and JSON values of every route) and by
the form readers (``portal.routes.forms``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Iterator

from msgspec import Meta

from portal.core.errors import FormErrors
from portal.core.i18n import N_

INT4_MIN = -(2**31)
INT4_MAX = 2**31 - 1

# C0 controls and DEL. Multi-line texts (form and JSON bodies) may keep tab,
# line feed and carriage return; a query or path value may not.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_IN_BODY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
# The same rule for the OpenAPI schema (a JSON Schema ``pattern``).
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"

CONTROL_MESSAGE = N_("This text contains control characters (such as NUL); remove them and try again.")
RANGE_MESSAGE = N_("This number is out of range.")

# An id in a JSON body (declared in the OpenAPI schema too).
PositiveId = Annotated[int, Meta(ge=1, le=INT4_MAX)]


def has_control_chars(text: str, *, multiline: bool = False) -> bool:
    return (_CONTROL_IN_BODY if multiline else _CONTROL).search(text) is not None


def whole_number(text: Any) -> int | None:
    """``text`` as an int if it is written as a whole number (ASCII digits), else None."""
    text = "" if text is None else str(text).strip()
    return int(text) if _WHOLE_NUMBER.fullmatch(text) else None


def parse_optional_int(value: Any, field: str, lo: int = INT4_MIN, hi: int = INT4_MAX) -> int | None:
    """A form or query value that may be blank or a whole number: None when
    blank or not a number (as before), a 422 on ``field`` when it is a number
    out of range."""
    number = whole_number(value)
    if number is not None and not lo <= number <= hi:
        raise FormErrors({field: RANGE_MESSAGE}, {field: "number.range"})
    return number


def control_char_fields(values: Any, path: str = "") -> Iterator[str]:
    """The paths of every string (key or value) in a decoded JSON or form body
    that holds a control character."""
    if isinstance(values, str):
        if has_control_chars(values, multiline=True):
            yield path or "__all__"
    elif isinstance(values, dict):
        for key, value in values.items():
            child = f"{path}.{key}" if path else str(key)
            if has_control_chars(str(key)):
                yield child
            else:
                yield from control_char_fields(value, child)
    elif isinstance(values, list):
        for index, value in enumerate(values):
            yield from control_char_fields(value, f"{path}.{index}" if path else str(index))


def refuse_control_chars(values: Any) -> None:
    """A 422 naming every field whose text holds control characters."""
    fields = list(control_char_fields(values))
    if fields:
        raise FormErrors({f: CONTROL_MESSAGE for f in fields}, {f: "text.control_characters" for f in fields})
