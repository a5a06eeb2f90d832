NAME = "complaints: the office-wide number sequence and one summary row per complaint"

# core.complaint_case mirrors each tenant's complaints (written in the same
# transaction as the tenant's change) so the console list and the escalation
# scan read one table; no query crosses tenant schemas. Open cases have
# closed_at NULL. legal_hold_requested stays after the case closes (the
# retention work reads it).
SQL = r"""
CREATE SEQUENCE core.complaint_seq;

CREATE TABLE core.complaint_case (
    id bigserial PRIMARY KEY,
    tenant_id integer NOT NULL REFERENCES core.tenant (id),
    complaint_id integer NOT NULL,
    number text NOT NULL,
    tenant_name text NOT NULL DEFAULT '',
    grade text NOT NULL,
    step text,
    subject text NOT NULL DEFAULT '',
    lodged_at timestamptz NOT NULL,
    due_at timestamptz,
    progress_due_at timestamptz,
    overdue boolean NOT NULL DEFAULT false,
    escalation smallint NOT NULL DEFAULT 0,
    building_ids integer[] NOT NULL DEFAULT '{}',
    legal_hold_requested boolean NOT NULL DEFAULT false,
    closed_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, complaint_id)
);
CREATE INDEX complaint_case_open_due_idx ON core.complaint_case (due_at) WHERE closed_at IS NULL;
CREATE INDEX complaint_case_buildings_idx ON core.complaint_case USING gin (building_ids) WHERE closed_at IS NULL;
"""
