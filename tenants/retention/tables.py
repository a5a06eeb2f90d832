"""Core tables of retention (migration core 0011): the periods and the
disposition list. The last business date and ``dormant_since`` are columns of
``core.tenant`` (``tenants.registry.tables.Tenant``)."""

from piccolo.columns import BigSerial, Date, Integer, Serial, Text, Timestamptz
from piccolo.table import Table

from portal.core.db import DB


class RetentionClass(Table, tablename="retention_class", schema="core", db=DB):
    key = Text(primary_key=True)  # 'level:<0-3>' or 'category:<document category>'
    years = Integer()
    basis = Text()  # the law or office rule behind the period, as people wrote it
    updated_by = Text()
    updated_at = Timestamptz()


class DispositionRun(Table, tablename="disposition_run", schema="core", db=DB):
    id = Serial(primary_key=True)
    as_of = Date()
    built_at = Timestamptz()
    built_by = Text()
    files = Integer(default=0)
    document_groups = Integer(default=0)


class DispositionItem(Table, tablename="disposition_item", schema="core", db=DB):
    id = BigSerial(primary_key=True)
    run_id = Integer()
    tenant_id = Integer()
    category = Text(null=True, default=None)  # None: the whole file
    class_key = Text()
    years = Integer()
    last_business_on = Date()
    ends_on = Date()
    documents = Integer(default=0)
