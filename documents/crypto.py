"""Encryption at rest: per-tenant data keys wrapped by the master key, and a
streaming, authenticated chunk format for document bytes.

Object format (version 1)::

    header  = b"TAE" | version (1 byte) | chunk size (uint32 BE) | nonce prefix (8 random bytes)
    chunk i = AES-256-GCM(data key, nonce = prefix | i (uint32 BE),
                          plaintext[i*chunk : (i+1)*chunk],
                          aad = header | len(context) (uint16 BE) | context | last flag (1 byte))

``context`` names the object (tenant id and object uuid), so chunks cannot be
moved between objects; the counter in the nonce stops reordering; the last-chunk
flag in the AAD stops truncation (a stream that ends without a flagged chunk,
or goes on after one, is refused). Every chunk holds at most ``chunk`` bytes of
plaintext, so neither side ever holds more than one chunk.
"""

from __future__ import annotations

import base64
import hashlib
import os
import struct
from typing import Callable, Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

MAGIC = b"TAE"
VERSION = 1
CHUNK = 64 * 1024
TAG = 16
HEADER_LEN = 16


class DecryptionError(ValueError):
    """The object is damaged, truncated, swapped, or the key is wrong."""


# --- master key and data keys ------------------------------------------------------------------

def master_key_bytes(master_b64: str) -> bytes:
    try:
        key = base64.b64decode(master_b64, validate=True)
    except Exception as exc:
        raise ValueError("the master key must be base64") from exc
    if len(key) != 32:
        raise ValueError("the master key must be 32 bytes (base64 of 32 random bytes)")
    return key


def master_key_id(master_b64: str) -> str:
    """A short public fingerprint naming which master key wrapped a data key."""
    return hashlib.sha256(b"portal-master-key-id:" + master_key_bytes(master_b64)).hexdigest()[:16]


def new_data_key() -> bytes:
    return os.urandom(32)


def wrap_key(master_b64: str, data_key: bytes) -> bytes:
    return aes_key_wrap(master_key_bytes(master_b64), data_key)


def unwrap_key(master_b64: str, wrapped: bytes) -> bytes:
    try:
        return aes_key_unwrap(master_key_bytes(master_b64), bytes(wrapped))
    except InvalidUnwrap as exc:
        raise DecryptionError("the data key does not unwrap with this master key") from exc


# --- the chunk format ---------------------------------------------------------------------------

RECORD = CHUNK + TAG  # one sealed full chunk


def _aad(header: bytes, context: bytes, last: bool) -> bytes:
    return header + struct.pack(">H", len(context)) + context + (b"\x01" if last else b"\x00")


