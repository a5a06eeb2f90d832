"""The one form collector: clean a submitted form field by field, gather every
field's error, and raise them together as ``FormErrors`` (a localized 422).

Parsers raise ``InvalidValue`` (or a subclass: identity-number and amount
errors are) with an English message id; ``Form.run`` turns that into the
field's error. Services use it like this::

    form = Form(raw)
    name = form.text("name", limit=200, required="The name is required.")
    amount = form.run("amount", parse_fen, raw.get("amount"))
    form.check()   # raises FormErrors with every field's message
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, TypeVar

from portal.core.errors import FormErrors

T = TypeVar("T")


class InvalidValue(ValueError):
    """A value a parser refused; ``message`` is an English message id."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.message = message
        self.code = code


class Form:
    def __init__(self, raw: Mapping[str, Any] | None = None):
        self.raw: Mapping[str, Any] = raw or {}
        self.errors: dict[str, str] = {}
        self.codes: dict[str, str] = {}

    def fail(self, field: str, code: str, message: str) -> None:
        """Record the field's first error (later ones are usually consequences)."""
        self.errors.setdefault(field, message)
        self.codes.setdefault(field, code)

    def run(self, field: str, parse: Callable[..., T], *args: Any, default: Any = None, **kwargs: Any) -> T:
        """``parse(*args)``; an ``InvalidValue`` becomes the field's error and
        ``default`` is returned instead."""
        try:
            return parse(*args, **kwargs)
        except InvalidValue as exc:
            self.fail(field, getattr(exc, "code", "invalid") or "invalid", exc.message)
            return default

    def text(self, field: str, *, limit: int = 500, required: str | None = None) -> str:
        """The field as stripped text; too long or (when ``required`` gives the
        message) empty is an error."""
        value = self.raw.get(field)
        value = "" if value is None else str(value).strip()
        if required and not value:
            self.fail(field, f"{field}.required", required)
        elif len(value) > limit:
            self.fail(field, f"{field}.too_long", "This text is too long.")
        return value

    def flag(self, field: str) -> bool:
        value = self.raw.get(field)
        if isinstance(value, bool):
            return value
        return str(value or "").strip().lower() in {"1", "true", "on", "yes"}

    def choice(self, field: str, options: Iterable[str], *, default: str = "",
               message: str = "Choose one of the options.") -> str:
        value = self.text(field) or default
        if value not in set(options):
            self.fail(field, f"{field}.choice", message)
        return value

    def check(self) -> None:
        if self.errors:
            raise FormErrors(dict(self.errors), dict(self.codes))
