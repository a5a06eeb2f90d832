"""Validators for the identifiers and contact details on a tenant file.

Pure functions, no I/O (the standard library and the kernel's ``InvalidValue``).  Each ``validate_*`` function
takes the raw text a user typed, returns it in normalised form, or raises
:class:`ValidationError`.

A ``ValidationError`` carries the form ``field``, a machine ``code`` such as
``"credit_code.checksum"`` and an English ``message`` sentence.  The message is
a gettext message id (marked with :func:`N_` so it can be extracted); the web
layer translates it, e.g. by collecting errors into
``portal.core.errors.FormErrors(fields={e.field: e.message}, codes={e.field: e.code})``.

Empty input is never valid here: whether a field may be left blank is the
caller's decision, so ``""`` (or only whitespace) raises ``"<kind>.required"``.

Every validator accepts a keyword-only ``field`` to name the form field in
the error (for example ``validate_mobile(v, field="contact_mobile")``); the
``code`` always keeps the kind prefix (``"mobile.format"``).

Digits are checked as ASCII ``0-9`` only: ``str.isdigit`` and the ``\\d`` of
``re`` would also accept full-width and other Unicode digits.
"""

from __future__ import annotations

import datetime as _dt
import re

from portal.core.forms import InvalidValue

__all__ = [
    "CREDIT_CODE_CHARSET",
    "MESSAGES",
    "ValidationError",
    "make_valid_credit_code",
    "make_valid_resident_id",
    "validate_credit_code",
    "validate_email",
    "validate_landline",
    "validate_mobile",
    "validate_resident_id",
]


def N_(message: str) -> str:
    """Mark a message id for gettext extraction without translating it."""
    return message


# code -> English message id; one sentence per kind of failure.
MESSAGES: dict[str, str] = {
    # Unified social credit code (GB 32100-2015)
    "credit_code.required": N_("Enter the unified social credit code."),
    "credit_code.length": N_("The unified social credit code must be 18 characters long."),
    "credit_code.charset": N_(
        "The unified social credit code may only contain digits and the capital letters "
        "A-Y except I, O, S, V and Z."
    ),
    "credit_code.region": N_(
        "Characters 3 to 8 of the unified social credit code must be digits "
        "(the administrative division code)."
    ),
    "credit_code.checksum": N_("The check character of the unified social credit code is wrong."),
    # PRC resident identity card number (GB 11643-1999)
    "resident_id.required": N_("Enter the resident identity card number."),
    "resident_id.length": N_("The resident identity card number must be 18 characters long."),
    "resident_id.format": N_(
        "The resident identity card number must be 17 digits followed by a digit or X."
    ),
    "resident_id.birth_date": N_(
        "The date of birth in the resident identity card number is not a valid date."
    ),
    "resident_id.birth_date_future": N_(
        "The date of birth in the resident identity card number is in the future."
    ),
    "resident_id.birth_date_too_early": N_(
        "The date of birth in the resident identity card number is before 1900."
    ),
    "resident_id.checksum": N_(
        "The check character of the resident identity card number is wrong."
    ),
    # Mainland mobile number
    "mobile.required": N_("Enter a mobile phone number."),
    "mobile.format": N_(
        "The mobile phone number may only contain digits, spaces, dashes and a leading +86 or 0086."
    ),
    "mobile.length": N_("The mobile phone number must have 11 digits."),
    "mobile.prefix": N_("The mobile phone number must start with 13 to 19."),
    # Landline number
    "landline.required": N_("Enter a landline phone number."),
    "landline.format": N_(
        "Enter the landline phone number as area code, dash and number, for example 010-12345678."
    ),
    "landline.area_code": N_(
        "The area code must be 0 followed by 2 or 3 digits, for example 010 or 0755."
    ),
    "landline.number": N_("The landline phone number must have 7 or 8 digits after the area code."),
    "landline.extension": N_("The extension must have 1 to 6 digits."),
    # E-mail address
    "email.required": N_("Enter an e-mail address."),
    "email.length": N_("The e-mail address must be at most 254 characters long."),
    "email.format": N_(
        "Enter the e-mail address in the form name@example.com, with exactly one @ and no spaces."
    ),
    "email.local_part": N_("The part of the e-mail address before the @ is not valid."),
    "email.domain": N_("The domain of the e-mail address is not valid."),
    "email.tld": N_(
        "The domain of the e-mail address must end with a top-level domain such as .com or .cn."
    ),
}


