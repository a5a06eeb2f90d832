"""Money as integer fen: parsing form input, rounding computed amounts, display."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from portal.core.forms import InvalidValue
from tenants.money.capitals import amount_in_capitals

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_FEN = 100_000_000_000  # one billion yuan: more is a typing error
_AMOUNT = re.compile(r"^(?P<sign>-)?(?P<int>\d{1,3}(,\d{3})+|\d{1,13})(\.(?P<frac>\d{1,2}))?$", re.ASCII)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


class AmountError(InvalidValue):
    """Form input that is not an amount (or a date); the message is an English
    msgid, so ``Form.run(field, parse_fen, value)`` makes it the field's error."""


def today() -> dt.date:
    """Today in Asia/Shanghai (the office's calendar)."""
    return dt.datetime.now(SHANGHAI).date()


def parse_fen(raw, *, allow_negative: bool = False, allow_zero: bool = False) -> int:
    """'1,234.5' -> 123450. Refuses floats, exponents, more than two decimals,
    NaN/Infinity, blanks, and (unless allowed) zero and negative amounts."""
    if isinstance(raw, float):
        raise AmountError("Enter the amount as text, not a floating-point number.")
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if isinstance(raw, Decimal):
        raw = format(raw, "f")
    text = str(raw or "").strip().replace("¥", "").replace("￥", "").replace(" ", "")
    if not text:
        raise AmountError("Enter an amount.")
    match = _AMOUNT.fullmatch(text)
    if not match:
        raise AmountError("Enter an amount in yuan with at most two decimals, e.g. 1234.50.")
    fen = int(match.group("int").replace(",", "")) * 100 + int((match.group("frac") or "0").ljust(2, "0"))
    if match.group("sign"):
        if not allow_negative:
            raise AmountError("The amount must be positive.")
        fen = -fen
    if fen == 0 and not allow_zero:
        raise AmountError("The amount must not be zero.")
    if abs(fen) >= MAX_FEN:
        raise AmountError("The amount is too large.")
    return fen


def to_fen(yuan: Decimal) -> int:
    """Round a computed Decimal yuan amount half-up to whole fen."""
    if isinstance(yuan, float):
        raise TypeError("amounts are Decimal, never float")
    return int(Decimal(yuan).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)


def yuan(fen: int | None) -> Decimal:
    return (Decimal(fen or 0) / 100).quantize(Decimal("0.01"))


def fmt(fen: int | None) -> str:
    """12345600 -> '123,456.00'"""
    return f"{yuan(fen):,.2f}"


def capitals(fen: int) -> str:
    return amount_in_capitals(yuan(fen))


def parse_date(raw, *, default: dt.date | None = None) -> dt.date:
    text = str(raw or "").strip()
    if not text:
        if default is not None:
            return default
        raise AmountError("Enter a date.")
    if not _DATE.fullmatch(text):
        raise AmountError("Enter the date as YYYY-MM-DD.")
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        raise AmountError("Enter the date as YYYY-MM-DD.") from None
    if not dt.date(2000, 1, 1) <= value <= dt.date(2100, 12, 31):
        raise AmountError("The date is out of range.")
    return value


def parse_period(raw) -> dt.date:
    """'2026-11' -> date(2026, 11, 1)."""
    text = str(raw or "").strip()
    match = re.fullmatch(r"(\d{4})-(\d{2})(-01)?", text, re.ASCII)
    if not match:
        raise AmountError("Enter the billing month as YYYY-MM.")
    year, month = int(match.group(1)), int(match.group(2))
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise AmountError("Enter the billing month as YYYY-MM.")
    return dt.date(year, month, 1)


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(period: dt.date) -> dt.date:
    return add_months(period, 1) - dt.timedelta(days=1)


def next_month_label(day: dt.date | None = None) -> str:
    """'2026-12' for a day in November 2026: the month a run usually bills."""
    return f"{add_months(month_start(day or today()), 1):%Y-%m}"
