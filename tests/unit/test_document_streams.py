"""documents.crypto streaming and documents.upload_stream part building, without S3:
the object format stays the documented one (checked against a reference reader
written from the spec), any split of the input gives the same plaintext, damage
is refused, and an upload's parts are S3-sized, bounded in number and aborted
on failure."""

from __future__ import annotations

import os
import random
import struct
import threading

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from documents import crypto
from documents.upload_stream import PART_SIZE, UPLOAD_PARALLEL, _PartWriter

KEY = bytes(range(32))
CONTEXT = b"portal-doc:tenants/000042/0123456789abcdef0123456789abcdef"
SIZES = [0, 1, 1000, crypto.CHUNK - 1, crypto.CHUNK, crypto.CHUNK + 1, 3 * crypto.CHUNK, 3 * crypto.CHUNK + 7]


def reference_decrypt(key: bytes, context: bytes, data: bytes) -> bytes:
    """The format as the crypto module's docstring describes it."""
    header = data[:16]
    assert header[:3] == b"TAE" and header[3] == 1
    chunk = struct.unpack(">I", header[4:8])[0]
    records = [data[i:i + chunk + 16] for i in range(16, len(data), chunk + 16)]
    out = []
    for i, record in enumerate(records):
        last = i == len(records) - 1
        aad = header + struct.pack(">H", len(context)) + context + (b"\x01" if last else b"\x00")
        out.append(AESGCM(key).decrypt(header[8:16] + struct.pack(">I", i), record, aad))
    return b"".join(out)


def split(data: bytes, rng: random.Random) -> list[bytes]:
    pieces, i = [], 0
    while i < len(data):
        n = rng.choice([1, 5, 16, 1000, crypto.CHUNK - 1, crypto.CHUNK, crypto.RECORD, crypto.RECORD + 1, 300_000])
        pieces.append(data[i:i + n])
        i += n
    return pieces


def stream_encrypt(pieces: list[bytes]) -> bytes:
    out = bytearray()

    def reserve(n: int) -> memoryview:
        out.extend(bytes(n))
        return memoryview(out)[len(out) - n:]

    encryptor = crypto.StreamEncryptor(KEY, CONTEXT, reserve)
    for piece in pieces:
        encryptor.write(piece)
    encryptor.close()
    return bytes(out)


@pytest.mark.parametrize("size", SIZES)
def test_stream_format_matches_the_spec_for_any_split(size):
    rng = random.Random(size)
    data = os.urandom(size)
    sealed = stream_encrypt(split(data, rng))
    assert len(sealed) == crypto.ciphertext_size(size)
    assert reference_decrypt(KEY, CONTEXT, sealed) == data
    assert reference_decrypt(KEY, CONTEXT, crypto.encrypt_bytes(KEY, CONTEXT, data)) == data
    assert b"".join(crypto.decrypt_stream(split(sealed, rng), KEY, CONTEXT)) == data
    assert b"".join(crypto.decrypt_stream(split(sealed, rng), KEY, CONTEXT, 200_000)) == data
    assert crypto.decrypt_bytes(KEY, CONTEXT, sealed) == data


def test_damage_is_refused():
    data = os.urandom(3 * crypto.CHUNK + 100)
    sealed = crypto.encrypt_bytes(KEY, CONTEXT, data)
    record = crypto.RECORD
    flipped = bytearray(sealed)
    flipped[40] ^= 1
    damaged = {
        "bit flip": bytes(flipped),
        "truncated by a byte": sealed[:-1],
        "cut after a whole chunk": sealed[:16 + record],
        "chunk dropped": sealed[:16] + sealed[16 + record:],
        "chunks swapped": sealed[:16] + sealed[16 + record:16 + 2 * record] + sealed[16:16 + record]
        + sealed[16 + 2 * record:],
        "extended": sealed + b"\x00" * 20,
        "header only": sealed[:16],
        "short header": sealed[:10],
    }
    for name, blob in damaged.items():
        with pytest.raises(crypto.DecryptionError):
            b"".join(crypto.decrypt_stream(split(blob, random.Random(1)), KEY, CONTEXT))
            pytest.fail(name)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(KEY, CONTEXT + b"x", sealed)  # another object's context
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_bytes(bytes(32), CONTEXT, sealed)  # another key


