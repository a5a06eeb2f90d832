NAME = "money: deposits, charges, payments, allocations, notices"

# Amounts are integer fen (1/100 yuan). Ledger rows are never edited: a
# reversal, an adjustment, a deduction or a refund is a new row.
SQL = r"""
CREATE TABLE deposit (
    id serial PRIMARY KEY,
    kind text NOT NULL,
    title text NOT NULL DEFAULT '',
    agreed_fen bigint NOT NULL DEFAULT 0 CHECK (agreed_fen >= 0),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- receipt: money received (counts at once); deduction / refund: wait for a
-- second person's approval before they reduce the balance.
CREATE TABLE deposit_entry (
    id serial PRIMARY KEY,
    deposit_id integer NOT NULL REFERENCES deposit(id),
    kind text NOT NULL CHECK (kind IN ('receipt', 'deduction', 'refund')),
    amount_fen bigint NOT NULL CHECK (amount_fen > 0),
    entry_date date NOT NULL,
    method text NOT NULL DEFAULT '',
    receipt_no text NOT NULL DEFAULT '',
    reason text NOT NULL DEFAULT '',
    status text NOT NULL CHECK (status IN ('approved', 'pending', 'rejected')),
    recorded_by text NOT NULL,
    recorded_by_id integer NOT NULL,
    decided_by text NOT NULL DEFAULT '',
    decided_by_id integer,
    decided_at timestamptz,
    decision_note text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (kind = 'receipt' OR status = 'pending' OR decided_by_id IS DISTINCT FROM recorded_by_id),
    CHECK (kind <> 'deduction' OR reason <> '')
);
CREATE INDEX deposit_entry_deposit_idx ON deposit_entry (deposit_id);

-- Recurring 'fixed' fee items a tenant takes (parking spaces, ...).
CREATE TABLE fee_subscription (
    id serial PRIMARY KEY,
    fee_item text NOT NULL,
    quantity numeric(10, 2) NOT NULL DEFAULT 1 CHECK (quantity > 0),
    unit_price numeric(12, 4) CHECK (unit_price >= 0),
    description text NOT NULL DEFAULT '',
    active boolean NOT NULL DEFAULT true,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE charge (
    id serial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('billing', 'manual', 'adjustment', 'late_fee')),
    fee_item text NOT NULL,
    period date NOT NULL,
    description text NOT NULL,
    quantity numeric(12, 2),
    unit_price numeric(12, 4),
    amount_fen bigint NOT NULL,
    due_date date NOT NULL,
    adjusts_id integer REFERENCES charge(id),
    reason text NOT NULL DEFAULT '',
    run_id integer,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (extract(day FROM period) = 1),
    CHECK (kind = 'adjustment' OR amount_fen > 0),
    CHECK ((kind = 'adjustment') = (adjusts_id IS NOT NULL) AND amount_fen <> 0),
    CHECK (kind NOT IN ('manual', 'adjustment') OR reason <> '')
);
-- The billing run writes each (period, fee item) at most once: a rerun never doubles.
CREATE UNIQUE INDEX charge_period_item_uq ON charge (period, fee_item) WHERE kind IN ('billing', 'late_fee');
CREATE INDEX charge_due_idx ON charge (due_date, id);
CREATE INDEX charge_adjusts_idx ON charge (adjusts_id) WHERE adjusts_id IS NOT NULL;

CREATE TABLE payment (
    id serial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('payment', 'reversal')),
    amount_fen bigint NOT NULL,
    paid_on date NOT NULL,
    method text NOT NULL,
    reference text NOT NULL DEFAULT '',
    receipt_no text NOT NULL UNIQUE,
    reverses_id integer UNIQUE REFERENCES payment(id),
    note text NOT NULL DEFAULT '',
    recorded_by text NOT NULL,
    recorded_by_id integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((kind = 'payment' AND amount_fen > 0 AND reverses_id IS NULL)
        OR (kind = 'reversal' AND amount_fen < 0 AND reverses_id IS NOT NULL))
);

-- Which payment settled which charge; a reversal adds the negative rows.
CREATE TABLE allocation (
    id serial PRIMARY KEY,
    payment_id integer NOT NULL REFERENCES payment(id),
    charge_id integer NOT NULL REFERENCES charge(id),
    amount_fen bigint NOT NULL CHECK (amount_fen <> 0),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX allocation_charge_idx ON allocation (charge_id);
CREATE INDEX allocation_payment_idx ON allocation (payment_id);

-- Generated notices and receipts, as issued (the PDF kept until the archive
-- adapter files it in the documents archive: see tenants/money/filing.py).
CREATE TABLE notice (
    id serial PRIMARY KEY,
    kind text NOT NULL,
    number text NOT NULL UNIQUE,
    title text NOT NULL,
    issue_date date NOT NULL,
    locale text NOT NULL DEFAULT 'zh',
    amount_fen bigint,
    subject_id integer,
    pdf bytea,
    document_id integer,
    visible_to_tenant boolean NOT NULL DEFAULT true,
    batch_id integer,
    emailed_to text NOT NULL DEFAULT '',
    emailed_at timestamptz,
    email_error text NOT NULL DEFAULT '',
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notice_issue_idx ON notice (issue_date DESC, id DESC);
"""
