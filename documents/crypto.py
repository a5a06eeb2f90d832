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

def _aad(header: bytes, context: bytes, last: bool) -> bytes:
    return header + struct.pack(">H", len(context)) + context + (b"\x01" if last else b"\x00")


def ciphertext_size(plain_size: int, chunk: int = CHUNK) -> int:
    chunks = max(1, -(-plain_size // chunk))
    return HEADER_LEN + plain_size + chunks * TAG


class Sealer:
    """Encrypts consecutive chunks of one object."""

    def __init__(self, key: bytes, context: bytes, chunk: int = CHUNK):
        self.chunk = chunk
        self.header = MAGIC + bytes([VERSION]) + struct.pack(">I", chunk) + os.urandom(8)
        self._aead = AESGCM(key)
        self._context = context
        self._counter = 0
        self._finished = False

    def seal(self, plaintext: bytes, last: bool) -> bytes:
        if self._finished:
            raise RuntimeError("the last chunk was already sealed")
        if len(plaintext) > self.chunk:
            raise ValueError("chunk too large")
        nonce = self.header[8:16] + struct.pack(">I", self._counter)
        self._counter += 1
        self._finished = last
        return self._aead.encrypt(nonce, bytes(plaintext), _aad(self.header, self._context, last))


class EncryptingReader:
    """A file-like ``read(n)`` of ciphertext, pulling plaintext from ``pull()``
    (which returns b"" at the end). Holds at most about two chunks."""

    def __init__(self, pull: Callable[[], bytes], key: bytes, context: bytes, chunk: int = CHUNK):
        self._pull = pull
        self._sealer = Sealer(key, context, chunk)
        self._chunk = chunk
        self._pending = bytearray()
        self._out = bytearray(self._sealer.header)
        self._eof = False
        self._done = False

    def _step(self) -> None:
        while len(self._pending) <= self._chunk and not self._eof:
            data = self._pull()
            if not data:
                self._eof = True
            else:
                self._pending += data
        if len(self._pending) > self._chunk:
            self._out += self._sealer.seal(self._pending[: self._chunk], last=False)
            del self._pending[: self._chunk]
        else:
            self._out += self._sealer.seal(self._pending, last=True)
            self._pending.clear()
            self._done = True

    def read(self, n: int = -1) -> bytes:
        while (n is None or n < 0 or len(self._out) < n) and not self._done:
            self._step()
        if n is None or n < 0 or n >= len(self._out):
            data = bytes(self._out)
            self._out = bytearray()
            return data
        with memoryview(self._out) as view:
            data = bytes(view[:n])  # one copy, no intermediate slice
        del self._out[:n]
        return data


def encrypt_bytes(key: bytes, context: bytes, data: bytes, chunk: int = CHUNK) -> bytes:
    parts = [data[i:i + chunk] for i in range(0, len(data), chunk)] or [b""]
    pending = iter(parts)
    return EncryptingReader(lambda: next(pending, b""), key, context, chunk).read()


class _Buffered:
    """Exact-size reads over an iterator of byte blocks."""

    def __init__(self, blocks: Iterable[bytes]):
        self._blocks = iter(blocks)
        self._buf = bytearray()

    def read(self, n: int) -> bytes:
        while len(self._buf) < n:
            block = next(self._blocks, None)
            if block is None:
                break
            self._buf += block
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data


def decrypt_stream(blocks: Iterable[bytes], key: bytes, context: bytes) -> Iterator[bytes]:
    """Plaintext chunks of an object given as an iterator of ciphertext blocks.
    Raises DecryptionError on any tampering, truncation or wrong key/context."""
    source = _Buffered(blocks)
    header = source.read(HEADER_LEN)
    if len(header) != HEADER_LEN or header[:3] != MAGIC or header[3] != VERSION:
        raise DecryptionError("not an encrypted archive object")
    chunk = struct.unpack(">I", header[4:8])[0]
    if not 0 < chunk <= 16 * 1024 * 1024:
        raise DecryptionError("bad chunk size")
    aead = AESGCM(key)
    counter = 0
    current = source.read(chunk + TAG)
    while True:
        if len(current) < TAG:
            raise DecryptionError("truncated object")
        following = source.read(chunk + TAG) if len(current) == chunk + TAG else b""
        last = not following
        nonce = header[8:16] + struct.pack(">I", counter)
        try:
            yield aead.decrypt(nonce, current, _aad(header, context, last))
        except InvalidTag as exc:
            raise DecryptionError("the object failed authentication") from exc
        if last:
            return
        counter += 1
        current = following


def decrypt_bytes(key: bytes, context: bytes, data: bytes) -> bytes:
    return b"".join(decrypt_stream([data], key, context))
