"""Reading submitted forms."""

from __future__ import annotations

from litestar import Request

from portal.core import params


async def form_dict(request: Request, multi: tuple[str, ...] = ()) -> dict:
    """The submitted form as a dict; fields in ``multi`` keep all their values.
    A field with control characters (NUL and the like) is a 422: nothing is saved."""
    form = await request.form()
    out: dict = {}
    for key in form.keys():
        if key == "_csrf_token":
            continue
        out[key] = form.getall(key) if key in multi else form.get(key)
    for key in multi:
        out.setdefault(key, [])
    params.refuse_control_chars({k: v for k, v in out.items() if isinstance(v, (str, list))})
    return out


def int_or_none(value, field: str = "__all__") -> int | None:
    """A whole number that fits the database (a 422 on ``field`` if it does
    not), or None when blank or not a number."""
    return params.parse_optional_int(value, field)


def page_number(value) -> int:
    number = params.whole_number(value) or 1
    return min(max(number, 1), 100_000)
