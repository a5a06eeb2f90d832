"""Allocating a payment (or credit) to open charges. Pure functions on fen.

Oldest first: charges in order of due date, then id (the order they were
raised). Or as staff choose: an amount per charge, each no more than the
charge's open amount, together no more than the money available. Whatever is
not allocated stays on the tenant's account as credit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Mapping


@dataclass(frozen=True)
class OpenCharge:
    id: int
    due_date: dt.date
    open_fen: int


class AllocationError(ValueError):
    """A staff-chosen allocation does not fit; ``field`` names the form field."""

    def __init__(self, message: str, field: str = "allocation"):
        super().__init__(message)
        self.message = message
        self.field = field


def oldest_first(charges: Iterable[OpenCharge]) -> list[OpenCharge]:
    return sorted((c for c in charges if c.open_fen > 0), key=lambda c: (c.due_date, c.id))


def allocate_oldest_first(available_fen: int, charges: Iterable[OpenCharge]) -> list[tuple[int, int]]:
    """[(charge_id, fen)] settling the oldest charges first, partially for the last."""
    if available_fen < 0:
        raise AllocationError("The amount must be positive.", "amount")
    out: list[tuple[int, int]] = []
    left = available_fen
    for charge in oldest_first(charges):
        if left <= 0:
            break
        part = min(left, charge.open_fen)
        out.append((charge.id, part))
        left -= part
    return out


def allocate_chosen(
    available_fen: int, charges: Iterable[OpenCharge], chosen: Mapping[int, int]
) -> list[tuple[int, int]]:
    """Check and return a staff-chosen allocation (charge id -> fen)."""
    by_id = {c.id: c for c in charges}
    out: list[tuple[int, int]] = []
    total = 0
    for charge_id, fen in chosen.items():
        if fen == 0:
            continue
        if fen < 0:
            raise AllocationError("An allocated amount cannot be negative.", f"alloc_{charge_id}")
        charge = by_id.get(charge_id)
        if charge is None or charge.open_fen <= 0:
            raise AllocationError("This charge is not open.", f"alloc_{charge_id}")
        if fen > charge.open_fen:
            raise AllocationError("More than the open amount of this charge.", f"alloc_{charge_id}")
        total += fen
        out.append((charge_id, fen))
    if total > available_fen:
        raise AllocationError("The allocations add up to more than the money available.")
    out.sort(key=lambda item: (by_id[item[0]].due_date, item[0]))
    return out
