"""The streaming upload pipeline: one file's bytes from async code into an
encrypted S3 object.

A pipeline of bounded stages: the event loop parses the request and hands
~1 MiB batches to one worker thread (sniffing, SHA-256, encryption straight
into part buffers), which hands full parts to ``UPLOAD_PARALLEL`` part-upload
threads; S3 upload, encryption and request reading overlap, and memory is bounded
by the part buffers (``UPLOAD_PARALLEL + 1`` of ``PART_SIZE``) and the batch queue.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import tempfile
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from documents import crypto, pending
from documents.clamd import ClamdScan
from documents.sniff import HEAD_BYTES, PARSE_CHECKED, FileKind, Sniffer
from documents.storage import Storage, context_for, object_key

# One S3 part holds whole sealed chunks: 80 x 65,552 bytes (+ the 16-byte header in
# the first part) is just over the S3 minimum of 5 MiB.
PART_RECORDS = 80
PART_SIZE = crypto.HEADER_LEN + PART_RECORDS * crypto.RECORD
UPLOAD_PARALLEL = 2  # parts in flight per upload (a further one is being filled)
MAX_PARTS = 10_000  # the S3 limit
BATCH = 1024 * 1024  # request-body bytes gathered before one hand-over to the upload thread
QUEUE_BATCHES = 4
_ABORT = object()


class UploadAborted(RuntimeError):
    """The request stream stopped (client gone, size limit, refused type)."""


@dataclass
class StoredFile:
    key: str
    object_uid: uuid.UUID
    version_id: str
    sha256: str
    size: int
    kind: FileKind
    original_name: str = ""


class _Feed:
    """Batches from the event loop to the upload thread; at most ``depth`` waiting."""

    def __init__(self, loop: asyncio.AbstractEventLoop, depth: int):
        self._loop = loop
        self._items: collections.deque = collections.deque()
        self._ready = threading.Condition(threading.Lock())
        self._room = asyncio.Semaphore(depth)
        self.closed = False  # the upload thread stopped taking batches

    async def put(self, item) -> None:
        await self._room.acquire()
        self.put_nowait(item)

    def put_nowait(self, item) -> None:
        with self._ready:
            self._items.append(item)
            self._ready.notify()

    def get(self):
        with self._ready:
            while not self._items:
                self._ready.wait()
            item = self._items.popleft()
        self._loop.call_soon_threadsafe(self._room.release)
        return item

    def close(self) -> None:
        """Called from the upload thread when it stops: unblock a waiting producer."""
        self.closed = True
        self._loop.call_soon_threadsafe(self._room.release)


class _PartWriter:
    """The encrypted object, cut into S3 parts of whole sealed chunks. A full part
    is uploaded by one of ``parallel`` threads while the next one is filled, so
    at most ``parallel + 1`` part buffers exist. An object that fits in one part
    is sent with a single PUT by ``complete()``."""

    def __init__(self, storage: "Storage", key: str, parallel: int = UPLOAD_PARALLEL, part_size: int = PART_SIZE):
        self.storage = storage
        self.key = key
        self.parallel = parallel
        self.part_size = part_size
        self._free: list[bytearray] = []
        self._allocated = 0
        self._returned = threading.Condition()
        self._upload_id: str | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list = []
        self._buf = self._take()
        self._view = memoryview(self._buf)
        self._pos = 0

    def _take(self) -> bytearray:
        with self._returned:
            while not self._free and self._allocated > self.parallel:
                self._returned.wait()
            if self._free:
                return self._free.pop()
            self._allocated += 1
        return bytearray(self.part_size)

    def reserve(self, n: int) -> memoryview:
        """``n`` bytes of the current part (a full part goes out first)."""
        if self._pos + n > self.part_size:
            self._send_current()
            self._buf = self._take()
            self._view = memoryview(self._buf)
            self._pos = 0
        start = self._pos
        self._pos += n
        return self._view[start:self._pos]

    def _send_current(self) -> None:
        for future in self._futures:  # stop early if a part failed
            if future.done() and future.exception() is not None:
                raise future.exception()
        if self._upload_id is None:
            self._upload_id = self.storage.create_multipart(self.key)
            self._pool = ThreadPoolExecutor(self.parallel, thread_name_prefix="s3-part")
        number = len(self._futures) + 1
        if number > MAX_PARTS:
            raise ValueError("too many parts for one object")
        self._futures.append(self._pool.submit(self._upload, number, self._buf, self._pos))
        self._buf = self._view = None

    def _upload(self, number: int, buf: bytearray, size: int) -> str:
        try:
            return self.storage.upload_part(self.key, self._upload_id, number, memoryview(buf)[:size])
        finally:
            with self._returned:
                self._free.append(buf)
                self._returned.notify()

    def send_rest(self) -> None:
        """After the last byte: the last part starts uploading (multipart only)."""
        if self._upload_id is not None and self._buf is not None:
            self._send_current()

    def complete(self) -> str:
        """Wait for the parts and complete the object; return the S3 version id."""
        if self._upload_id is None:
            data = bytes(self._view[:self._pos])
            self._buf = self._view = None
            return self.storage.put_object_bytes(self.key, data)
        self.send_rest()
        etags = [future.result() for future in self._futures]
        self._pool.shutdown()
        version_id = self.storage.complete_multipart(self.key, self._upload_id, etags)
        self._upload_id = None
        return version_id

    def abort(self) -> None:
        """Drop an unfinished multipart upload (nothing remains in S3)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            self.storage.abort_multipart(self.key, upload_id)


@dataclass
class _Result:
    version_id: str
    sha256: str
    size: int
    kind: FileKind


