"""Object storage (the only module that talks to the minio SDK).

Keys are built here from the tenant id and a uuid, never from file names.
Bytes are encrypted in the app before they leave it (``documents.crypto``) and
uploads stream: the async request body is bridged through a bounded queue into
a synchronous reader that ``put_object(length=-1, part_size=...)`` consumes in a
worker thread, so neither the event loop blocks nor the whole file is held.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from typing import AsyncIterator, Callable, Iterator

import anyio

from documents import crypto
from documents.sniff import HEAD_BYTES, FileKind, Sniffer
from portal.settings import Settings

PART_SIZE = 5 * 1024 * 1024  # the S3 minimum: one part is the largest buffer of an upload
READ_BLOCK = 1024 * 1024
QUEUE_CHUNKS = 4
BATCH = 512 * 1024  # request-body bytes gathered before one hand-over to the upload thread
_ABORT = object()
_storages: dict[int, "Storage"] = {}
_current: "Storage | None" = None


class UploadAborted(RuntimeError):
    """The request stream stopped (client gone, size limit, refused type)."""


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
        from portal.runtime import s3_client

        self.settings = settings
        self.client = s3_client(settings)
        self.bucket = settings.s3_bucket
        self.master_key = settings.master_key
        self.max_bytes = settings.upload_max_mb * 1024 * 1024

    # --- synchronous SDK calls (run them in a worker thread) --------------------------------

    def put_reader(self, key: str, reader, content_type: str = "application/octet-stream") -> str:
        result = self.client.put_object(self.bucket, key, reader, length=-1, part_size=PART_SIZE,
                                        content_type=content_type, num_parallel_uploads=1)
        return result.version_id or ""

    def put_encrypted_bytes(self, key: str, data_key: bytes, data: bytes) -> str:
        import io

        sealed = crypto.encrypt_bytes(data_key, context_for(key), data)
        result = self.client.put_object(self.bucket, key, io.BytesIO(sealed), length=len(sealed),
                                        content_type="application/octet-stream")
        return result.version_id or ""

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

    def raw_blocks(self, key: str, version_id: str = "") -> Iterator[bytes]:
        response = self.client.get_object(self.bucket, key, version_id=version_id or None)
        try:
            yield from response.stream(READ_BLOCK)
        finally:
            response.close()
            response.release_conn()

    def plaintext_blocks(self, key: str, data_key: bytes, version_id: str = "") -> Iterator[bytes]:
        return crypto.decrypt_stream(self.raw_blocks(key, version_id), data_key, context_for(key))

    def read_plaintext(self, key: str, data_key: bytes, version_id: str = "") -> bytes:
        return b"".join(self.plaintext_blocks(key, data_key, version_id))

    # --- async helpers ----------------------------------------------------------------------

    async def aremove(self, key: str, version_id: str = "") -> None:
        await anyio.to_thread.run_sync(self.remove, key, version_id)

    async def aput_bytes(self, key: str, data_key: bytes, data: bytes) -> str:
        return await anyio.to_thread.run_sync(self.put_encrypted_bytes, key, data_key, data)

    async def stream_plaintext(self, key: str, data_key: bytes, version_id: str = "") -> AsyncIterator[bytes]:
        """Decrypted chunks, each produced in a worker thread. The first chunk is
        fetched before returning so a damaged object fails before headers go out."""
        iterator = self.plaintext_blocks(key, data_key, version_id)

        def batch() -> bytes | None:
            # About 1 MiB per trip to the worker thread (16 chunks), not one chunk per trip.
            parts = []
            size = 0
            for block in iterator:
                parts.append(block)
                size += len(block)
                if size >= READ_BLOCK:
                    break
            return b"".join(parts) if parts else None

        first = await anyio.to_thread.run_sync(batch)

        async def gen() -> AsyncIterator[bytes]:
            block = first
            while block is not None:
                yield block
                block = await anyio.to_thread.run_sync(batch)

        return gen()


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
        from portal.settings import load_settings

        settings = load_settings()
    return get_storage(settings)


# --- streaming upload ------------------------------------------------------------------------

@dataclass
class StoredFile:
    key: str
    object_uid: uuid.UUID
    version_id: str
    sha256: str
    size: int
    kind: FileKind
    original_name: str = ""


@dataclass
class _Pipe:
    """Plaintext side of an upload, consumed in the worker thread."""

    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue
    sniffer: Sniffer
    spool: object
    hasher: object = field(default_factory=hashlib.sha256)
    size: int = 0
    closed: bool = False

    def pull(self) -> bytes:
        item = asyncio.run_coroutine_threadsafe(self.queue.get(), self.loop).result()
        if item is _ABORT:
            raise UploadAborted()
        if item:
            self.hasher.update(item)
            self.sniffer.feed(item)
            self.spool.write(item)
            self.size += len(item)
        return item

    def drain(self) -> None:
        """After the consumer stopped, unblock any producer waiting on a full queue."""
        self.closed = True
        while not self.queue.empty():
            self.queue.get_nowait()


class UploadSink:
    """Receives one file's bytes from async code and stores them encrypted.

    ``await sink.write(chunk)`` per chunk (backpressure from the bounded queue),
    then ``await sink.finish()`` -> StoredFile, or ``await sink.abort()``.
    The first ``HEAD_BYTES`` are held back until the type is known, so refused
    types never reach S3.
    """

    def __init__(self, storage: Storage, tenant_id: int, data_key: bytes, original_name: str = ""):
        self.storage = storage
        self.tenant_id = tenant_id
        self.data_key = data_key
        self.original_name = original_name[:200]
        self.object_uid = uuid.uuid4()
        self.key = object_key(tenant_id, self.object_uid)
        self.sniffer = Sniffer()
        self._head = bytearray()
        self._batch = bytearray()
        self._pipe: _Pipe | None = None
        self._future: asyncio.Future | None = None
        self._spool = None
        self.received = 0

    async def _start(self) -> None:
        self.sniffer.start(bytes(self._head))
        loop = asyncio.get_running_loop()
        self._spool = tempfile.TemporaryFile(prefix="upload-")
        self._pipe = _Pipe(loop, asyncio.Queue(QUEUE_CHUNKS), self.sniffer, self._spool)
        pipe, storage, key, data_key = self._pipe, self.storage, self.key, self.data_key

        def run() -> str:
            try:
                reader = crypto.EncryptingReader(pipe.pull, data_key, context_for(key))
                return storage.put_reader(key, reader)
            finally:
                loop.call_soon_threadsafe(pipe.drain)

        self._future = loop.run_in_executor(None, run)
        head = bytes(self._head)
        self._head.clear()
        await self._put(head)

    async def _put(self, item) -> None:
        pipe = self._pipe
        if pipe.closed:
            await self._future  # raises the consumer's error
            raise UploadAborted()
        await pipe.queue.put(item)

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self.received += len(data)
        if self._pipe is None:
            self._head += data
            if len(self._head) >= HEAD_BYTES:
                await self._start()
            return
        self._batch += data
        if len(self._batch) >= BATCH:
            batch, self._batch = bytes(self._batch), bytearray()
            await self._put(batch)

    async def finish(self) -> StoredFile:
        if self._pipe is None:
            await self._start()
        try:
            if self._batch:
                batch, self._batch = bytes(self._batch), bytearray()
                await self._put(batch)
            await self._put(b"")
            version_id = await self._future
            spool, sniffer = self._spool, self.sniffer
            spool.flush()
            try:
                kind = await anyio.to_thread.run_sync(sniffer.finish, f"/proc/self/fd/{spool.fileno()}")
            except BaseException:
                await self.storage.aremove(self.key, version_id)
                raise
        finally:
            self._close_spool()
        return StoredFile(key=self.key, object_uid=self.object_uid, version_id=version_id,
                          sha256=self._pipe.hasher.hexdigest(), size=self._pipe.size, kind=kind,
                          original_name=self.original_name)

    async def abort(self) -> None:
        """Stop the upload; S3 aborts the multipart upload, nothing remains."""
        try:
            if self._pipe is not None and self._future is not None:
                if not self._pipe.closed:
                    await self._pipe.queue.put(_ABORT)
                try:
                    version_id = await self._future
                except BaseException:
                    version_id = None
                if version_id is not None:  # the stream had already completed
                    await self.storage.aremove(self.key, version_id)
        finally:
            self._close_spool()

    def _close_spool(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None


async def store_bytes(storage: Storage, tenant_id: int, data_key: bytes, data: bytes,
                      original_name: str = "") -> StoredFile:
    """Store an in-memory document (generated PDFs) through the same checks."""
    sink = UploadSink(storage, tenant_id, data_key, original_name)
    try:
        for i in range(0, len(data), 256 * 1024):
            await sink.write(data[i:i + 256 * 1024])
        return await sink.finish()
    except BaseException:
        await sink.abort()
        raise
