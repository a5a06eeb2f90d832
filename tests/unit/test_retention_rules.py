"""Retention arithmetic per level and category (tenants/retention/rules.py), on fixed dates."""

from __future__ import annotations

import datetime as dt

from tenants.retention import rules

D = dt.date
CLASSES = {"level:0": 5, "level:1": 10, "level:2": 10, "level:3": 10, "category:payments": 10,
           "category:id_copies": 3}


def test_years_count_calendar_years_and_29_february_ends_on_the_28th():
    assert rules.add_years(D(2020, 3, 1), 5) == D(2025, 3, 1)
    assert rules.add_years(D(2024, 2, 29), 1) == D(2025, 2, 28)
    assert rules.add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)


def test_a_normal_file_ends_after_its_levels_years_and_not_a_day_before():
    held = {"correspondence": 4}
    assert rules.assess(D(2020, 6, 1), 0, held, CLASSES, D(2025, 5, 31)) == []
    [item] = rules.assess(D(2020, 6, 1), 0, held, CLASSES, D(2025, 6, 1))
    assert (item.category, item.class_key, item.years, item.ends_on, item.documents) == (
        None, "level:0", 5, D(2025, 6, 1), 4)


def test_important_levels_keep_longer():
    for level in (1, 2, 3):
        assert rules.assess(D(2020, 6, 1), level, {}, CLASSES, D(2029, 6, 1)) == []
        [item] = rules.assess(D(2020, 6, 1), level, {}, CLASSES, D(2030, 6, 1))
        assert (item.class_key, item.years, item.ends_on) == (f"level:{level}", 10, D(2030, 6, 1))


def test_a_longer_category_the_file_holds_keeps_the_whole_file():
    held = {"payments": 2, "correspondence": 1}
    assert rules.assess(D(2020, 6, 1), 0, held, CLASSES, D(2026, 1, 1)) == []
    [item] = rules.assess(D(2020, 6, 1), 0, held, CLASSES, D(2030, 6, 1))
    assert (item.category, item.class_key, item.years, item.documents) == (None, "category:payments", 10, 3)
    # A category the file does not hold does not keep it.
    assert rules.assess(D(2020, 6, 1), 0, {"correspondence": 1}, CLASSES, D(2026, 1, 1))[0].class_key == "level:0"


def test_a_shorter_category_is_disposable_on_its_own_before_the_file():
    held = {"id_copies": 2, "payments": 1}
    assert rules.assess(D(2020, 6, 1), 1, held, CLASSES, D(2023, 5, 31)) == []
    [item] = rules.assess(D(2020, 6, 1), 1, held, CLASSES, D(2023, 6, 1))
    assert (item.category, item.class_key, item.years, item.ends_on, item.documents) == (
        "id_copies", "category:id_copies", 3, D(2023, 6, 1), 2)
    # Without documents of the category there is nothing to list.
    assert rules.assess(D(2020, 6, 1), 1, {"payments": 1}, CLASSES, D(2023, 6, 1)) == []


def test_dormant_after_a_full_year_without_business():
    assert not rules.dormant_due(D(2025, 6, 2), D(2026, 6, 1))
    assert rules.dormant_due(D(2025, 6, 1), D(2026, 6, 1))


def test_shortest_period_picks_candidates():
    assert rules.shortest_years(1, CLASSES) == 3
    assert rules.shortest_years(0, {"level:0": 5}) == 5


def test_a_document_hold_takes_the_whole_file_and_its_group_off_but_lists_the_other_groups():
    held = {"correspondence": 2, "contracts": 1}
    [item] = rules.assess(D(2020, 6, 1), 0, held, CLASSES, D(2040, 1, 1))
    assert item.category is None
    out = rules.without_held([item], 0, held, CLASSES, {"contracts"})
    assert [(i.category, i.documents) for i in out] == [("correspondence", 2)]
    assert all(i.ends_on <= D(2040, 1, 1) for i in out)
    assert rules.without_held([item], 0, held, CLASSES, {"contracts", "correspondence"}) == []
