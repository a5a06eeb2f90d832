NAME = "money: deposit kinds, fee items, tenant money summaries, billing runs, notice batches"

# Office-wide configuration (deposit kinds, fee items) and the cross-tenant
# summaries staff reports read. The ledgers themselves live in each tenant's
# schema (migrations/tenant/m0003_money.py); every ledger change rewrites the
# tenant's rows here in the same transaction (tenants/money/summary.py).
SQL = r"""
CREATE TABLE core.deposit_kind (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,29}$'),
    name text NOT NULL,
    name_en text NOT NULL,
    sort integer NOT NULL DEFAULT 0,
    active boolean NOT NULL DEFAULT true
);
INSERT INTO core.deposit_kind (code, name, name_en, sort) VALUES
    ('lease_security', '租赁保证金', 'Lease security deposit', 10),
    ('fitout', '装修押金', 'Fit-out deposit', 20),
    ('access_card', '钥匙及门禁卡押金', 'Key and access-card deposit', 30),
    ('utilities', '水电押金', 'Utilities deposit', 40);

-- Fee items. basis: 'area' = unit_price yuan per m2 per month on the leased
-- area; 'fixed' = unit_price x quantity of each tenant's subscription, monthly;
-- 'manual' = never billed by the run, only charged by hand.
CREATE TABLE core.fee_item (
    code text PRIMARY KEY CHECK (code ~ '^[a-z][a-z0-9_]{1,29}$'),
    name text NOT NULL,
    name_en text NOT NULL,
    basis text NOT NULL CHECK (basis IN ('area', 'fixed', 'manual')),
    unit_price numeric(12, 4) NOT NULL DEFAULT 0 CHECK (unit_price >= 0),
    due_day smallint NOT NULL DEFAULT 10 CHECK (due_day BETWEEN 1 AND 28),
    active boolean NOT NULL DEFAULT true,
    sort integer NOT NULL DEFAULT 0,
    updated_by text NOT NULL DEFAULT '',
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO core.fee_item (code, name, name_en, basis, unit_price, due_day, sort) VALUES
    ('management', '物业管理费', 'Management fee', 'area', 8.5000, 10, 10),
    ('utilities', '水电费', 'Utilities', 'manual', 0, 10, 20),
    ('parking', '停车费', 'Parking', 'fixed', 600.0000, 10, 30),
    ('late_fee', '滞纳金', 'Late fee', 'manual', 0, 10, 90),
    ('other', '其他费用', 'Other charges', 'manual', 0, 10, 99);

-- One row per tenant: ledger totals (fen) as of the last ledger change.
CREATE TABLE core.tenant_money (
    tenant_id integer PRIMARY KEY REFERENCES core.tenant(id),
    charged_fen bigint NOT NULL DEFAULT 0,
    allocated_fen bigint NOT NULL DEFAULT 0,
    paid_fen bigint NOT NULL DEFAULT 0,
    outstanding_fen bigint NOT NULL DEFAULT 0,
    credit_fen bigint NOT NULL DEFAULT 0,
    deposits_held_fen bigint NOT NULL DEFAULT 0,
    open_charges integer NOT NULL DEFAULT 0,
    oldest_due date,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_money_outstanding_idx ON core.tenant_money (outstanding_fen) WHERE outstanding_fen > 0;

-- Open amounts by due date, so ageing (0-30, 31-60, 61-90, >90 days) is
-- computed for any day from core alone.
CREATE TABLE core.tenant_money_due (
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    due_date date NOT NULL,
    outstanding_fen bigint NOT NULL,
    PRIMARY KEY (tenant_id, due_date)
);
CREATE INDEX tenant_money_due_date_idx ON core.tenant_money_due (due_date);

-- Billed and collected per billing month (collection rate).
CREATE TABLE core.tenant_money_period (
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    period date NOT NULL,
    billed_fen bigint NOT NULL,
    collected_fen bigint NOT NULL,
    PRIMARY KEY (tenant_id, period)
);
CREATE INDEX tenant_money_period_idx ON core.tenant_money_period (period);

-- Monthly billing runs: one per period; one item per tenant, marked done in
-- the same transaction that wrote the tenant's charges.
CREATE TABLE core.billing_run (
    id serial PRIMARY KEY,
    period date NOT NULL UNIQUE CHECK (extract(day FROM period) = 1),
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done')),
    total integer NOT NULL DEFAULT 0,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE TABLE core.billing_run_item (
    run_id integer NOT NULL REFERENCES core.billing_run(id),
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    charges integer NOT NULL DEFAULT 0,
    billed_fen bigint NOT NULL DEFAULT 0,
    error text,
    finished_at timestamptz,
    PRIMARY KEY (run_id, tenant_id)
);
CREATE INDEX billing_run_item_status_idx ON core.billing_run_item (run_id, status);

-- Notice batches (arrears notices for every tenant in arrears, ...).
CREATE TABLE core.notice_batch (
    id serial PRIMARY KEY,
    kind text NOT NULL,
    locale text NOT NULL DEFAULT 'zh',
    as_of date NOT NULL,
    min_days integer NOT NULL DEFAULT 1,
    send_email boolean NOT NULL DEFAULT true,
    status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'cancelled', 'done')),
    total integer NOT NULL DEFAULT 0,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE TABLE core.notice_batch_item (
    batch_id integer NOT NULL REFERENCES core.notice_batch(id),
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed', 'skipped')),
    notice_id integer,
    emailed integer NOT NULL DEFAULT 0,
    error text,
    finished_at timestamptz,
    PRIMARY KEY (batch_id, tenant_id)
);
CREATE INDEX notice_batch_item_status_idx ON core.notice_batch_item (batch_id, status);

-- Office-wide numbering of receipts and notices.
CREATE SEQUENCE core.receipt_seq;
CREATE SEQUENCE core.notice_seq;
"""
