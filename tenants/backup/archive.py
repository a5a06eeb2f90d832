"""The encrypted container of a tenant export: a tar stream sealed with the
archive's AES-256-GCM chunk format (``documents.crypto``) under a key derived
from a passphrase with scrypt.

File layout::

    b"PTEX" | version (1) | scrypt log2(n) (1) | salt (16)  | sealed stream (documents.crypto format)

The 22-byte header is bound into every chunk's AAD (the context), so a changed
salt or version fails authentication like any other change; truncation and
reordering are refused by the chunk format itself. Neither side holds more than
one chunk of the stream (objects are held one at a time by the caller).
"""

from __future__ import annotations

import io
import os
import struct

from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from documents import crypto

MAGIC = b"PTEX"
VERSION = 1
SCRYPT_LOG_N = 15
HEADER_LEN = 22
READ = 1024 * 1024
MIN_PASSPHRASE = 12


class ArchiveError(ValueError):
    """Not an export archive, a wrong passphrase, or a damaged file."""


def _key(passphrase: str, salt: bytes, log_n: int) -> bytes:
    if len(passphrase) < MIN_PASSPHRASE:
        raise ArchiveError(f"the passphrase must be at least {MIN_PASSPHRASE} characters")
    if not 10 <= log_n <= 20:
        raise ArchiveError("bad key derivation parameters")
    return Scrypt(salt=salt, length=32, n=2 ** log_n, r=8, p=1).derive(passphrase.encode())


def _context(header: bytes) -> bytes:
    return b"portal-tenant-export:" + header


class EncryptedWriter(io.RawIOBase):
    """A write-only file object: what is written is sealed into ``fh``."""

    def __init__(self, fh, passphrase: str):
        super().__init__()
        salt = os.urandom(16)
        header = MAGIC + struct.pack(">BB", VERSION, SCRYPT_LOG_N) + salt
        self._fh = fh
        self._parts: list[bytearray] = []
        fh.write(header)
        self._enc = crypto.StreamEncryptor(_key(passphrase, salt, SCRYPT_LOG_N), _context(header), self._reserve)
        self._drain()

    def _reserve(self, n: int) -> memoryview:
        part = bytearray(n)
        self._parts.append(part)
        return memoryview(part)

    def _drain(self) -> None:
        for part in self._parts:
            self._fh.write(part)
        self._parts.clear()

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._enc.write(data)
        self._drain()
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._enc.close()
            self._drain()
            self._fh.flush()
        super().close()


class EncryptedReader(io.RawIOBase):
    """A read-only file object over a sealed ``fh``; raises ArchiveError on a
    wrong passphrase or any damage (at the latest when the end is read)."""

    def __init__(self, fh, passphrase: str):
        super().__init__()
        header = fh.read(HEADER_LEN)
        if len(header) != HEADER_LEN or header[:4] != MAGIC or header[4] != VERSION:
            raise ArchiveError("this is not a tenant export archive")
        self._fh = fh
        self._dec = crypto.StreamDecryptor(_key(passphrase, header[6:], header[5]), _context(header))
        self._buf = bytearray()
        self._eof = False

    def readable(self) -> bool:
        return True

    def _fill(self) -> None:
        while not self._buf and not self._eof:
            block = self._fh.read(READ)
            try:
                if block:
                    for piece in self._dec.feed(block):
                        self._buf += piece
                else:
                    self._eof = True
                    self._buf += self._dec.finish()
            except crypto.DecryptionError as exc:
                raise ArchiveError("wrong passphrase, or the archive is damaged") from exc

    def readinto(self, target) -> int:
        self._fill()
        n = min(len(target), len(self._buf))
        target[:n] = self._buf[:n]
        del self._buf[:n]
        return n
