NAME = "crash recovery: job heartbeats, notice number register, pending archive objects"

SQL = r"""
-- A running billing run or notice batch is alive while some worker touches
-- heartbeat_at (tasks/money.py); the recovery beat task re-dispatches one whose
-- heartbeat went stale (its worker died) and counts it in resumes.
ALTER TABLE core.billing_run ADD COLUMN heartbeat_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN resumes integer NOT NULL DEFAULT 0;
ALTER TABLE core.notice_batch ADD COLUMN heartbeat_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN resumes integer NOT NULL DEFAULT 0;
-- The e-mail state of the item's notice (a copy of notice.email_state), so the
-- batch page counts undelivered e-mails without reading every tenant schema.
ALTER TABLE core.notice_batch_item ADD COLUMN email_state text NOT NULL DEFAULT '';

-- Every official notice number taken from core.notice_seq: reserved when taken,
-- issued in the transaction that files the notice, or void with the reason
-- (a gap in the numbering is always explained here).
CREATE TABLE core.notice_number (
    number text PRIMARY KEY,
    tenant_id integer NOT NULL,
    batch_id integer,
    status text NOT NULL DEFAULT 'reserved' CHECK (status IN ('reserved', 'issued', 'void')),
    reason text NOT NULL DEFAULT '' CHECK (reason IN ('', 'interrupted', 'cancelled', 'failed')),
    taken_at timestamptz NOT NULL DEFAULT now(),
    settled_at timestamptz,
    CHECK ((status = 'void') = (reason <> ''))
);
CREATE INDEX notice_number_reserved_idx ON core.notice_number (taken_at) WHERE status = 'reserved';
CREATE INDEX notice_number_void_idx ON core.notice_number (settled_at DESC) WHERE status = 'void';

-- Archive objects written to S3 before the row that owns them commits. The
-- owning transaction deletes its row here; a row left behind (a crash between
-- upload and commit) is swept, with the object, by the recovery beat task.
CREATE TABLE core.pending_object (
    object_key text PRIMARY KEY,
    tenant_id integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pending_object_age_idx ON core.pending_object (created_at);
"""
