"""Reading submitted forms."""

from __future__ import annotations

from litestar import Request


async def form_dict(request: Request, multi: tuple[str, ...] = ()) -> dict:
    """The submitted form as a dict; fields in ``multi`` keep all their values."""
    form = await request.form()
    out: dict = {}
    for key in form.keys():
        if key == "_csrf_token":
            continue
        out[key] = form.getall(key) if key in multi else form.get(key)
    for key in multi:
        out.setdefault(key, [])
    return out


def int_or_none(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def page_number(value) -> int:
    number = int_or_none(value) or 1
    return min(max(number, 1), 100_000)
