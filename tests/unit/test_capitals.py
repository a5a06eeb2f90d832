"""Amounts in Chinese financial capitals (大写金额)."""

from decimal import Decimal

import pytest

from tenants.money.capitals import amount_in_capitals


@pytest.mark.parametrize("amount, expected", [
    ("0.05", "伍分"),
    ("10.00", "壹拾元整"),
    ("1000000.01", "壹佰万元零壹分"),
    ("100010.10", "壹拾万零壹拾元壹角"),
    ("12000", "壹万贰仟元整"),
    ("0", "零元整"),
    ("0.50", "伍角"),
    ("0.56", "伍角陆分"),
    ("1", "壹元整"),
    ("15", "壹拾伍元整"),
    ("101", "壹佰零壹元整"),
    ("110", "壹佰壹拾元整"),
    ("1001", "壹仟零壹元整"),
    ("1010", "壹仟零壹拾元整"),
    ("1000.01", "壹仟元零壹分"),
    ("10010", "壹万零壹拾元整"),
    ("10100", "壹万零壹佰元整"),
    ("100001", "壹拾万零壹元整"),
    ("109000", "壹拾万零玖仟元整"),
    ("60036.07", "陆万零叁拾陆元零柒分"),
    ("10001000", "壹仟万零壹仟元整"),
    ("10050003.45", "壹仟零伍万零叁元肆角伍分"),
    ("100000000", "壹亿元整"),
    ("100000001", "壹亿零壹元整"),
    ("1000000000", "壹拾亿元整"),
    ("1234567890.12", "壹拾贰亿叁仟肆佰伍拾陆万柒仟捌佰玖拾元壹角贰分"),
    ("200.30", "贰佰元叁角"),
    ("-35.5", "负叁拾伍元伍角"),
])
def test_standard_readings(amount, expected):
    assert amount_in_capitals(Decimal(amount)) == expected


def test_rounds_half_up_to_the_fen():
    assert amount_in_capitals(Decimal("1.005")) == "壹元零壹分"
    assert amount_in_capitals(Decimal("1.004")) == "壹元整"


@pytest.mark.parametrize("bad", [Decimal("NaN"), Decimal("Infinity"), "abc", None])
def test_refuses_non_amounts(bad):
    with pytest.raises(ValueError):
        amount_in_capitals(bad)


def test_refuses_floats():
    with pytest.raises(TypeError):
        amount_in_capitals(0.1)
