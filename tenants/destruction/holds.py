"""Legal holds (诉讼保全): a whole tenant file or single documents of it kept,
whatever retention says, until a different person releases the hold.

While a hold is active nothing in its scope may be destroyed or deleted by
anyone: every destroying path calls ``assert_not_held`` (the destruction
request, each approval, the purge inside its own transaction). The S3
objects also get an S3 legal hold (object lock) as a second wall; the
application's refusal is the guarantee (README, "Legal holds").
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Iterable, Mapping

import anyio

from documents.storage import current_storage
from documents.tables import Document, DocumentVersion
from portal.core import audit
from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, FormErrors, NotFound
from portal.core.forms import Form
from portal.core.jobs import on_commit
from portal.core.roles import Perm, Principal
from tenants.destruction import queries
from tenants.destruction.tables import LegalHold
from tenants.registry.service import TenantRef, ref_for_staff
from tenants.scope import tenant_tx

log = logging.getLogger(__name__)


class Held(Conflict):
    """This file or document is under legal hold: nothing in it can be destroyed or deleted."""

    code = "legal_hold"


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def document_ids(form: Form, raw: Mapping[str, Any]) -> list[int]:
    """The form's ``document_ids`` for a scope of single documents: at least one, each a valid id."""
    try:
        ids = parse_ids(raw.get("document_ids"))
    except FormErrors as exc:
        form.fail("document_ids", "document_ids.invalid", exc.fields["document_ids"])
        return []
    if not ids:
        form.fail("document_ids", "document_ids.required", "Name at least one document.")
    return ids


def parse_ids(raw: Any) -> list[int]:
    """Document ids from a form ("3, 5 7" or a list); a bad or out-of-range one is a field error."""
    values = raw if isinstance(raw, (list, tuple)) else str(raw or "").replace(",", " ").split()
    ids = []
    for value in values:
        text = str(value).strip()
        if not text.isdigit() or not 0 < int(text) < 2**31:
            raise FormErrors({"document_ids": "Give document numbers as whole numbers."})
        ids.append(int(text))
    return sorted(set(ids))


async def active_holds(tenant_id: int) -> list[dict]:
    return await LegalHold.select().where(
        (LegalHold.tenant_id == tenant_id) & LegalHold.released_at.is_null()).order_by(LegalHold.id).run()


def _covers(hold: Mapping, document_ids: Iterable[int] | None) -> bool:
    if hold["document_ids"] is None or document_ids is None:
        return True  # a whole-file hold covers everything; a whole-file action touches every held document
    return bool(set(hold["document_ids"]) & set(document_ids))


async def assert_not_held(tenant_id: int, document_ids: Iterable[int] | None = None) -> None:
    """Raise ``Held`` (409) if an active hold covers the tenant's file (``document_ids`` None)
    or any of the documents. Inside a transaction it first takes the tenant's hold lock, so
    a hold placed concurrently waits for the caller's transaction (the purge re-checks so)."""
    tx = DB.current_transaction.get()
    if tx is not None:
        await queries.lock_holds(tx.connection, tenant_id)
    ids = None if document_ids is None else list(document_ids)
    for hold in await active_holds(tenant_id):
        if _covers(hold, ids):
            raise Held("This file or document is under legal hold: nothing in it can be destroyed or deleted.",
                       case_ref=hold["case_ref"])


def clean_hold(raw: Mapping[str, Any]) -> dict:
    form = Form(raw)
    scope = form.choice("scope", ("file", "documents"), default="file")
    reason = form.text("reason", limit=500, required="Give the reason for the hold.")
    case_ref = form.text("case_ref", limit=100, required="Give the case reference (dispute or complaint).")
    ids = document_ids(form, raw) if scope == "documents" else []
    form.check()
    return {"scope": scope, "reason": reason, "case_ref": case_ref, "document_ids": ids}


def _require(principal: Principal) -> None:
    if not principal.can(Perm.HOLD_MANAGE):
        raise Forbidden()


async def _titles(document_ids: list[int]) -> list[str]:
    rows = {r["id"]: r["title"] for r in await Document.select(Document.id, Document.title).where(
        Document.id.is_in(document_ids)).run()}
    missing = [i for i in document_ids if i not in rows]
    if missing:
        raise FormErrors({"document_ids": "Some of these documents are not in this file."})
    return [rows[i] for i in document_ids]


