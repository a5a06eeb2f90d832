NAME = "complaints: the complaint and each step's record"

# A complaint (投诉) and its nine steps (tenants/complaints/flow.py). The
# current step and who decided which step are the approval engine's state
# (status, step, step_started_at, actors); complaint_step keeps every step's
# record (who, when, decision, note) for the complaint card.
SQL = r"""
CREATE TABLE complaint (
    id serial PRIMARY KEY,
    number text NOT NULL UNIQUE,
    lodged_at timestamptz NOT NULL DEFAULT now(),
    channel text NOT NULL CHECK (channel IN ('portal', 'phone', 'visit', 'letter', 'email')),
    complainant text NOT NULL,
    contact text NOT NULL DEFAULT '',
    lodged_by_kind text NOT NULL CHECK (lodged_by_kind IN ('staff', 'portal')),
    lodged_by_id integer NOT NULL,
    lodged_by text NOT NULL DEFAULT '',
    against text NOT NULL DEFAULT '',
    description text NOT NULL CHECK (description <> ''),
    request text NOT NULL DEFAULT '',
    grade text NOT NULL DEFAULT 'general' CHECK (grade IN ('general', 'serious', 'major')),
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'not_upheld', 'closed')),
    step text,
    step_started_at timestamptz,
    actors jsonb NOT NULL DEFAULT '{}',
    department text NOT NULL DEFAULT '',
    cause text NOT NULL DEFAULT '',
    responsible text NOT NULL DEFAULT '',
    remedy_kind text NOT NULL DEFAULT '' CHECK (remedy_kind IN ('', 'apology', 'rework', 'discount',
                                                                'compensation', 'other')),
    remedy text NOT NULL DEFAULT '',
    remedy_fen bigint NOT NULL DEFAULT 0 CHECK (remedy_fen >= 0),
    reply text NOT NULL DEFAULT '',
    replied_at timestamptz,
    feedback text NOT NULL DEFAULT '',
    follow_up text NOT NULL DEFAULT '',
    lessons text NOT NULL DEFAULT '',
    legal_hold_requested boolean NOT NULL DEFAULT false,
    resolved_at timestamptz,
    closed_at timestamptz,
    card_document_id integer,
    mailed jsonb NOT NULL DEFAULT '{}',
    CHECK ((status = 'open') = (step IS NOT NULL))
);

CREATE TABLE complaint_step (
    id serial PRIMARY KEY,
    complaint_id integer NOT NULL REFERENCES complaint (id),
    step text NOT NULL,
    decision text NOT NULL CHECK (decision IN ('record', 'approve', 'reject', 'send_back', 'escalate')),
    to_step text NOT NULL DEFAULT '',
    actor_kind text NOT NULL,
    actor_id integer,
    actor_name text NOT NULL DEFAULT '',
    at timestamptz NOT NULL DEFAULT now(),
    note text NOT NULL DEFAULT ''
);
CREATE INDEX complaint_step_complaint_idx ON complaint_step (complaint_id, id);
"""
