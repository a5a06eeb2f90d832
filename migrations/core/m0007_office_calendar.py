NAME = "office calendar: holidays and make-up working days the office decides"

# Working days come from the chinese-calendar package (portal/core/workdays.py)
# for the years the State Council has announced; a date listed here overrides
# the package (and decides years the package does not know yet).
SQL = r"""
CREATE TABLE core.office_calendar_day (
    day date PRIMARY KEY CHECK (day BETWEEN DATE '2000-01-01' AND DATE '2099-12-31'),
    kind text NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    updated_by text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);
"""
