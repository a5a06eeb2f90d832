"""HTTP helpers for documents: streamed uploads and safe downloads."""

from __future__ import annotations

from urllib.parse import quote

from litestar import Request
from litestar.response import Stream

from documents import keys
from documents.service import Content
from documents.storage import Storage, get_storage
from documents.upload import UploadForm, receive_form


def storage_of(request: Request) -> Storage:
    return get_storage(request.app.state.settings)


async def receive_upload(request: Request, tenant_id: int) -> UploadForm:
    """Stream the multipart body of ``request`` into S3 (encrypted) without buffering it."""
    storage = storage_of(request)
    data_key = await keys.data_key(tenant_id, storage.master_key)
    length = request.headers.get("content-length")
    return await receive_form(
        request.headers.get("content-type", ""), int(length) if length and length.isdigit() else None,
        request.stream(), storage=storage, tenant_id=tenant_id, data_key=data_key)


def _disposition(kind: str, name: str) -> str:
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name) or "document"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"


SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
    "Referrer-Policy": "no-referrer",
}


def download_response(content: Content, *, inline: bool = False) -> Stream:
    """Never served as HTML: the sniffed type, nosniff, attachment unless a PDF/image preview."""
    inline_ok = inline and content.file_kind in ("pdf", "jpeg", "png")
    name = f"{content.title[:80]}-v{content.version}.{content.extension}"
    # Content-Type set as a header: Litestar appends "; charset=utf-8" to a text/*
    # media type even when it names its charset already (as our text types do).
    headers = {**SAFE_HEADERS, "Content-Type": content.content_type,
               "Content-Disposition": _disposition("inline" if inline_ok else "attachment", name)}
    if content.size is not None:
        headers["Content-Length"] = str(content.size)
    return Stream(content.body, media_type=content.content_type, headers=headers)


def thumbnail_response(content: Content) -> Stream:
    headers = {**SAFE_HEADERS, "Content-Disposition": "inline; filename=\"preview.png\""}
    return Stream(content.body, media_type="image/png", headers=headers)
