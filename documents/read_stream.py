"""The decrypting download stream of an archive object.

One worker thread reads the object in 1 MiB blocks up to ``READ_AHEAD`` blocks
ahead of the event loop, which decrypts each block and sends it, so the S3 read
overlaps decryption and the socket send.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from typing import TYPE_CHECKING, AsyncIterator, Iterator

from documents import crypto
from documents.storage import S3_READ, context_for

if TYPE_CHECKING:
    from documents.storage import Storage

READ_AHEAD = 4  # blocks a download may read ahead of the client


async def stream_plaintext(storage: "Storage", key: str, data_key: bytes, version_id: str = "") -> AsyncIterator[bytes]:
    """Decrypted blocks of about ``S3_READ`` bytes. A worker thread reads the
    object up to ``READ_AHEAD`` blocks ahead (the socket reads release the GIL);
    each block is decrypted here, which is faster than a thread hop for the
    GIL-holding AES step. The first block is fetched before returning so a
    missing or damaged object fails before headers go out."""
    decryptor = crypto.StreamDecryptor(data_key, context_for(key))
    pump = _Pump(asyncio.get_running_loop(), storage.raw_blocks(key, version_id, S3_READ), READ_AHEAD)

    async def blocks() -> AsyncIterator[bytes]:
        while True:
            raw = await pump.get()
            if raw is None:
                yield decryptor.finish()
                return
            parts = decryptor.feed(raw)
            if parts:
                yield parts[0] if len(parts) == 1 else b"".join(parts)

    pump.start()
    source = blocks()
    try:
        first = await source.__anext__()
    except BaseException:
        pump.stop()
        raise

    async def body() -> AsyncIterator[bytes]:
        try:
            yield first
            async for block in source:
                yield block
        finally:
            pump.stop()

    stream = body()
    weakref.finalize(stream, pump.stop)  # also when the body is never iterated
    return stream


class _Pump:
    """Runs a blocking iterator in its own thread, at most ``depth`` items ahead
    of the async consumer. ``get()`` returns None at the end and raises the
    iterator's error; ``stop()`` ends the thread (and closes the iterator)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, iterator: Iterator[bytes], depth: int):
        self._loop = loop
        self._iterator = iterator
        self._queue: asyncio.Queue = asyncio.Queue()
        self._slots = threading.Semaphore(depth)
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="s3-download", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        if not self._stopped:
            self._stopped = True
            self._slots.release()  # wake the thread if it waits for room

    async def get(self) -> bytes | None:
        item = await self._queue.get()
        self._slots.release()
        if isinstance(item, BaseException):
            self._stopped = True
            raise item
        return item

    def _deliver(self, item) -> bool:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
            return True
        except RuntimeError:  # the event loop is closed
            self._stopped = True
            return False

    def _run(self) -> None:
        iterator = self._iterator
        try:
            for item in iterator:
                self._slots.acquire()
                if self._stopped or not self._deliver(item):
                    return
            self._slots.acquire()
            if not self._stopped:
                self._deliver(None)
        except BaseException as exc:
            if not self._stopped:
                self._deliver(exc)
        finally:
            iterator.close()  # closes the S3 response