class FakeStorage:
    """Records the multipart calls; parts upload slowly so they overlap."""

    def __init__(self, fail_part: int | None = None):
        self.parts: dict[int, bytes] = {}
        self.single: bytes | None = None
        self.aborted = self.completed = False
        self.fail_part = fail_part
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()

    def create_multipart(self, key):
        return "upload-1"

    def upload_part(self, key, upload_id, number, data):
        import time

        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(0.01)
            if number == self.fail_part:
                raise OSError("S3 went away")
            self.parts[number] = bytes(data)
            return f"etag-{number}"
        finally:
            with self.lock:
                self.in_flight -= 1

    def complete_multipart(self, key, upload_id, etags):
        assert etags == [f"etag-{n}" for n in range(1, len(etags) + 1)]
        self.completed = True
        return "v1"

    def abort_multipart(self, key, upload_id):
        self.aborted = True

    def put_object_bytes(self, key, data):
        self.single = bytes(data)
        return "v0"


def write_object(storage, data: bytes) -> tuple[_PartWriter, str]:
    writer = _PartWriter(storage, "tenants/000042/x")
    encryptor = crypto.StreamEncryptor(KEY, CONTEXT, writer.reserve)
    for i in range(0, len(data), 1 << 20):
        encryptor.write(data[i:i + (1 << 20)])
    encryptor.close()
    writer.send_rest()
    return writer, writer.complete()


def test_parts_are_s3_sized_and_bounded():
    data = os.urandom(3 * PART_SIZE + 12345)
    storage = FakeStorage()
    writer, version = write_object(storage, data)
    assert version == "v1" and storage.completed and not storage.aborted
    sizes = [len(storage.parts[n]) for n in sorted(storage.parts)]
    assert all(5 * 1024 * 1024 <= s <= PART_SIZE for s in sizes[:-1]) and sizes[-1] > 0
    assert reference_decrypt(KEY, CONTEXT, b"".join(storage.parts[n] for n in sorted(storage.parts))) == data
    assert storage.max_in_flight <= UPLOAD_PARALLEL
    assert writer._allocated <= UPLOAD_PARALLEL + 1  # the memory bound


def test_small_object_is_one_put():
    data = os.urandom(PART_SIZE - crypto.HEADER_LEN - 80 * crypto.TAG)  # fills exactly one part
    storage = FakeStorage()
    _, version = write_object(storage, data)
    assert version == "v0" and not storage.parts and len(storage.single) == PART_SIZE
    assert reference_decrypt(KEY, CONTEXT, storage.single) == data


def test_a_failed_part_aborts_the_upload():
    storage = FakeStorage(fail_part=2)
    writer = _PartWriter(storage, "tenants/000042/x")
    with pytest.raises(OSError):
        try:
            encryptor = crypto.StreamEncryptor(KEY, CONTEXT, writer.reserve)
            for _ in range(4 * PART_SIZE // (1 << 20)):
                encryptor.write(os.urandom(1 << 20))
            encryptor.close()
            writer.complete()
        except BaseException:
            writer.abort()  # what documents.upload_stream._store does
            raise
    assert storage.aborted and not storage.completed


def test_the_sdk_still_has_the_multipart_calls_storage_uses():
    """documents.storage sends parts itself with the calls Minio.put_object makes;
    an SDK upgrade that renames them must fail here, not in production."""
    import inspect

    from minio import Minio

    expected = {
        "_create_multipart_upload": ["bucket_name", "object_name", "headers"],
        "_upload_part": ["bucket_name", "object_name", "data", "headers", "upload_id", "part_number"],
        "_complete_multipart_upload": ["bucket_name", "object_name", "upload_id", "parts"],
        "_abort_multipart_upload": ["bucket_name", "object_name", "upload_id"],
    }
    for name, params in expected.items():
        signature = inspect.signature(getattr(Minio, name))
        assert list(signature.parameters)[1:len(params) + 1] == params, name
