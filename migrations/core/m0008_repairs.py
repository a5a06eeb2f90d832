NAME = "repairs: technicians, their shifts and leave, the open work-order summary"

# core.work_order_summary holds one row per work order that is not yet closed
# or cancelled, written in the same transaction as the tenant's work_order, so
# the dispatcher's board and the SLA scan read one table. open_load counts the
# orders assigned to a technician and not yet completed; dispatch locks the
# technician rows (FOR UPDATE SKIP LOCKED) and never raises it above capacity.
SQL = r"""
CREATE SEQUENCE core.work_order_seq;

CREATE TABLE core.technician (
    user_id integer PRIMARY KEY REFERENCES core.staff_user (id),
    name text NOT NULL DEFAULT '',
    skills text[] NOT NULL DEFAULT '{}',
    building_ids integer[] NOT NULL DEFAULT '{}',
    capacity integer NOT NULL DEFAULT 5 CHECK (capacity BETWEEN 1 AND 50),
    open_load integer NOT NULL DEFAULT 0,
    last_assigned_at timestamptz,
    active boolean NOT NULL DEFAULT true,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (open_load BETWEEN 0 AND capacity)
);

CREATE TABLE core.technician_shift (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES core.technician (user_id) ON DELETE CASCADE,
    day date NOT NULL,
    starts time NOT NULL,
    ends time NOT NULL,
    CHECK (starts < ends),
    UNIQUE (user_id, day, starts)
);
CREATE INDEX technician_shift_day_idx ON core.technician_shift (day);

CREATE TABLE core.technician_leave (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES core.technician (user_id) ON DELETE CASCADE,
    starts_on date NOT NULL,
    ends_on date NOT NULL,
    note text NOT NULL DEFAULT '',
    CHECK (starts_on <= ends_on)
);

CREATE TABLE core.work_order_summary (
    tenant_id integer NOT NULL,
    order_id integer NOT NULL,
    number text NOT NULL,
    building_id integer,
    category text NOT NULL,
    urgency text NOT NULL,
    status text NOT NULL,
    assignee_id integer,
    assignee_name text NOT NULL DEFAULT '',
    dispatch_round integer NOT NULL DEFAULT 0,
    reported_at timestamptz NOT NULL DEFAULT now(),
    response_due_at timestamptz NOT NULL,
    onsite_due_at timestamptz NOT NULL,
    completion_due_at timestamptz NOT NULL,
    paused boolean NOT NULL DEFAULT false,
    completed_at timestamptz,
    escalation smallint NOT NULL DEFAULT 0 CHECK (escalation BETWEEN 0 AND 2),
    breached boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, order_id)
);
CREATE INDEX work_order_summary_status_idx ON core.work_order_summary (status, completion_due_at);
CREATE INDEX work_order_summary_assignee_idx ON core.work_order_summary (assignee_id, completion_due_at)
    WHERE assignee_id IS NOT NULL;
"""
