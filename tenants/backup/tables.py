"""Core table of the backups domain (migration core 0013)."""

from piccolo.columns import Integer, Text, Timestamptz
from piccolo.table import Table

from portal.core.db import DB


class TenantRestore(Table, tablename="tenant_restore", schema="core", db=DB):
    """A tenant file restored from an export archive (read-only, for inspection)."""

    tenant_id = Integer(primary_key=True)
    source_archive_no = Text()
    source_tenant_id = Integer()
    exported_at = Timestamptz()
    archive_sha256 = Text()
    restored_by = Text()
    restored_at = Timestamptz()