class UploadSink:
    """Receives one file's bytes from async code and stores them encrypted.

    ``await sink.write(chunk)`` per chunk (backpressure from the bounded queue),
    then ``await sink.finish()`` -> StoredFile, or ``await sink.abort()``.
    The first ``HEAD_BYTES`` are held back until the type is known, so refused
    types never reach S3. Types that need a parse check of the whole file (PDF,
    images, Office zip) are spooled to a temporary file, checked while the last
    parts are still uploading, and the upload is dropped if the check fails.
    With ``scan`` (files from outside) and a configured clamd, the bytes are
    also streamed to clamd, whose verdict is awaited before the object completes.
    """

    def __init__(self, storage: Storage, tenant_id: int, data_key: bytes, original_name: str = "",
                 scan: bool = False):
        self.storage = storage
        self.tenant_id = tenant_id
        self.data_key = data_key
        self.original_name = original_name[:200]
        self.object_uid = uuid.uuid4()
        self.key = object_key(tenant_id, self.object_uid)
        self.sniffer = Sniffer()
        self.clamd_address = storage.settings.clamd_socket if scan else ""
        self._head = bytearray()
        self._batch: list[bytes] = []
        self._batch_size = 0
        self._feed: _Feed | None = None
        self._future: asyncio.Future | None = None
        self.received = 0

    async def _start(self) -> None:
        await pending.record(self.key, self.tenant_id)  # before any byte reaches S3
        self.sniffer.start(bytes(self._head))
        loop = asyncio.get_running_loop()
        self._feed = feed = _Feed(loop, QUEUE_BATCHES)
        self._future = future = loop.create_future()
        sniffer, storage, key, data_key, clamd_address = (self.sniffer, self.storage, self.key, self.data_key,
                                                          self.clamd_address)

        def settle(result, error) -> None:
            if not future.done():
                future.set_exception(error) if error is not None else future.set_result(result)

        def run() -> None:
            result = error = None
            try:
                result = _store(feed, sniffer, storage, key, data_key, clamd_address)
            except Exception as exc:
                error = exc
            finally:
                if result is None and error is None:
                    error = UploadAborted()
                try:
                    feed.close()
                    loop.call_soon_threadsafe(settle, result, error)
                except RuntimeError:  # the event loop is gone
                    pass

        threading.Thread(target=run, name="s3-upload", daemon=True).start()
        head = bytes(self._head)
        self._head.clear()
        await self._put(head)

    async def _put(self, item) -> None:
        if self._feed.closed:
            await self._future  # raises the upload thread's error
            raise UploadAborted()
        await self._feed.put(item)

    async def _flush_batch(self) -> None:
        batch = self._batch[0] if len(self._batch) == 1 else b"".join(self._batch)
        self._batch, self._batch_size = [], 0
        await self._put(batch)

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self.received += len(data)
        if self._feed is None:
            self._head += data
            if len(self._head) >= HEAD_BYTES:
                await self._start()
            return
        self._batch.append(data)
        self._batch_size += len(data)
        if self._batch_size >= BATCH:
            await self._flush_batch()

    async def finish(self) -> StoredFile:
        if self._feed is None:
            await self._start()
        if self._batch:
            await self._flush_batch()
        await self._put(b"")
        # Shielded: if this request is cancelled, abort() still learns the outcome.
        result: _Result = await asyncio.shield(self._future)
        return StoredFile(key=self.key, object_uid=self.object_uid, version_id=result.version_id,
                          sha256=result.sha256, size=result.size, kind=result.kind,
                          original_name=self.original_name)

    async def abort(self) -> None:
        """Stop the upload; S3 aborts the multipart upload, nothing remains."""
        if self._feed is None or self._future is None:
            return
        if not self._feed.closed:
            self._feed.put_nowait(_ABORT)
        try:
            result = await asyncio.shield(self._future)
        except BaseException:
            result = None
        if result is not None:  # the upload had already completed
            await self.storage.aremove(self.key, result.version_id)
        await pending.forget(self.key)


def _store(feed: _Feed, sniffer: Sniffer, storage: Storage, key: str, data_key: bytes,
           clamd_address: str = "") -> _Result:
    """The upload thread: sniff, hash, spool (if a parse check is due), scan (if
    clamd is given), encrypt and send the batches from ``feed`` until b"" (the
    end) or _ABORT."""
    hasher = hashlib.sha256()
    spool = tempfile.TemporaryFile(prefix="upload-") if sniffer.kind in PARSE_CHECKED else None
    writer = _PartWriter(storage, key)
    scan = None
    size = 0
    try:
        scan = ClamdScan(clamd_address) if clamd_address else None
        encryptor = crypto.StreamEncryptor(data_key, context_for(key), writer.reserve)
        while True:
            item = feed.get()
            if item is _ABORT:
                raise UploadAborted()
            if not item:
                break
            size += len(item)
            hasher.update(item)
            sniffer.feed(item)
            if spool is not None:
                spool.write(item)
            if scan is not None:
                scan.write(item)
            encryptor.write(item)
        feed.close()
        encryptor.close()
        writer.send_rest()  # the last parts upload while clamd and the parse check decide
        if scan is not None:
            scan.verdict()
        kind = _parse_check(sniffer, spool)  # a refusal aborts: nothing reaches S3
        version_id = writer.complete()
        return _Result(version_id, hasher.hexdigest(), size, kind)
    except BaseException:
        writer.abort()
        raise
    finally:
        if spool is not None:
            spool.close()
        if scan is not None:
            scan.close()


def _parse_check(sniffer: Sniffer, spool) -> FileKind:
    if spool is not None:
        spool.flush()
        return sniffer.finish(f"/proc/self/fd/{spool.fileno()}")
    return sniffer.finish(None)


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
