"""Domain errors, raised by services and turned into localized 4xx answers
(HTML pages or JSON ``{"code", "message", "fields"}``) by the web layer."""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str = "", code: str | None = None, **params):
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.message = message or (self.__class__.__doc__ or "").strip()
        self.params = params
        if code:
            self.code = code


class FormErrors(DomainError):
    """Some fields are not valid."""

    status_code = 422
    code = "validation_failed"

    def __init__(self, fields: dict[str, str], codes: dict[str, str] | None = None):
        super().__init__("Some fields are not valid.")
        self.fields = fields  # field -> English message id
        self.codes = codes or {}


class NotFound(DomainError):
    """Not found."""

    status_code = 404
    code = "not_found"


class Forbidden(DomainError):
    """You do not have permission to do this."""

    status_code = 403
    code = "forbidden"


class Conflict(DomainError):
    """This conflicts with the current state."""

    status_code = 409
    code = "conflict"