def ciphertext_size(plain_size: int, chunk: int = CHUNK) -> int:
    chunks = max(1, -(-plain_size // chunk))
    return HEADER_LEN + plain_size + chunks * TAG


def _nonce(prefix: bytes, counter: int) -> bytes:
    if counter > 0xFFFFFFFF:
        raise ValueError("object too large for the chunk counter")
    return prefix + counter.to_bytes(4, "big")


class Sealer:
    """Encrypts consecutive chunks of one object."""

    def __init__(self, key: bytes, context: bytes, chunk: int = CHUNK):
        self.chunk = chunk
        self.header = MAGIC + bytes([VERSION]) + struct.pack(">I", chunk) + os.urandom(8)
        self._aead = AESGCM(key)
        self._prefix = self.header[8:16]
        self._aads = (_aad(self.header, context, False), _aad(self.header, context, True))
        self._counter = 0
        self._finished = False

    def _next_nonce(self, plaintext, last: bool) -> bytes:
        if self._finished:
            raise RuntimeError("the last chunk was already sealed")
        if len(plaintext) > self.chunk:
            raise ValueError("chunk too large")
        nonce = _nonce(self._prefix, self._counter)
        self._counter += 1
        self._finished = last
        return nonce

    def seal(self, plaintext, last: bool) -> bytes:
        nonce = self._next_nonce(plaintext, last)
        return self._aead.encrypt(nonce, plaintext, self._aads[last])

    def seal_into(self, plaintext, last: bool, out) -> None:
        """Seal into ``out``, a writable buffer of exactly ``len(plaintext) + TAG`` bytes."""
        nonce = self._next_nonce(plaintext, last)
        self._aead.encrypt_into(nonce, plaintext, self._aads[last], out)


class StreamEncryptor:
    """Plaintext written in pieces of any size; the object (header, then sealed
    chunks) is written into buffers handed out by ``reserve(n)`` (a writable
    buffer of exactly ``n`` bytes, never more than ``RECORD``). A chunk is sealed
    only once it is known whether more data follows (the last-chunk flag), so at
    most one chunk of plaintext is held here."""

    def __init__(self, key: bytes, context: bytes, reserve: Callable[[int], "memoryview"], chunk: int = CHUNK):
        self._sealer = Sealer(key, context, chunk)
        self._reserve = reserve
        self._chunk = chunk
        self._pending = bytearray()
        self._closed = False
        reserve(HEADER_LEN)[:] = self._sealer.header

    def _seal(self, plaintext, last: bool) -> None:
        self._sealer.seal_into(plaintext, last, self._reserve(len(plaintext) + TAG))

    def write(self, data) -> None:
        if self._closed:
            raise RuntimeError("the stream is closed")
        n = len(data)
        if not n:
            return
        chunk, pending = self._chunk, self._pending
        with memoryview(data) as view:
            off = 0
            if pending:
                if len(pending) == chunk:  # a full chunk held back: now more data follows
                    self._seal(pending, False)
                    pending.clear()
                else:
                    off = min(chunk - len(pending), n)
                    pending += view[:off]
                    if off == n:
                        return
                    if len(pending) == chunk:
                        self._seal(pending, False)
                        pending.clear()
            while n - off > chunk:
                self._seal(view[off:off + chunk], False)
                off += chunk
            pending += view[off:]

    def close(self) -> None:
        """Seal what is left as the last chunk (an empty one for an empty object)."""
        if not self._closed:
            self._closed = True
            self._seal(self._pending, True)
            self._pending.clear()


def encrypt_bytes(key: bytes, context: bytes, data: bytes, chunk: int = CHUNK) -> bytes:
    out = bytearray(ciphertext_size(len(data), chunk))
    pos = 0

    def reserve(n: int) -> memoryview:
        nonlocal pos
        pos += n
        return view[pos - n:pos]

    with memoryview(out) as view:
        encryptor = StreamEncryptor(key, context, reserve, chunk)
        encryptor.write(data)
        encryptor.close()
    return bytes(out)


class StreamDecryptor:
    """Ciphertext fed in blocks of any size; ``feed`` returns the plaintext of
    the chunks that are complete and known not to be the last, ``finish`` the
    last one. Raises DecryptionError on any tampering, truncation, reordering,
    wrong key or context."""

    def __init__(self, key: bytes, context: bytes):
        self._key = key
        self._context = context
        self._buf = bytearray()
        self._aead = None
        self._counter = 0
        self._record = 0

    def _start(self) -> None:
        header = bytes(self._buf[:HEADER_LEN])
        if header[:3] != MAGIC or header[3] != VERSION:
            raise DecryptionError("not an encrypted archive object")
        chunk = struct.unpack(">I", header[4:8])[0]
        if not 0 < chunk <= 16 * 1024 * 1024:
            raise DecryptionError("bad chunk size")
        self._aead = AESGCM(self._key)
        self._prefix = header[8:16]
        self._aads = (_aad(header, self._context, False), _aad(header, self._context, True))
        self._record = chunk + TAG
        self._buf.clear()

    def _open(self, sealed, last: bool) -> bytes:
        try:
            plaintext = self._aead.decrypt(_nonce(self._prefix, self._counter), sealed, self._aads[last])
        except InvalidTag as exc:
            raise DecryptionError("the object failed authentication") from exc
        self._counter += 1
        return plaintext

    def feed(self, data) -> list[bytes]:
        out: list[bytes] = []
        n = len(data)
        if not n:
            return out
        buf = self._buf
        with memoryview(data) as view:
            off = 0
            if self._aead is None:
                off = min(HEADER_LEN - len(buf), n)
                buf += view[:off]
                if len(buf) < HEADER_LEN:
                    return out
                self._start()
            record = self._record
            if buf:  # complete the held-back record from this block's head
                take = min(record - len(buf), n - off)
                buf += view[off:off + take]
                off += take
                if off == n:  # nothing follows yet: it may be the last
                    return out
                out.append(self._open(buf, False))
                buf.clear()
            while n - off > record:  # opened straight from the block: more follows
                out.append(self._open(view[off:off + record], False))
                off += record
            buf += view[off:]  # at most one record, held until we know if it is the last
        return out

    def finish(self) -> bytes:
        if self._aead is None:
            raise DecryptionError("not an encrypted archive object")
        if len(self._buf) < TAG:
            raise DecryptionError("truncated object")
        plaintext = self._open(self._buf, True)
        self._buf = bytearray()
        return plaintext


def decrypt_stream(blocks: Iterable[bytes], key: bytes, context: bytes, block: int = 0) -> Iterator[bytes]:
    """Plaintext of an object given as an iterator of ciphertext blocks, in
    pieces of about ``block`` bytes (0: one piece per ciphertext block).
    Raises DecryptionError on any tampering, truncation or wrong key/context."""
    decryptor = StreamDecryptor(key, context)
    parts: list[bytes] = []
    size = 0
    for data in blocks:
        for plaintext in decryptor.feed(data):
            parts.append(plaintext)
            size += len(plaintext)
        if parts and size >= block:
            yield parts[0] if len(parts) == 1 else b"".join(parts)
            parts, size = [], 0
    parts.append(decryptor.finish())
    yield parts[0] if len(parts) == 1 else b"".join(parts)


def decrypt_bytes(key: bytes, context: bytes, data: bytes) -> bytes:
    return b"".join(decrypt_stream([data], key, context))
