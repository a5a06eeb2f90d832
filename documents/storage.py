"""Object storage: the S3 client and bucket of the archive (the only place that
talks to the minio SDK).

Keys are built here from the tenant id and a uuid, never from file names.
Bytes are encrypted in the app before they leave it (``documents.crypto``).
The streaming upload pipeline is ``documents.upload_stream``; the read-ahead
download stream is ``documents.read_stream``.
"""

from __future__ import annotations

import io
import uuid
from typing import AsyncIterator, Iterator

import anyio

from documents import crypto
from portal.core.settings import Settings

READ_BLOCK = 1024 * 1024  # plaintext per block of plaintext_blocks()
S3_READ = 1024 * 1024  # ciphertext per read from the S3 response
_storages: dict[int, "Storage"] = {}
_current: "Storage | None" = None


def object_key(tenant_id: int, object_uid: uuid.UUID, suffix: str = "") -> str:
    """``tenants/000042/<uuid hex>[.<suffix>]``: tenant id and uuid only."""
    if not isinstance(tenant_id, int) or not 0 < tenant_id < 1_000_000:
        raise ValueError("bad tenant id")
    if suffix and not suffix.isalnum():
        raise ValueError("bad suffix")
    return f"tenants/{tenant_id:06d}/{uuid.UUID(str(object_uid)).hex}" + (f".{suffix}" if suffix else "")


def context_for(key: str) -> bytes:
    """The AAD context that binds ciphertext to its object key (and so its tenant)."""
    return b"portal-doc:" + key.encode()


class Storage:
    def __init__(self, settings: Settings):
        from portal.core.s3 import s3_client

        self.settings = settings
        self.client = s3_client(settings)
        self.bucket = settings.s3_bucket
        self.master_key = settings.master_key
        self.max_bytes = settings.upload_max_mb * 1024 * 1024

    # --- synchronous SDK calls (run them in a worker thread) --------------------------------

    def put_object_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> str:
        """One PUT (no multipart) for an object of up to 5 GiB."""
        from minio.helpers import MIN_PART_SIZE

        result = self.client.put_object(self.bucket, key, io.BytesIO(data), length=len(data),
                                        part_size=max(len(data), MIN_PART_SIZE), content_type=content_type)
        return result.version_id or ""

    # Multipart upload, part by part, so parts can be built in reusable buffers and
    # sent while the next one is filled. These are the calls put_object makes.
    def create_multipart(self, key: str, content_type: str = "application/octet-stream") -> str:
        return self.client._create_multipart_upload(self.bucket, key, {"Content-Type": content_type})

    def upload_part(self, key: str, upload_id: str, part_number: int, data) -> str:
        return self.client._upload_part(self.bucket, key, data, None, upload_id, part_number)

    def complete_multipart(self, key: str, upload_id: str, etags: list[str]) -> str:
        from minio.datatypes import Part

        parts = [Part(number, etag) for number, etag in enumerate(etags, 1)]
        result = self.client._complete_multipart_upload(self.bucket, key, upload_id, parts)
        return result.version_id or ""

    def abort_multipart(self, key: str, upload_id: str) -> None:
        self.client._abort_multipart_upload(self.bucket, key, upload_id)

    def put_encrypted_bytes(self, key: str, data_key: bytes, data: bytes) -> str:
        return self.put_object_bytes(key, crypto.encrypt_bytes(data_key, context_for(key), data))

    def remove(self, key: str, version_id: str = "") -> None:
        """Delete one version outright (used when an upload is refused)."""
        self.client.remove_object(self.bucket, key, version_id=version_id or None)

    def remove_all_versions(self, key: str) -> None:
        for obj in self.client.list_objects(self.bucket, prefix=key, include_version=True):
            if obj.object_name == key:
                self.client.remove_object(self.bucket, key, version_id=obj.version_id)

    def exists(self, key: str) -> bool:
        from minio.error import S3Error

        try:
            self.client.stat_object(self.bucket, key)
            return True
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "NotFound"):
                return False
            raise

    def raw_blocks(self, key: str, version_id: str = "", block: int = S3_READ) -> Iterator[bytes]:
        response = self.client.get_object(self.bucket, key, version_id=version_id or None)
        try:
            yield from response.stream(block)
        finally:
            response.close()
            response.release_conn()

    def plaintext_blocks(self, key: str, data_key: bytes, version_id: str = "",
                         block: int = READ_BLOCK) -> Iterator[bytes]:
        """Decrypted blocks of about ``block`` bytes (a whole number of chunks)."""
        return crypto.decrypt_stream(self.raw_blocks(key, version_id), data_key, context_for(key), block)

    def read_plaintext(self, key: str, data_key: bytes, version_id: str = "") -> bytes:
        return b"".join(self.plaintext_blocks(key, data_key, version_id))

    # --- async helpers ----------------------------------------------------------------------

    async def aremove(self, key: str, version_id: str = "") -> None:
        await anyio.to_thread.run_sync(self.remove, key, version_id)

    async def aput_bytes(self, key: str, data_key: bytes, data: bytes) -> str:
        return await anyio.to_thread.run_sync(self.put_encrypted_bytes, key, data_key, data)

    async def stream_plaintext(self, key: str, data_key: bytes, version_id: str = "") -> AsyncIterator[bytes]:
        """Decrypted blocks, read ahead by a worker thread (``documents.read_stream``)."""
        from documents.read_stream import stream_plaintext

        return await stream_plaintext(self, key, data_key, version_id)


def get_storage(settings: Settings) -> Storage:
    """One Storage per settings object; the latest becomes the process default."""
    global _current
    storage = _storages.get(id(settings))
    if storage is None or storage.settings is not settings:
        storage = _storages[id(settings)] = Storage(settings)
    _current = storage
    return storage


def current_storage() -> Storage:
    """The process's storage: the last configured one, else the Celery worker's
    settings, else the environment."""
    if _current is not None:
        return _current
    try:
        from celery import current_app

        settings = getattr(current_app, "portal_settings", None)
    except Exception:
        settings = None
    if settings is None:
        from portal.core.settings import load_settings

        settings = load_settings()
    return get_storage(settings)
