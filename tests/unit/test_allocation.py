"""Allocation of payments to open charges (property-based)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from tenants.money.allocation import AllocationError, OpenCharge, allocate_chosen, allocate_oldest_first
from tenants.money.amounts import AmountError, parse_fen, to_fen

charges_st = st.lists(
    st.builds(OpenCharge, id=st.integers(1, 10_000), due_date=st.dates(dt.date(2024, 1, 1), dt.date(2027, 12, 31)),
              open_fen=st.integers(0, 5_000_000)),
    max_size=25, unique_by=lambda c: c.id)


@given(amount=st.integers(0, 50_000_000), charges=charges_st)
def test_oldest_first_properties(amount, charges):
    parts = allocate_oldest_first(amount, charges)
    by_id = {c.id: c for c in charges}
    total_open = sum(c.open_fen for c in charges if c.open_fen > 0)
    # never more than a charge's open amount, never more than the payment
    assert all(0 < fen <= by_id[cid].open_fen for cid, fen in parts)
    assert sum(fen for _, fen in parts) <= amount
    # the sum is preserved: what is allocated plus the credit left is the payment,
    # and the payment is used up unless every charge is settled
    allocated = sum(fen for _, fen in parts)
    assert allocated == min(amount, total_open)
    credit = amount - allocated
    assert allocated + credit == amount
    # each charge appears once; whole fen
    assert len({cid for cid, _ in parts}) == len(parts)
    assert all(isinstance(fen, int) for _, fen in parts)
    # oldest first: allocations follow (due date, id), and only the last one may be partial
    keys = [(by_id[cid].due_date, cid) for cid, _ in parts]
    assert keys == sorted(keys)
    for cid, fen in parts[:-1]:
        assert fen == by_id[cid].open_fen
    # no younger charge gets money while an older one stays open
    settled = {cid for cid, _ in parts}
    if parts:
        last_key = keys[-1]
        for c in charges:
            if c.open_fen > 0 and (c.due_date, c.id) < last_key:
                assert c.id in settled


@given(charges=charges_st, data=st.data())
def test_chosen_allocation_checks(charges, data):
    open_charges = [c for c in charges if c.open_fen > 0]
    chosen = {}
    for c in open_charges:
        if data.draw(st.booleans()):
            chosen[c.id] = data.draw(st.integers(0, c.open_fen + 10))
    amount = data.draw(st.integers(0, 30_000_000))
    by_id = {c.id: c for c in charges}
    fits = all(fen <= by_id[cid].open_fen for cid, fen in chosen.items()) and sum(chosen.values()) <= amount
    if not fits:
        with pytest.raises(AllocationError):
            allocate_chosen(amount, charges, chosen)
        return
    parts = allocate_chosen(amount, charges, chosen)
    assert sum(f for _, f in parts) == sum(chosen.values())
    assert all(0 < f <= by_id[cid].open_fen for cid, f in parts)


def test_chosen_refuses_closed_or_unknown_charges():
    charges = [OpenCharge(1, dt.date(2026, 1, 10), 100), OpenCharge(2, dt.date(2026, 2, 10), 0)]
    with pytest.raises(AllocationError):
        allocate_chosen(1000, charges, {2: 50})
    with pytest.raises(AllocationError):
        allocate_chosen(1000, charges, {3: 50})
    with pytest.raises(AllocationError):
        allocate_chosen(1000, charges, {1: -5})


@given(st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), allow_nan=False,
                   allow_infinity=False, places=6))
def test_rounding_to_fen_is_half_up_and_whole(value):
    fen = to_fen(value)
    assert isinstance(fen, int)
    assert abs(Decimal(fen) / 100 - value) <= Decimal("0.005")


@given(st.integers(1, 10**11 - 1))
def test_parse_fen_round_trips(fen):
    text = f"{fen // 100}.{fen % 100:02d}"
    assert parse_fen(text) == fen
    assert parse_fen(f"{fen // 100:,}.{fen % 100:02d}") == fen


@pytest.mark.parametrize("bad", ["", "abc", "1e3", "1.234", "-5", "0", "0.00", "NaN", "inf", "1.2.3", "1,23.00",
                                 "  ", "１２", "12.", ".5", 1.5, "0x10", "1_000"])
def test_parse_fen_refuses_garbage(bad):
    with pytest.raises(AmountError):
        parse_fen(bad)


def test_parse_fen_accepts_usual_forms():
    assert parse_fen("1234.5") == 123450
    assert parse_fen("¥1,234.56") == 123456
    assert parse_fen("-12.30", allow_negative=True) == -1230
    assert parse_fen(Decimal("3.10")) == 310
