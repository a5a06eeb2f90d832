"""Archive numbers (DOMAIN.md "Numbering"): [P|E][level 0-3][business letter][sequence].

The sequence is one database sequence for the office, at least four digits,
so a number is unique and never reused; it is assigned once at creation and
never changes, even if the tenant's level changes later.
"""

from __future__ import annotations

import re

ARCHIVE_NO = re.compile(r"^[PE][0-3][A-Z][0-9]{4,}$")


def parse_business_letters(spec: str) -> dict[str, str]:
    """``"A:写字楼租赁,B:商铺租赁"`` -> ``{"A": "写字楼租赁", "B": "商铺租赁"}``."""
    letters: dict[str, str] = {}
    for part in spec.split(","):
        letter, _, label = part.strip().partition(":")
        letter = letter.strip().upper()
        if len(letter) == 1 and letter.isascii() and letter.isalpha():
            letters[letter] = label.strip() or letter
    return letters


def business_letter_names(settings, locale: str) -> dict[str, str]:
    """The letters with their names in the UI language (English names where configured)."""
    letters = parse_business_letters(settings.business_letters)
    if locale == "en":
        english = parse_business_letters(settings.business_letters_en)
        return {letter: english.get(letter, name) for letter, name in letters.items()}
    return letters


def format_archive_no(kind: str, level: int, letter: str, sequence: int) -> str:
    number = f"{kind}{level}{letter}{sequence:04d}"
    if not ARCHIVE_NO.fullmatch(number):
        raise ValueError(f"cannot form an archive number from {kind!r}, {level!r}, {letter!r}")
    return number