async def object_keys(document_ids: list[int] | None) -> list[str]:
    """The S3 keys of the documents (all of the file's with None): versions and thumbnails.
    Runs inside the tenant's transaction."""
    query = DocumentVersion.select(DocumentVersion.object_key, DocumentVersion.thumb_key)
    if document_ids is not None:
        query = query.where(DocumentVersion.document_id.is_in(document_ids or [-1]))
    keys = []
    for row in await query.run():
        keys += [k for k in (row["object_key"], row["thumb_key"]) if k]
    return keys


async def place_hold(tenant_id: int, raw: Mapping[str, Any], principal: Principal) -> int:
    from tenants.destruction.service import assert_not_destroyed

    _require(principal)
    ref = await ref_for_staff(principal, tenant_id)
    await assert_not_destroyed(ref.id)
    data = clean_hold(raw)
    ids = data["document_ids"] if data["scope"] == "documents" else None
    async with tenant_tx(ref.schema) as tx:
        await queries.lock_holds(tx.connection, ref.id)
        titles = await _titles(ids) if ids else []
        keys = await object_keys(ids)
        [row] = await LegalHold.insert(LegalHold(
            tenant_id=ref.id, document_ids=ids, document_titles=titles, reason=data["reason"],
            case_ref=data["case_ref"], placed_by_id=principal.user_id, placed_by=principal.name, placed_at=now(),
        )).returning(LegalHold.id).run()
        await audit.record("legal_hold.place", principal=principal, tenant_id=ref.id, target=f"legal_hold:{row['id']}",
                           detail={"case_ref": data["case_ref"], "documents": ids or "file"})
    await set_s3_holds(ref.id, keys, True)
    return row["id"]


async def hold_in_tx(tenant_id: int, *, reason: str, case_ref: str, principal: Principal,
                     source: str) -> int | None:
    """Place a whole-file hold from another domain's rule (a major complaint), inside that domain's
    ``tenant_tx``: it commits or rolls back with the event. Placed in the name of the person whose
    act it follows; one active hold per case reference (a repeated grading places none). The S3
    legal holds follow after commit (``tasks.destruction.s3_hold``). Returns the new hold's id."""
    from tasks.destruction import s3_hold  # noqa: PLC0415 (tasks import services, not the reverse)

    tx = DB.current_transaction.get()
    if tx is None:
        raise RuntimeError("hold_in_tx must run inside the caller's transaction")
    await queries.lock_holds(tx.connection, tenant_id)
    if await LegalHold.exists().where((LegalHold.tenant_id == tenant_id) & LegalHold.released_at.is_null()
                                      & (LegalHold.case_ref == case_ref[:100])).run():
        return None
    [row] = await LegalHold.insert(LegalHold(
        tenant_id=tenant_id, document_ids=None, document_titles=[], reason=reason[:500], case_ref=case_ref[:100],
        placed_by_id=principal.user_id, placed_by=principal.name, placed_at=now(),
    )).returning(LegalHold.id).run()
    await audit.record("legal_hold.place", principal=principal, tenant_id=tenant_id, target=f"legal_hold:{row['id']}",
                       detail={"case_ref": case_ref[:100], "documents": "file", "kind": source})
    on_commit(s3_hold, tenant_id, row["id"])
    return row["id"]


async def apply_s3_hold(tenant_id: int, hold_id: int) -> int:
    """The S3 side of a hold placed in another transaction: on while the hold is active (idempotent)."""
    hold = await LegalHold.select().where((LegalHold.id == hold_id) & (LegalHold.tenant_id == tenant_id)).first().run()
    if hold is None or hold["released_at"] is not None:
        return 0
    from tenants.registry.service import get_ref

    ref = await get_ref(tenant_id)
    async with tenant_tx(ref.schema):
        keys = await object_keys(hold["document_ids"])
    return await set_s3_holds(tenant_id, keys, True)


async def get_hold(hold_id: int, principal: Principal) -> dict:
    row = await LegalHold.select().where(LegalHold.id == hold_id).first().run()
    if row is None:
        raise NotFound("No such legal hold.")
    await ref_for_staff(principal, row["tenant_id"])  # 404 outside one's reach
    return row


