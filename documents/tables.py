"""Piccolo tables of the document archive.

``Document``, ``DocumentVersion`` and ``DocumentRequest`` live in each tenant
schema (unqualified: they resolve only inside ``tenant_tx``); the key, lending
and export registers are pinned to ``core``. The SQL in
``migrations/*/m0002_*.py`` is the source of truth for the DDL.
"""

from piccolo.columns import (
    JSONB,
    UUID,
    Array,
    BigInt,
    BigSerial,
    Boolean,
    Bytea,
    Date,
    Integer,
    Text,
    Timestamptz,
)
from piccolo.table import Table

from portal.core.db import DB


class Document(Table, tablename="document", db=DB):
    uid = UUID()
    category = Text()
    title = Text()
    issue_date = Date(null=True, default=None)
    received_date = Date(null=True, default=None)
    source = Text()
    number = Text()
    pages = Integer(null=True, default=None)
    paper_location = Text()
    confidentiality = Text(default="internal")
    visible_to_tenant = Boolean(default=False)
    status = Text(default="filed")
    reject_reason = Text()
    request_id = Integer(null=True, default=None)
    current_version = Integer(default=1)
    uploaded_by_kind = Text()
    uploaded_by_id = Integer(null=True, default=None)
    uploaded_by = Text()
    decided_by = Text()
    decided_at = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    updated_at = Timestamptz()


class DocumentVersion(Table, tablename="document_version", db=DB):
    document_id = Integer()
    version = Integer()
    object_uid = UUID()
    object_key = Text()
    s3_version_id = Text()
    sha256 = Text()
    size = BigInt()
    content_type = Text()
    file_kind = Text()
    original_name = Text()
    thumb_key = Text()
    uploaded_by = Text()
    uploaded_at = Timestamptz()


class DocumentRequest(Table, tablename="document_request", db=DB):
    category = Text()
    title = Text()
    note = Text()
    requested_by = Text()
    requested_at = Timestamptz()
    status = Text(default="open")
    document_id = Integer(null=True, default=None)


class TenantKey(Table, tablename="tenant_key", schema="core", db=DB):
    tenant_id = Integer(primary_key=True)
    wrapped_key = Bytea(null=True, default=None)
    master_key_id = Text()
    created_at = Timestamptz()
    rotated_at = Timestamptz(null=True, default=None)
    destroyed_at = Timestamptz(null=True, default=None)


class Loan(Table, tablename="loan", schema="core", db=DB):
    mode = Text()
    status = Text(default="requested")
    borrower_id = Integer()
    borrower_name = Text()
    department = Text()
    purpose = Text()
    due_at = Timestamptz()
    requested_at = Timestamptz()
    head_id = Integer(null=True, default=None)
    head_name = Text()
    head_at = Timestamptz(null=True, default=None)
    supervisor_id = Integer(null=True, default=None)
    supervisor_name = Text()
    supervisor_at = Timestamptz(null=True, default=None)
    refused_by = Text()
    refused_reason = Text()
    refused_at = Timestamptz(null=True, default=None)
    lent_by = Text()
    lent_at = Timestamptz(null=True, default=None)
    returned_to = Text()
    returned_at = Timestamptz(null=True, default=None)
    return_condition = Text()
    damage_note = Text()
    accompanied_by = Text()


class LoanItem(Table, tablename="loan_item", schema="core", db=DB):
    loan_id = Integer(primary_key=True)
    tenant_id = Integer()
    document_ids = Array(base_column=Integer())
    document_titles = Array(base_column=Text())


class AccessGrant(Table, tablename="access_grant", schema="core", db=DB):
    staff_id = Integer()
    tenant_id = Integer()
    loan_id = Integer(null=True, default=None)
    document_ids = Array(base_column=Integer())
    created_at = Timestamptz()
    expires_at = Timestamptz()
    withdrawn_at = Timestamptz(null=True, default=None)


class LoanReminder(Table, tablename="loan_reminder", schema="core", db=DB):
    id = BigSerial(primary_key=True)
    loan_id = Integer()
    staff_id = Integer()
    kind = Text()
    for_date = Date()
    created_at = Timestamptz()
    seen_at = Timestamptz(null=True, default=None)


class Export(Table, tablename="export", schema="core", db=DB):
    uid = UUID()
    loan_id = Integer()
    created_by = Text()
    created_at = Timestamptz()
    expires_at = Timestamptz()
    purpose = Text()
    scope = JSONB(default={})
    file_name = Text()
    size = BigInt()
    sha256 = Text()
    downloads = Integer(default=0)
    deleted_at = Timestamptz(null=True, default=None)


TENANT_TABLES = (Document, DocumentVersion, DocumentRequest)
CORE_TABLES = (TenantKey, Loan, LoanItem, AccessGrant, LoanReminder, Export)


class PendingObject(Table, tablename="pending_object", schema="core", db=DB):
    """An archive object being uploaded; the filing transaction removes the row,
    and a sweep deletes objects whose filing never committed."""

    object_key = Text(primary_key=True)
    tenant_id = Integer()
    created_at = Timestamptz()
