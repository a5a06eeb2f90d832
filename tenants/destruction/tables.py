"""Core tables of legal holds and destruction (migration core 0012). They stay
after a file is destroyed: they are the record that it was, and why."""

from piccolo.columns import JSONB, Array, BigInt, BigSerial, Boolean, Integer, Text, Timestamptz
from piccolo.table import Table

from portal.core.db import DB


class LegalHold(Table, tablename="legal_hold", schema="core", db=DB):
    id = BigSerial(primary_key=True)
    tenant_id = Integer()
    document_ids = Array(base_column=Integer(), null=True, default=None)  # None: the whole file
    document_titles = Array(base_column=Text())
    reason = Text()
    case_ref = Text()
    placed_by_id = Integer()
    placed_by = Text()
    placed_at = Timestamptz()
    released_by_id = Integer(null=True, default=None)
    released_by = Text()
    released_at = Timestamptz(null=True, default=None)
    release_reason = Text()


class DestructionRequest(Table, tablename="destruction_request", schema="core", db=DB):
    id = BigSerial(primary_key=True)
    tenant_id = Integer()
    archive_no = Text()
    tenant_name = Text()
    scope = Text()
    document_ids = Array(base_column=Integer())
    document_titles = Array(base_column=Text())
    reason = Text()
    early = Boolean(default=False)
    early_reason = Text()
    signer_1 = Text()
    signer_2 = Text()
    status = Text(default="review")
    requested_by_id = Integer()
    requested_by = Text()
    requested_at = Timestamptz()
    reviewer_id = Integer(null=True, default=None)
    reviewer = Text()
    reviewed_at = Timestamptz(null=True, default=None)
    approver_1_id = Integer(null=True, default=None)
    approver_1 = Text()
    approved_1_at = Timestamptz(null=True, default=None)
    approver_2_id = Integer(null=True, default=None)
    approver_2 = Text()
    approved_2_at = Timestamptz(null=True, default=None)
    cooling_until = Timestamptz(null=True, default=None)
    closed_by = Text()
    closed_at = Timestamptz(null=True, default=None)
    close_reason = Text()
    certificate_no = Text(null=True, default=None, unique=True)
    destroyed_at = Timestamptz(null=True, default=None)


class PurgeJob(Table, tablename="purge_job", schema="core", db=DB):
    id = BigSerial(primary_key=True)
    request_id = BigInt(unique=True)
    tenant_id = Integer()
    status = Text(default="running")
    step = Text()
    done_steps = Array(base_column=Text())
    runs = JSONB(default={})
    inventory = JSONB(default={})
    verification = JSONB(default={})
    error = Text()
    started_at = Timestamptz()
    heartbeat_at = Timestamptz()
    finished_at = Timestamptz(null=True, default=None)


class DestructionCertificate(Table, tablename="destruction_certificate", schema="core", db=DB):
    number = Text(primary_key=True)
    request_id = BigInt(unique=True)
    tenant_id = Integer()
    archive_no = Text()
    tenant_name = Text()
    scope = Text()
    issued_at = Timestamptz()
    object_key = Text()
    sha256 = Text()
    size = BigInt()
    summary = Text()


CORE_TABLES = (LegalHold, DestructionRequest, PurgeJob, DestructionCertificate)