async def release_hold(hold_id: int, raw: Mapping[str, Any], principal: Principal) -> None:
    _require(principal)
    hold = await get_hold(hold_id, principal)
    form = Form(raw)
    reason = form.text("release_reason", limit=500, required="Give the reason for releasing the hold.")
    form.check()
    if hold["released_at"] is not None:
        raise Conflict("This hold has already been released.")
    if hold["placed_by_id"] == principal.user_id:
        raise Forbidden("A different person must release the hold you placed.")
    ref = await ref_for_staff(principal, hold["tenant_id"])
    async with tenant_tx(ref.schema) as tx:
        await queries.lock_holds(tx.connection, ref.id)
        done = await LegalHold.update({LegalHold.released_by_id: principal.user_id, LegalHold.released_by: principal.name,
                                       LegalHold.released_at: now(), LegalHold.release_reason: reason}).where(
            (LegalHold.id == hold_id) & LegalHold.released_at.is_null()).returning(LegalHold.id).run()
        if not done:
            raise Conflict("This hold has already been released.")
        await audit.record("legal_hold.release", principal=principal, tenant_id=ref.id, target=f"legal_hold:{hold_id}",
                           detail={"case_ref": hold["case_ref"], "reason": reason})
        remaining = await active_holds(ref.id)
        keys = await object_keys(hold["document_ids"])
        still = set()
        for other in remaining:
            still |= set(await object_keys(other["document_ids"]))
    await set_s3_holds(ref.id, [k for k in keys if k not in still], False)


async def set_s3_holds(tenant_id: int, keys: list[str], on: bool) -> int:
    """Turn the S3 legal hold of every version of ``keys`` on or off (best effort: the
    application's refusal is the guarantee). Returns how many versions were changed."""
    if not keys:
        return 0
    storage = current_storage()

    def work() -> int:
        changed = 0
        for key in keys:
            for obj in storage.client.list_objects(storage.bucket, prefix=key, include_version=True):
                if obj.object_name != key or obj.is_delete_marker:
                    continue
                try:
                    if on:
                        storage.client.enable_object_legal_hold(storage.bucket, key, version_id=obj.version_id)
                    else:
                        storage.client.disable_object_legal_hold(storage.bucket, key, version_id=obj.version_id)
                    changed += 1
                except Exception as exc:  # the S3 server may not support object lock
                    log.warning("S3 legal hold %s on %s failed: %s", "on" if on else "off", key, exc)
        return changed

    return await anyio.to_thread.run_sync(work)


async def release_all_s3_holds(prefix: str) -> None:
    """Before an approved purge deletes versions: no application hold is active (checked),
    so any S3 legal hold left under the prefix is stale."""
    storage = current_storage()

    def work() -> None:
        for obj in storage.client.list_objects(storage.bucket, prefix=prefix, recursive=True, include_version=True):
            if obj.is_delete_marker:
                continue
            try:
                if _held(storage, obj):
                    storage.client.disable_object_legal_hold(storage.bucket, obj.object_name,
                                                              version_id=obj.version_id)
            except Exception as exc:
                log.warning("S3 legal hold check on %s failed: %s", obj.object_name, exc)

    await anyio.to_thread.run_sync(work)


def _held(storage, obj) -> bool:
    """Whether S3 has a legal hold configuration for this version at all (no configuration is an error)."""
    from minio.error import S3Error

    try:
        return storage.client.is_object_legal_hold_enabled(storage.bucket, obj.object_name, version_id=obj.version_id)
    except S3Error as exc:
        if exc.code == "NoSuchObjectLegalHold":
            return False
        raise


def _in_scope(principal: Principal, tenant_ids: set[int], refs: Mapping[int, TenantRef]) -> set[int]:
    return {t for t in tenant_ids if t in refs and principal.may_see_tenant(refs[t].building_ids)}


async def register(principal: Principal, *, status: str = "active", q: str = "") -> list[dict]:
    """The hold register: active, released or all holds the person may see, newest first."""
    from tenants.registry.service import get_refs

    if not (principal.can(Perm.HOLD_MANAGE) or principal.can(Perm.DESTRUCTION_READ)):
        raise Forbidden()
    query = LegalHold.select().order_by(LegalHold.id, ascending=False).limit(1000)
    if status == "active":
        query = query.where(LegalHold.released_at.is_null())
    elif status == "released":
        query = query.where(LegalHold.released_at.is_not_null())
    rows = await query.run()
    refs = await get_refs(sorted({r["tenant_id"] for r in rows}))
    visible = _in_scope(principal, {r["tenant_id"] for r in rows}, refs)
    out = []
    needle = q.strip().lower()
    for row in rows:
        if row["tenant_id"] not in visible:
            continue
        ref = refs[row["tenant_id"]]
        row = {**row, "archive_no": ref.archive_no, "tenant_name": ref.name}
        text = " ".join([row["archive_no"], row["tenant_name"], row["case_ref"], row["reason"], row["placed_by"]]).lower()
        if needle and needle not in text:
            continue
        out.append(row)
    return out
