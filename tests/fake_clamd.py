"""A small clamd stand-in speaking the real INSTREAM protocol (signature updates
cannot be fetched here, so no real clamd): ``zINSTREAM\\0``, chunks each preceded
by a 4-byte big-endian length, a zero length to end; the answer is
``stream: OK\\0`` or ``stream: Eicar-Test-Signature FOUND\\0``; past
``max_stream`` bytes it answers clamd's size-limit error and closes."""

from __future__ import annotations

import socket
import struct
import threading
from pathlib import Path

# The standard antivirus test file (harmless by design), built in two parts so
# this source file itself is not flagged by a scanner.
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")


class FakeClamd:
    def __init__(self, path: Path | None = None, max_stream: int = 64 * 1024 * 1024):
        """Listens on the unix socket ``path``, or on a free TCP port of 127.0.0.1."""
        self.max_stream = max_stream
        self.streams: list[bytes] = []  # what each completed scan received
        self.protocol_errors: list[str] = []
        self._path = path
        self._server = socket.socket(socket.AF_UNIX if path else socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(str(path) if path else ("127.0.0.1", 0))
        self._server.listen(8)
        # The value of PORTAL_CLAMD_SOCKET that reaches this server.
        self.address = str(path) if path else "127.0.0.1:%d" % self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, name="fake-clamd", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.close()
        if self._path:
            Path(self._path).unlink(missing_ok=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            threading.Thread(target=self._scan, args=(conn,), daemon=True).start()

    def _scan(self, conn: socket.socket) -> None:
        with conn:
            reader = conn.makefile("rb")
            command = reader.read(len(b"zINSTREAM\0"))
            if command != b"zINSTREAM\0":
                self.protocol_errors.append(f"command {command!r}")
                conn.sendall(b"UNKNOWN COMMAND\0")
                return
            data = bytearray()
            while True:
                header = reader.read(4)
                if len(header) != 4:
                    self.protocol_errors.append("stream cut before the zero-length chunk")
                    return
                (length,) = struct.unpack(">I", header)
                if length == 0:
                    break
                chunk = reader.read(length)
                if len(chunk) != length:
                    self.protocol_errors.append("short chunk")
                    return
                data += chunk
                if len(data) > self.max_stream:
                    conn.sendall(b"INSTREAM size limit exceeded. ERROR\0")
                    return
            self.streams.append(bytes(data))
            verdict = b"stream: Eicar-Test-Signature FOUND" if EICAR in data else b"stream: OK"
            conn.sendall(verdict + b"\0")
