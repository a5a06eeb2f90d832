"""Retention arithmetic, pure (no I/O): when a file, or a category of its
documents, may be disposed of.

Every period counts from the tenant's **last business date** (seed 001 §五(二)):

- the file as a whole keeps the period of its level (``level:0`` normal,
  ``level:1..3`` silver/gold/diamond);
- a document category with a class of its own (``category:payments``, ...)
  keeps its own period, longer or shorter than the level's;
- the file as a whole is disposable only when every period that applies to
  what it holds has ended: its level's and that of every category it holds
  with a longer period of its own. Before that, a category with a *shorter*
  period of its own is disposable on its own (a document group).

A year counts as a calendar year; a period ending on 29 February of a year
without one ends on 28 February.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Mapping

DORMANT_AFTER_YEARS = 1  # seed 002: no business for over a year -> dormant
LEVEL_KEYS = tuple(f"level:{n}" for n in range(4))


def level_key(level: int) -> str:
    return f"level:{int(level)}"


def category_key(category: str) -> str:
    return f"category:{category}"


def add_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def dormant_cutoff(as_of: dt.date) -> dt.date:
    """The latest last business date that makes a file dormant on ``as_of``."""
    return add_years(as_of, -DORMANT_AFTER_YEARS)


def dormant_due(last_business_on: dt.date, as_of: dt.date) -> bool:
    """No business for a full year by ``as_of``."""
    return last_business_on <= dormant_cutoff(as_of)


@dataclass(frozen=True)
class Item:
    """One line of the disposition list: a whole file (category None) or the
    documents of one category."""

    category: str | None
    class_key: str
    years: int
    last_business_on: dt.date
    ends_on: dt.date
    documents: int = 0


def assess(last_business_on: dt.date, level: int, held: Mapping[str, int], classes: Mapping[str, int],
           as_of: dt.date) -> list[Item]:
    """The disposition items of one tenant on ``as_of``.

    ``held``: document category -> number of documents the file holds;
    ``classes``: class key -> years (every ``level:n`` present)."""
    key = level_key(level)
    level_years = classes[key]
    own = {c: classes[category_key(c)] for c, n in held.items() if n and category_key(c) in classes}
    longest_key, longest = key, level_years
    for category, years in sorted(own.items()):
        if years > longest:
            longest_key, longest = category_key(category), years
    file_end = add_years(last_business_on, longest)
    if file_end <= as_of:
        return [Item(None, longest_key, longest, last_business_on, file_end, sum(held.values()))]
    items = []
    for category, years in sorted(own.items()):
        ends = add_years(last_business_on, years)
        if years < level_years and ends <= as_of:
            items.append(Item(category, category_key(category), years, last_business_on, ends, held[category]))
    return items


def without_held(items: list[Item], level: int, held: Mapping[str, int], classes: Mapping[str, int],
                 held_categories: set[str]) -> list[Item]:
    """``assess``'s items for a file some of whose documents are under legal hold
    (``held_categories``: the categories of the held documents). The file as a
    whole can no longer go, nor any group holding a held document; when the
    whole file was due, every other group is (each period has ended, as the
    file's was the longest), so each is listed with its own period."""
    out = []
    for item in items:
        if item.category is not None:
            if item.category not in held_categories:
                out.append(item)
            continue
        for category, n in sorted(held.items()):
            if not n or category in held_categories:
                continue
            key = category_key(category) if category_key(category) in classes else level_key(level)
            out.append(Item(category, key, classes[key], item.last_business_on,
                            add_years(item.last_business_on, classes[key]), n))
    return out


def shortest_years(level: int, classes: Mapping[str, int]) -> int:
    """The shortest period that can apply to anything in a file of ``level``
    (what the core scan uses to pick candidates)."""
    categories = [y for k, y in classes.items() if k.startswith("category:")]
    return min([classes[level_key(level)], *categories])
