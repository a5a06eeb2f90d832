"""Virus scanning of uploads by clamd, streamed while the upload is stored.

clamd's INSTREAM command (``zINSTREAM\\0``, then chunks each preceded by its
length as a 4-byte big-endian number, then a zero length) scans a stream without
a shared file system; the answer is ``stream: OK`` or ``stream: <name> FOUND``.
The scan fails closed: an unreachable scanner or an error answer refuses the
upload. Blocking socket calls: used from the upload thread.
"""

from __future__ import annotations

import socket
import struct

from documents.sniff import Refused
from portal.core.errors import DomainError

TIMEOUT_SECONDS = 60  # per socket operation; clamd answers after scanning the whole stream
CHUNK = 1024 * 1024
MAX_REPLY = 4096

MSG_INFECTED = "The virus scanner found malware in this file. It was not accepted."
MSG_UNSCANNED = "The virus scanner could not check this file, so it was not accepted. Try again later."


class ScannerUnavailable(DomainError):
    """The virus scanner cannot be reached, so uploads are refused for now. Try again later."""

    status_code = 503
    code = "scanner_unavailable"


def _connect(address: str) -> socket.socket:
    if "/" in address:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        target: str | tuple[str, int] = address
    else:
        host, _, port = address.rpartition(":")
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        target = (host.strip("[]"), int(port))
    sock.settimeout(TIMEOUT_SECONDS)
    try:
        sock.connect(target)
    except BaseException:
        sock.close()
        raise
    return sock


class ClamdScan:
    """One INSTREAM scan: ``write`` the bytes, then ``verdict()`` (raises unless clean)."""

    def __init__(self, address: str):
        try:
            self._sock = _connect(address)
            self._sock.sendall(b"zINSTREAM\0")
        except (OSError, ValueError) as exc:
            raise ScannerUnavailable() from exc
        self._cut_off = False  # clamd closed the stream early (e.g. its size limit); its answer says why

    def _send(self, *parts) -> None:
        if self._cut_off:
            return
        try:
            for part in parts:
                self._sock.sendall(part)
        except OSError:
            self._cut_off = True

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        for start in range(0, len(view), CHUNK):
            part = view[start:start + CHUNK]
            self._send(struct.pack(">I", len(part)), part)

    def verdict(self) -> None:
        self._send(struct.pack(">I", 0))
        try:
            reply = self._read_reply()
        except OSError as exc:
            raise ScannerUnavailable() from exc
        if reply.endswith(b"FOUND"):
            raise Refused(MSG_INFECTED)
        if reply != b"stream: OK":
            raise Refused(MSG_UNSCANNED)

    def _read_reply(self) -> bytes:
        reply = b""
        while not reply.endswith(b"\0") and len(reply) < MAX_REPLY:
            data = self._sock.recv(MAX_REPLY)
            if not data:
                break
            reply += data
        if not reply:
            raise ConnectionError("clamd closed the connection without an answer")
        return reply.rstrip(b"\0\n").strip()

    def close(self) -> None:
        self._sock.close()
