NAME = "satisfaction surveys: surveys, invitations, answers (one per company), corrective actions"

# A survey is the office's questionnaire; each invited tenant has one row in
# core.survey_invitation (the building, level and industry at the time of
# invitation, e-mails and reminders, when it answered) and at most one in
# core.survey_answer (scores 1-5, comments, who answered): its UNIQUE
# (survey_id, tenant_id) is the "one answer per company" rule. Kept
# in core (not in the tenant schema) because the analysis reads every answer of
# a survey at once and no query may span two tenant schemas; the rows name the
# tenant, so staff read them only through the building-scope filter, and the
# tenant's file purge deletes them (tenants/surveys/hooks.py purge_core).
SQL = r"""
CREATE TABLE core.survey (
    id serial PRIMARY KEY,
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    kind text NOT NULL DEFAULT 'yearly' CHECK (kind IN ('yearly', 'on_demand')),
    questions jsonb NOT NULL DEFAULT '[]',
    audience text NOT NULL DEFAULT 'all' CHECK (audience IN ('all', 'building', 'level')),
    audience_ids integer[] NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'open', 'closed')),
    closes_on date NOT NULL,
    threshold numeric(3, 2) NOT NULL DEFAULT 3.5 CHECK (threshold BETWEEN 1 AND 5),
    created_by_id integer NOT NULL,
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    opened_at timestamptz,
    closed_at timestamptz,
    report_status text NOT NULL DEFAULT '' CHECK (report_status IN ('', 'pending', 'approved', 'rejected')),
    report_requested_by_id integer,
    report_requested_by text NOT NULL DEFAULT '',
    report_requested_at timestamptz,
    report_decided_by_id integer,
    report_decided_by text NOT NULL DEFAULT '',
    report_decided_at timestamptz,
    report_reason text NOT NULL DEFAULT ''
);

CREATE TABLE core.survey_invitation (
    id serial PRIMARY KEY,
    survey_id integer NOT NULL REFERENCES core.survey(id) ON DELETE CASCADE,
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    building_ids integer[] NOT NULL DEFAULT '{}',
    level smallint NOT NULL DEFAULT 0,
    industry text NOT NULL DEFAULT '',
    invited_at timestamptz NOT NULL DEFAULT now(),
    emailed_at timestamptz,
    reminded_at timestamptz,
    reminders integer NOT NULL DEFAULT 0,
    answered_at timestamptz,
    UNIQUE (survey_id, tenant_id)
);
CREATE INDEX survey_invitation_tenant ON core.survey_invitation (tenant_id);

-- The company's answer: one per tenant per survey (the constraint is the rule).
CREATE TABLE core.survey_answer (
    id serial PRIMARY KEY,
    survey_id integer NOT NULL REFERENCES core.survey(id) ON DELETE CASCADE,
    tenant_id integer NOT NULL REFERENCES core.tenant(id),
    answered_by_id integer NOT NULL,
    answered_by text NOT NULL DEFAULT '',
    answered_at timestamptz NOT NULL DEFAULT now(),
    scores jsonb NOT NULL DEFAULT '{}',
    comments jsonb NOT NULL DEFAULT '{}',
    CONSTRAINT survey_answer_one_per_company UNIQUE (survey_id, tenant_id)
);
CREATE INDEX survey_answer_tenant ON core.survey_answer (tenant_id);

CREATE TABLE core.survey_action (
    id serial PRIMARY KEY,
    survey_id integer NOT NULL REFERENCES core.survey(id) ON DELETE CASCADE,
    area text NOT NULL CHECK (length(area) BETWEEN 1 AND 200),
    description text NOT NULL CHECK (length(description) BETWEEN 1 AND 1000),
    owner text NOT NULL CHECK (length(owner) BETWEEN 1 AND 100),
    due_on date NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    created_by text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    done_by text NOT NULL DEFAULT '',
    done_at timestamptz
);
CREATE INDEX survey_action_survey ON core.survey_action (survey_id);
"""
