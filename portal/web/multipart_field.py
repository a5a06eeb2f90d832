"""Read one small field from the head of a multipart body, before any file.

The upload forms carry their CSRF token as a hidden field placed before the
file input, so the browser sends it before the file: the CSRF check reads at
most ``limit`` bytes of the body, never the file, and hands what it read
back to the handler (the token stays out of URLs and access logs).
"""

from __future__ import annotations

import re

from litestar.types import Receive

_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_NAME = re.compile(rb';\s*name="([^"]*)"', re.IGNORECASE)
_FILENAME = re.compile(rb';\s*filename\*?=', re.IGNORECASE)


def _find_field(buffer: bytes, delimiter: bytes, field: bytes) -> tuple[str, bytes | None]:
    """("found", value) | ("absent", None) | ("more", None) when the buffer ends too soon."""
    start = buffer.find(delimiter)
    if start < 0:
        return ("more", None)
    pos = start + len(delimiter)
    while True:
        if buffer[pos:pos + 2] == b"--":  # the closing delimiter: no more parts
            return ("absent", None)
        head_end = buffer.find(b"\r\n\r\n", pos)
        if head_end < 0:
            return ("more", None)
        head = buffer[pos:head_end]
        if _FILENAME.search(head):  # a file comes before the field: refuse rather than read it
            return ("absent", None)
        value_end = buffer.find(b"\r\n" + delimiter, head_end + 4)
        if value_end < 0:
            return ("more", None)
        name = _NAME.search(head)
        if name and name.group(1) == field:
            return ("found", buffer[head_end + 4:value_end])
        pos = value_end + 2 + len(delimiter)


async def leading_field(content_type: str, receive: Receive, field: str,
                        limit: int) -> tuple[str | None, bytes, bool] | None:
    """(value or None, the bytes read, whether more body follows); None when the client went away."""
    boundary = _BOUNDARY.search(content_type)
    chunks: list[bytes] = []
    more_body = True
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        more_body = bool(message.get("more_body"))
        buffer = b"".join(chunks)
        if boundary is None:
            return (None, buffer, more_body)
        state, value = _find_field(buffer, b"--" + boundary.group(1).encode("latin-1"), field.encode())
        if state == "found":
            return (value.decode("utf-8", "replace"), buffer, more_body)
        if state == "absent" or not more_body or len(buffer) > limit:
            return (None, buffer, more_body)
