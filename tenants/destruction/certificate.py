"""The destruction certificate (销毁证明): a PDF made of the purge's inventory,
the request and its approvals, stored in core's own archive area in S3
(``core/destruction/<number>.pdf``), never under the tenant's prefix."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from zoneinfo import ZoneInfo

import anyio

from documents.storage import current_storage
from portal.core import audit
from portal.core.db import DB
from portal.core.errors import NotFound
from portal.core.i18n import N_
from portal.core.roles import Perm, Principal
from tenants.destruction import queries
from tenants.destruction.holds import now
from tenants.destruction.tables import DestructionCertificate, DestructionRequest, PurgeJob

SHANGHAI = ZoneInfo("Asia/Shanghai")
CORE_PREFIX = "core/destruction/"


def _fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def _json(value) -> dict:
    return value if isinstance(value, dict) else json.loads(value or "{}")


# What each tenant table holds, as the certificate names it (never the table's own name).
RECORD_KINDS = {
    "profile": N_("Company details"), "contact": N_("Contacts"), "change_log": N_("Change log entries"),
    "change_request": N_("Change requests"), "document": N_("Documents"), "document_version": N_("Document versions"),
    "document_request": N_("Document requests"), "charge": N_("Charges"), "payment": N_("Payments"),
    "allocation": N_("Payment allocations"), "deposit": N_("Deposits"), "deposit_entry": N_("Deposit entries"),
    "fee_subscription": N_("Recurring fees"), "notice": N_("Notices"), "work_order": N_("Repair orders"),
    "work_order_event": N_("Repair order events"), "work_order_part": N_("Repair parts and labour"),
    "work_order_photo": N_("Repair photos"), "complaint": N_("Complaints"), "complaint_step": N_("Complaint steps"),
}


def record_kind(table: str) -> str:
    return RECORD_KINDS.get(table, N_("Other records"))


def context(job: dict, req: dict, number: str, settings, destroyed_at: dt.datetime) -> dict:
    record = _json(job["inventory"])
    verification = _json(job["verification"])
    rows: dict[str, int] = {}
    for found in record.get("domains", {}).values():
        for table, n in found.get("rows", {}).items():
            if table == "_migration":
                continue  # the schema's own bookkeeping, not a record of the tenant
            kind = record_kind(table)
            rows[kind] = rows.get(kind, 0) + n
    backup_expiry = (destroyed_at + dt.timedelta(days=settings.backup_retention_days)).astimezone(SHANGHAI).date()
    return {"number": number, "req": req, "office_name": settings.office_name, "fmt": _fmt,
            "rows": sorted(rows.items()), "s3": record.get("s3", {"versions": 0, "delete_markers": 0, "bytes": 0}),
            "documents": record.get("documents", []), "destroyed_at": destroyed_at,
            "backup_expiry": backup_expiry.isoformat(), "backup_days": settings.backup_retention_days,
            "verified_clean": verification.get("left") == {}, "verified_at": verification.get("at")}


def render(ctx: dict) -> bytes:
    from documents.pdf import render_pdf

    return render_pdf("destruction_certificate.html", locale="zh", **ctx)


async def issue(job: dict, req: dict, settings) -> None:
    """The purge's last step: number (if the file step gave none), PDF, upload, register row,
    request and job done, in one transaction after the upload (a rerun uploads again, same key)."""
    number = req["certificate_no"]
    if not number:
        async with DB.transaction() as tx:
            number = await queries.next_certificate_no(tx.connection)
            await DestructionRequest.update({DestructionRequest.certificate_no: number}).where(
                (DestructionRequest.id == req["id"]) & DestructionRequest.certificate_no.is_null()).run()
            row = await DestructionRequest.select(DestructionRequest.certificate_no).where(
                DestructionRequest.id == req["id"]).first().run()
            number = row["certificate_no"]
    destroyed_at = req["destroyed_at"] or now()
    pdf = await anyio.to_thread.run_sync(render, context(job, req, number, settings, destroyed_at))
    key = CORE_PREFIX + number + ".pdf"
    storage = current_storage()
    await anyio.to_thread.run_sync(lambda: storage.put_object_bytes(key, pdf, "application/pdf"))
    record = _json(job["inventory"])
    summary = f"{len(record.get('documents', []))} document versions, {record.get('s3', {}).get('versions', 0)} objects"
    async with DB.transaction() as tx:
        await DestructionCertificate.insert(DestructionCertificate(
            number=number, request_id=req["id"], tenant_id=req["tenant_id"], archive_no=req["archive_no"],
            tenant_name=req["tenant_name"], scope=req["scope"], issued_at=now(), object_key=key,
            sha256=hashlib.sha256(pdf).hexdigest(), size=len(pdf), summary=summary,
        )).on_conflict(action="DO NOTHING").run()
        await DestructionRequest.update({DestructionRequest.status: "destroyed",
                                         DestructionRequest.destroyed_at: destroyed_at}).where(
            DestructionRequest.id == req["id"]).run()
        await PurgeJob.update({PurgeJob.status: "done", PurgeJob.finished_at: now(), PurgeJob.error: "",
                               PurgeJob.step: "done"}).where(PurgeJob.id == job["id"]).run()
        await audit.record("destruction.done", actor_name="purge", tenant_id=req["tenant_id"],
                           target=f"destruction:{req['id']}", detail={"certificate": number})
        await queries.mark_done(tx.connection, job["id"], "certificate")


async def certificate_pdf(number: str, principal: Principal) -> tuple[str, bytes]:
    if not principal.can(Perm.DESTRUCTION_READ):
        raise NotFound("No such certificate.")
    row = await DestructionCertificate.select().where(DestructionCertificate.number == number).first().run()
    if row is None:
        raise NotFound("No such certificate.")
    storage = current_storage()

    def read() -> bytes:
        response = storage.client.get_object(storage.bucket, row["object_key"])
        try:
            return response.read()
        finally:
            response.close()
            response.release_conn()

    return row["number"], await anyio.to_thread.run_sync(read)


async def certificates(principal: Principal, q: str = "") -> list[dict]:
    if not principal.can(Perm.DESTRUCTION_READ):
        return []
    rows = await DestructionCertificate.select().order_by(DestructionCertificate.issued_at, ascending=False).limit(1000).run()
    needle = q.strip().lower()
    return [r for r in rows if not needle or needle in " ".join([r["number"], r["archive_no"], r["tenant_name"]]).lower()]