class ValidationError(InvalidValue):
    """A value failed validation (``portal.core.forms.Form.run`` collects it).

    ``field`` is the form field, ``code`` the machine-readable reason
    (``"<kind>.<reason>"``) and ``message`` the English message id.
    """

    def __init__(self, field: str, code: str, message_id: str):
        super().__init__(message_id, code)
        self.field = field

    def __repr__(self) -> str:
        return f"ValidationError({self.field!r}, {self.code!r}, {self.message!r})"


def _fail(field: str, code: str) -> ValidationError:
    return ValidationError(field, code, MESSAGES[code])


def _require(value: str, field: str, kind: str) -> str:
    if value is None:
        raise _fail(field, f"{kind}.required")
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a string, not {type(value).__name__}")
    value = value.strip()
    if not value:
        raise _fail(field, f"{kind}.required")
    return value


_ASCII_DIGITS = frozenset("0123456789")


def _is_ascii_digits(text: str) -> bool:
    return bool(text) and all(ch in _ASCII_DIGITS for ch in text)


# ---------------------------------------------------------------------------
# Unified social credit code — GB 32100-2015
# ---------------------------------------------------------------------------

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_CODE_VALUES = {ch: i for i, ch in enumerate(CREDIT_CODE_CHARSET)}
_CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def _credit_code_check_char(prefix17: str) -> str:
    total = sum(_CREDIT_CODE_VALUES[ch] * w for ch, w in zip(prefix17, _CREDIT_CODE_WEIGHTS))
    check = 31 - total % 31
    return CREDIT_CODE_CHARSET[0 if check == 31 else check]


def validate_credit_code(code: str, *, field: str = "credit_code") -> str:
    """Validate a unified social credit code; return it stripped and upper-cased.

    Layout: registration authority (1), organisation category (1),
    administrative division code (6 digits, index 2..7), organisation code
    (9, index 8..16), check character (1).
    """
    value = _require(code, field, "credit_code")
    if not value.isascii():
        # Checked before upper(): "\ufb00".upper() is "FF", for instance.
        raise _fail(field, "credit_code.charset")
    value = value.upper()
    if len(value) != 18:
        raise _fail(field, "credit_code.length")
    if any(ch not in _CREDIT_CODE_VALUES for ch in value):
        raise _fail(field, "credit_code.charset")
    if not _is_ascii_digits(value[2:8]):
        raise _fail(field, "credit_code.region")
    if value[17] != _credit_code_check_char(value[:17]):
        raise _fail(field, "credit_code.checksum")
    return value


def make_valid_credit_code(prefix17: str) -> str:
    """Append the check character to the first 17 characters of a credit code.

    Raises plain ``ValueError`` if ``prefix17`` is not 17 characters from the
    credit-code charset (case-insensitive).  It does not check the other
    rules; run :func:`validate_credit_code` on the result for that.
    """
    prefix = prefix17.strip().upper()
    if len(prefix) != 17 or any(ch not in _CREDIT_CODE_VALUES for ch in prefix):
        raise ValueError(f"not 17 credit-code characters: {prefix17!r}")
    return prefix + _credit_code_check_char(prefix)


# ---------------------------------------------------------------------------
# Resident identity card number — GB 11643-1999
# ---------------------------------------------------------------------------

_RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_RESIDENT_ID_CHECK = "10X98765432"
_EARLIEST_BIRTH = _dt.date(1900, 1, 1)


def _resident_id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _RESIDENT_ID_WEIGHTS))
    return _RESIDENT_ID_CHECK[total % 11]


def validate_resident_id(
    number: str, *, field: str = "resident_id", today: _dt.date | None = None
) -> str:
    """Validate an 18-character resident ID number; return it with an upper-case X.

    The birth date (YYYYMMDD at index 6..13) must be a real calendar date,
    not after ``today`` (default: the local date) and not before 1900-01-01.
    """
    value = _require(number, field, "resident_id").upper()
    if len(value) != 18:
        raise _fail(field, "resident_id.length")
    if not _is_ascii_digits(value[:17]) or not (value[17] in _ASCII_DIGITS or value[17] == "X"):
        raise _fail(field, "resident_id.format")
    try:
        birth = _dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise _fail(field, "resident_id.birth_date") from None
    if birth < _EARLIEST_BIRTH:
        raise _fail(field, "resident_id.birth_date_too_early")
    if birth > (today if today is not None else _dt.date.today()):
        raise _fail(field, "resident_id.birth_date_future")
    if value[17] != _resident_id_check_char(value[:17]):
        raise _fail(field, "resident_id.checksum")
    return value


