"""Amounts in Chinese financial capitals (大写金额), as written on receipts.

Rules (as on bank slips and 发票):
- digits 零壹贰叁肆伍陆柒捌玖, places 拾佰仟 within a group, groups 万 and 亿;
- inside the integer part, a run of zeros between non-zero digits is read as
  one 零, also across a 万/亿 group (100,010 -> 壹拾万零壹拾); trailing zeros
  of the integer part are not read (壹拾元, 壹佰万元);
- a 10-19 amount keeps 壹 before 拾 (壹拾元), as financial practice requires;
- 元 is followed by 整 when there are no 角 and no 分; with 角 and no 分 the
  amount ends in 角 (the common 壹角 style, without 整);
- 零 is written between 元 and 分 when 角 is zero but 分 is not
  (1,000,000.01 -> 壹佰万元零壹分); amounts under one yuan start at the first
  non-zero fraction (0.05 -> 伍分, 0.50 -> 伍角);
- zero is 零元整; a negative amount is prefixed 负.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

DIGITS = "零壹贰叁肆伍陆柒捌玖"
PLACES = ("", "拾", "佰", "仟")
GROUPS = ("", "万", "亿", "万亿")
MAX = Decimal("9999999999999999.99")


def _integer_part(n: int) -> str:
    """Read a non-negative integer in capitals (no unit)."""
    if n == 0:
        return ""
    groups = []
    while n:
        groups.append(n % 10000)
        n //= 10000
    out = []
    pending_zero = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            pending_zero = bool(out)
            continue
        text = ""
        digits = [group // 1000, group // 100 % 10, group // 10 % 10, group % 10]
        started = False
        for pos, d in enumerate(digits):
            place = 3 - pos
            if d == 0:
                if started or out:
                    pending_zero = True
                continue
            if pending_zero and (started or out):
                text += "零"
            pending_zero = False
            started = True
            text += DIGITS[d] + PLACES[place]
        out.append(text + GROUPS[index])
        pending_zero = digits[3] == 0  # a group ending in zeros carries a zero forward
    return "".join(out)


def amount_in_capitals(amount: Decimal | int | str) -> str:
    """Decimal yuan -> 大写金额, rounded half-up to the fen.

    >>> amount_in_capitals(Decimal("12000"))
    '壹万贰仟元整'
    """
    if isinstance(amount, float):
        raise TypeError("amounts are Decimal, never float")
    try:
        value = Decimal(amount) if not isinstance(amount, Decimal) else amount
        if not value.is_finite():
            raise InvalidOperation
        value = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"not an amount: {amount!r}") from None
    if abs(value) > MAX:
        raise ValueError("amount too large")
    sign = "负" if value < 0 else ""
    fen_total = int(abs(value) * 100)
    yuan, rest = divmod(fen_total, 100)
    jiao, fen = divmod(rest, 10)
    integer = _integer_part(yuan)
    if yuan == 0 and jiao == 0 and fen == 0:
        return "零元整"
    out = ""
    if yuan:
        out = integer + "元"
    if jiao == 0 and fen == 0:
        return sign + out + "整"
    if jiao:
        out += DIGITS[jiao] + "角"
    elif yuan:
        out += "零"
    if fen:
        out += DIGITS[fen] + "分"
    return sign + out
