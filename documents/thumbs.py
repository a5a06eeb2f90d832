"""First-page thumbnails (PNG, 400 px), stored encrypted next to the document."""

from __future__ import annotations

import io
import os
import subprocess
import tempfile

from documents import keys
from documents.storage import Storage, object_key
from documents.tables import DocumentVersion
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx

SIZE = 400


def render_thumbnail(file_kind: str, plaintext_blocks) -> bytes | None:
    """PNG bytes of the first page / the image; None for kinds without a preview."""
    if file_kind not in ("pdf", "jpeg", "png", "tiff"):
        return None
    with tempfile.TemporaryDirectory(prefix="thumb-") as tmp:
        src = os.path.join(tmp, "src")
        with open(src, "wb") as fh:
            for block in plaintext_blocks:
                fh.write(block)
        if file_kind == "pdf":
            out = os.path.join(tmp, "page")
            subprocess.run(["pdftoppm", "-png", "-f", "1", "-l", "1", "-scale-to", str(SIZE), src, out],
                           check=True, timeout=120, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            produced = sorted(p for p in os.listdir(tmp) if p.startswith("page") and p.endswith(".png"))
            if not produced:
                return None
            with open(os.path.join(tmp, produced[0]), "rb") as fh:
                return fh.read()
        from PIL import Image

        with Image.open(src) as image:
            image.seek(0)
            image.thumbnail((SIZE, SIZE))
            if image.mode not in ("RGB", "L", "RGBA"):
                image = image.convert("RGB")
            buffer = io.BytesIO()
            image.save(buffer, "PNG")
            return buffer.getvalue()


async def make_thumbnail(storage: Storage, ref: TenantRef, version_row_id: int) -> str:
    """Build and store the thumbnail of one document version. Idempotent; exits
    cleanly if the version or the tenant's key is gone."""
    import anyio

    V = DocumentVersion
    async with tenant_tx(ref.schema):
        row = await V.select(V.object_uid, V.object_key, V.s3_version_id, V.file_kind, V.thumb_key).where(
            V.id == version_row_id).first().run()
        if row is None:
            return "gone"
        if row["thumb_key"]:
            return "exists"
        try:
            data_key = await keys.data_key(ref.id, storage.master_key, create=False)
        except keys.KeyDestroyed:
            return "key destroyed"
    key = row["object_key"]

    def work() -> str | None:
        png = render_thumbnail(row["file_kind"], storage.plaintext_blocks(key, data_key, row["s3_version_id"]))
        if png is None:
            return None
        thumb_key = object_key(ref.id, row["object_uid"], "thumb")
        storage.put_encrypted_bytes(thumb_key, data_key, png)
        return thumb_key

    thumb_key = await anyio.to_thread.run_sync(work)
    if thumb_key is None:
        return "no preview"
    async with tenant_tx(ref.schema):
        await V.update({V.thumb_key: thumb_key}).where((V.id == version_row_id) & (V.thumb_key == "")).run()
    return "made"