def make_valid_resident_id(first17: str) -> str:
    """Append the check character to the first 17 digits of a resident ID.

    Raises plain ``ValueError`` unless ``first17`` is 17 ASCII digits; the
    birth date is not checked.
    """
    prefix = first17.strip()
    if len(prefix) != 17 or not _is_ascii_digits(prefix):
        raise ValueError(f"not 17 digits: {first17!r}")
    return prefix + _resident_id_check_char(prefix)


# ---------------------------------------------------------------------------
# Phone numbers
# ---------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9][0-9]{9}")


def validate_mobile(phone: str, *, field: str = "mobile") -> str:
    """Validate a mainland mobile number; return its 11 digits.

    Spaces and dashes are ignored, and one leading ``+86`` or ``0086``
    country prefix is dropped: ``"+86 138-0013-8000"`` -> ``"13800138000"``.
    """
    value = _require(phone, field, "mobile")
    digits = value.replace(" ", "").replace("-", "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _is_ascii_digits(digits):
        raise _fail(field, "mobile.format")
    if len(digits) != 11:
        raise _fail(field, "mobile.length")
    if not _MOBILE.fullmatch(digits):
        raise _fail(field, "mobile.prefix")
    return digits


# Structure only; the lengths are checked afterwards for a precise error.
# The area code is either in (ASCII or full-width) parentheses or followed
# by a dash or spaces; the extension follows "-", "转" or "ext".
_LANDLINE = re.compile(
    r"""
    (?:
        [(（]\ *(?P<paren_area>[0-9]+)\ *[)）]\ *-?\ *
      | (?P<area>[0-9]+)(?:\ *-\ *|\ +)
    )
    (?P<number>[0-9]+)
    (?:\ *(?:-|转|ext\.?)\ *(?P<ext>[0-9]+))?
    """,
    re.VERBOSE | re.ASCII | re.IGNORECASE,
)
_AREA_CODE = re.compile(r"0[1-9][0-9]{1,2}")


def validate_landline(phone: str, *, field: str = "landline") -> str:
    """Validate a landline number; return ``"area-number"`` or ``"area-number-ext"``.

    Accepts e.g. ``010-12345678``, ``0755 1234567``, ``(0755)1234567``,
    ``010-12345678-123`` and ``010-12345678转123``.  The area code must be
    separated from the number (``01012345678`` is ambiguous and rejected).
    """
    value = _require(phone, field, "landline")
    match = _LANDLINE.fullmatch(value)
    if not match:
        raise _fail(field, "landline.format")
    area = match["paren_area"] or match["area"]
    number, ext = match["number"], match["ext"]
    if not _AREA_CODE.fullmatch(area):
        raise _fail(field, "landline.area_code")
    if not 7 <= len(number) <= 8:
        raise _fail(field, "landline.number")
    if ext is not None and not 1 <= len(ext) <= 6:
        raise _fail(field, "landline.extension")
    return f"{area}-{number}-{ext}" if ext else f"{area}-{number}"


# ---------------------------------------------------------------------------
# E-mail address
# ---------------------------------------------------------------------------

# RFC 5322 dot-atom: atext runs separated by single dots.
_LOCAL_PART = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
)
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_TLD = re.compile(r"[A-Za-z]{2,63}")


def validate_email(addr: str, *, field: str = "email") -> str:
    """Pragmatic e-mail check; return the address with the domain lower-cased.

    Exactly one ``@``, no whitespace; a local part of 1-64 characters from
    the RFC 5322 dot-atom set; a domain of at least two dot-separated labels
    of letters, digits and inner hyphens, the last one (TLD) 2+ letters; at
    most 254 characters in total.  The local part keeps its case.
    """
    value = _require(addr, field, "email")
    if any(ch.isspace() for ch in value) or value.count("@") != 1:
        raise _fail(field, "email.format")
    if len(value) > 254:
        raise _fail(field, "email.length")
    local, domain = value.split("@")
    if not 1 <= len(local) <= 64 or not _LOCAL_PART.fullmatch(local):
        raise _fail(field, "email.local_part")
    labels = domain.split(".")
    if len(labels) < 2:
        # "name@example" (or "name@"): no dot, so no top-level domain.
        raise _fail(field, "email.tld" if domain else "email.domain")
    if not labels[-1] or not all(_DOMAIN_LABEL.fullmatch(label) for label in labels[:-1]):
        raise _fail(field, "email.domain")
    if not _TLD.fullmatch(labels[-1]):
        raise _fail(field, "email.tld")
    return f"{local}@{domain.lower()}"
