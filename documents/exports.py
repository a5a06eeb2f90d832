"""Approved exports for sharing: an AES-256 zip with a random password shown
once, kept under ``settings.data_path/exports`` until it expires, then deleted.
Every export is recorded (who, what, why, until when) in ``core.export``."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import secrets
import uuid
from pathlib import Path

import anyio

from documents import keys, queries
from documents.lending import is_handler
from documents.lending_scope import loan_items, require_scope
from documents.service import EXTENSIONS, now
from documents.storage import Storage
from documents.tables import Export, Loan
from portal.core import audit
from portal.core.roles import Principal
from portal.core.db import DB
from portal.core.errors import Conflict, Forbidden, NotFound
from tenants.registry.service import get_ref
from tenants.scope import tenant_tx


class ExportGone(NotFound):
    """This export has expired and its file was deleted."""

    status_code = 410
    code = "export_expired"


def export_dir(storage: Storage) -> Path:
    path = storage.settings.data_path / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _safe(text: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_. " or ord(c) > 127 else "_" for c in text).strip()
    return keep[:60] or "document"


async def carry_out(principal: Principal, storage: Storage, loan_id: int) -> tuple[str, str]:
    """Build the zip of an approved export loan. Returns (export uid, password);
    the password is not stored anywhere."""
    import pyzipper

    if not is_handler(principal):
        raise Forbidden()
    loan = await Loan.select().where(Loan.id == loan_id).first().run()
    if loan is None:
        raise NotFound("No such loan.")
    items = await loan_items([loan_id])
    require_scope(principal, loan, items)
    if loan["mode"] != "export" or loan["status"] != "approved":
        raise Conflict("Only an approved export can be carried out.")
    plan = []  # (tenant ref, data key, version rows)
    for item in items:
        ref = await get_ref(item["tenant_id"])
        async with tenant_tx(ref.schema):
            rows = await queries.current_files(item["document_ids"])
            data_key = await keys.data_key(ref.id, storage.master_key, create=False)
        plan.append((ref, data_key, rows))
    uid = uuid.uuid4()
    password = secrets.token_urlsafe(18)
    path = export_dir(storage) / f"{uid.hex}.zip"

    def build() -> tuple[int, str]:
        digest = hashlib.sha256()
        with pyzipper.AESZipFile(path, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES) as zf:
            zf.setpassword(password.encode())
            zf.setencryption(pyzipper.WZ_AES, nbits=256)
            for ref, data_key, rows in plan:
                for no, row in enumerate(rows, 1):
                    name = (f"{ref.archive_no}/{no:04d}_{row['issue_date'] or ''}_{_safe(row['title'])}"
                            f".{EXTENSIONS.get(row['file_kind'], 'bin')}")
                    with zf.open(name, "w") as out:
                        for block in storage.plaintext_blocks(row["object_key"], data_key, row["s3_version_id"]):
                            out.write(block)
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1024 * 1024), b""):
                digest.update(block)
        return path.stat().st_size, digest.hexdigest()

    try:
        size, sha = await anyio.to_thread.run_sync(build)
        scope = {str(ref.id): [r["id"] for r in rows] for ref, _, rows in plan}
        async with DB.transaction():
            await Export.insert(Export(
                uid=uid, loan_id=loan_id, created_by=principal.name, expires_at=loan["due_at"],
                purpose=loan["purpose"], scope=_json(scope), file_name=path.name, size=size, sha256=sha)).run()
            await Loan.update({Loan.status: "lent", Loan.lent_by: principal.name, Loan.lent_at: now()}).where(
                Loan.id == loan_id).run()
            await audit.record("export.create", principal=principal, target=f"export:{uid}",
                               detail={"loan": loan_id, "scope": scope, "purpose": loan["purpose"],
                                       "until": loan["due_at"], "size": size, "sha256": sha})
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return str(uid), password


def _json(value) -> str:
    import json

    return json.dumps(value, ensure_ascii=False)


async def open_export(principal: Principal, storage: Storage, uid: str) -> tuple[dict, Path]:
    """The export's file for its borrower or a handler, until it expires."""
    try:
        uid_value = uuid.UUID(uid)
    except ValueError:
        raise NotFound("No such export.")
    row = await queries.export_with_borrower(uid_value)
    if row is None or (row["borrower_id"] != principal.user_id and not is_handler(principal)):
        raise NotFound("No such export.")
    # Only while the person still may see every file in it (buildings change).
    if not all(principal.may_see_tenant(i["building_ids"]) for i in await loan_items([row["loan_id"]])):
        raise NotFound("No such export.")
    path = export_dir(storage) / row["file_name"]
    if row["deleted_at"] is not None or row["expires_at"] <= dt.datetime.now(dt.timezone.utc) or not path.exists():
        await audit.record("export.download", principal=principal, target=f"export:{uid}", outcome="expired")
        raise ExportGone()
    await Export.update({Export.downloads: Export.downloads + 1}).where(Export.uid == uid_value).run()
    await audit.record("export.download", principal=principal, target=f"export:{uid}")
    return row, path


async def delete_expired(storage: Storage, now: dt.datetime | None = None) -> int:
    """Beat: delete the files of expired exports and close their loans."""
    now = now or dt.datetime.now(dt.timezone.utc)
    rows = await Export.select(Export.id, Export.uid, Export.loan_id, Export.file_name).where(
        Export.deleted_at.is_null() & (Export.expires_at <= now)).run()
    for row in rows:
        path = export_dir(storage) / row["file_name"]
        if path.exists():
            os.unlink(path)
        async with DB.transaction():
            await Export.update({Export.deleted_at: now}).where(Export.id == row["id"]).run()
            await Loan.update({Loan.status: "expired"}).where(
                (Loan.id == row["loan_id"]) & (Loan.status == "lent")).run()
            await audit.record("export.deleted", actor_name="beat", target=f"export:{row['uid']}",
                               detail={"loan": row["loan_id"]})
    return len(rows)


async def list_exports(principal: Principal) -> list[dict]:
    rows = await queries.exports(None if is_handler(principal) else principal.user_id)
    items = await loan_items(sorted({r["loan_id"] for r in rows}))
    hidden = {i["loan_id"] for i in items if not principal.may_see_tenant(i["building_ids"])}
    return [r for r in rows if r["loan_id"] not in hidden]
