NAME = "repairs: work orders, their timeline, parts and labour, photos"

# The order's SLA clocks are stored as due times; while paused, the time each
# clock had left is kept in *_left_s (seconds of counted time; negative when
# already overdue) and the due times are recomputed on resume
# (portal/core/workdays.py Clock). dispatch_round counts dispatch attempts so a
# late acceptance-timeout task for an earlier round does nothing.
SQL = r"""
CREATE TABLE work_order (
    id serial PRIMARY KEY,
    number text NOT NULL UNIQUE,
    unit_id integer,
    building_id integer,
    location text NOT NULL DEFAULT '' CHECK (length(location) <= 200),
    category text NOT NULL CHECK (category IN ('water', 'electrical', 'hvac', 'lift', 'doors_locks', 'network',
                                                'cleaning', 'other')),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 2000),
    urgency text NOT NULL DEFAULT 'normal' CHECK (urgency IN ('normal', 'urgent')),
    preferred_window text NOT NULL DEFAULT '' CHECK (length(preferred_window) <= 100),
    reporter_kind text NOT NULL CHECK (reporter_kind IN ('portal', 'staff')),
    reporter_id integer NOT NULL,
    reporter_name text NOT NULL DEFAULT '',
    channel text NOT NULL CHECK (channel IN ('portal', 'phone', 'walk_in', 'inspection')),
    status text NOT NULL DEFAULT 'reported' CHECK (status IN ('reported', 'unassigned', 'dispatched', 'accepted',
        'on_site', 'paused', 'completed', 'closed', 'cancelled')),
    assignee_id integer,
    assignee_name text NOT NULL DEFAULT '',
    dispatch_round integer NOT NULL DEFAULT 0,
    declined_ids integer[] NOT NULL DEFAULT '{}',
    response_due_at timestamptz NOT NULL,
    onsite_due_at timestamptz NOT NULL,
    completion_due_at timestamptz NOT NULL,
    paused_at timestamptz,
    response_left_s integer,
    onsite_left_s integer,
    completion_left_s integer,
    responded_at timestamptz,
    on_site_at timestamptz,
    completed_at timestamptz,
    confirmed_at timestamptz,
    closed_at timestamptz,
    rating smallint CHECK (rating BETWEEN 1 AND 5),
    rating_comment text NOT NULL DEFAULT '' CHECK (length(rating_comment) <= 1000),
    billable boolean NOT NULL DEFAULT false,
    slip_document_id integer,
    charge_id integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX work_order_status_idx ON work_order (status, created_at DESC);

CREATE TABLE work_order_event (
    id serial PRIMARY KEY,
    order_id integer NOT NULL REFERENCES work_order (id),
    kind text NOT NULL CHECK (kind IN ('reported', 'dispatched', 'accepted', 'declined', 'on_site', 'paused',
        'resumed', 'completed', 'confirmed', 'reopened', 'cancelled', 'closed', 'unassigned', 'note', 'escalated',
        'rated', 'photo', 'billed')),
    actor_kind text NOT NULL CHECK (actor_kind IN ('portal', 'staff', 'system')),
    actor_id integer,
    actor_name text NOT NULL DEFAULT '',
    note text NOT NULL DEFAULT '' CHECK (length(note) <= 1000),
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX work_order_event_order_idx ON work_order_event (order_id, at);

CREATE TABLE work_order_part (
    id serial PRIMARY KEY,
    order_id integer NOT NULL REFERENCES work_order (id),
    kind text NOT NULL CHECK (kind IN ('part', 'labour')),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 200),
    quantity numeric(10, 2) NOT NULL CHECK (quantity > 0),
    unit_price_fen bigint NOT NULL CHECK (unit_price_fen >= 0),
    added_by text NOT NULL DEFAULT '',
    added_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE work_order_photo (
    id serial PRIMARY KEY,
    order_id integer NOT NULL REFERENCES work_order (id),
    document_id integer NOT NULL,
    added_by text NOT NULL DEFAULT '',
    added_at timestamptz NOT NULL DEFAULT now()
);
"""
