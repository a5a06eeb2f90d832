"""No template carries inline script or inline style (the CSP refuses both), and
the multipart CSRF reader finds the token in the head of a body, whatever the chunking."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from portal.web.multipart_field import leading_field

TEMPLATES = Path(__file__).resolve().parents[2] / "portal" / "templates"
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>\s*\S", re.IGNORECASE)
HANDLER_ATTRIBUTE = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
INLINE_STYLE = re.compile(r"<style\b|<[a-z][^>]*\sstyle\s*=", re.IGNORECASE | re.DOTALL)
SCRIPT_URL = re.compile(r"javascript:", re.IGNORECASE)


def _templates():
    return sorted(TEMPLATES.rglob("*.html"))


@pytest.mark.parametrize("pattern", [INLINE_SCRIPT, HANDLER_ATTRIBUTE, INLINE_STYLE, SCRIPT_URL],
                         ids=["inline-script", "on-handler", "inline-style", "javascript-url"])
def test_no_template_has_inline_code(pattern):
    assert _templates()
    offenders = [f"{path.relative_to(TEMPLATES)}: {match.group(0)[:60]!r}"
                 for path in _templates() for match in pattern.finditer(path.read_text())]
    assert offenders == []


@pytest.mark.parametrize("sample, found", [
    ('<script src="/static/a.js" defer></script>', False),
    ("<script>alert(1)</script>", True),
    ('<button onclick="x()">', True),
    ('<div\n  onload="x()">', True),
    ('<p style="color:red">', True),
    ("<p>the onion=good</p>", False),
])
def test_the_lint_patterns_catch_what_they_should(sample, found):
    hit = any(p.search(sample) for p in (INLINE_SCRIPT, HANDLER_ATTRIBUTE, INLINE_STYLE))
    assert hit is found


BOUNDARY = "----b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def _body(*parts: tuple[str, str | None, bytes]) -> bytes:
    out = b""
    for name, filename, value in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        out += f"--{BOUNDARY}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + value + b"\r\n"
    return out + f"--{BOUNDARY}--\r\n".encode()


def _receiver(body: bytes, chunk: int):
    messages = [{"type": "http.request", "body": body[i:i + chunk], "more_body": i + chunk < len(body)}
                for i in range(0, len(body), chunk)]
    read = []

    async def receive():
        read.append(messages[len(read)])
        return read[-1]

    return receive, read


@pytest.mark.parametrize("chunk", [1, 7, 64, 100_000])
def test_token_first_is_found_and_everything_read_is_handed_back(chunk):
    body = _body(("_csrf_token", None, b"tok-123"), ("title", None, "标题".encode()), ("file", "a.pdf", b"x" * 5000))
    receive, read = _receiver(body, chunk)
    token, buffered, more = asyncio.run(leading_field(CONTENT_TYPE, receive, "_csrf_token", limit=64 * 1024))
    assert token == "tok-123"
    assert buffered == b"".join(m["body"] for m in read) and body.startswith(buffered)
    assert more is (len(buffered) < len(body))


def test_token_after_other_small_fields_is_found():
    body = _body(("title", None, b"t"), ("_csrf_token", None, b"tok"), ("file", "a.pdf", b"x"))
    receive, _ = _receiver(body, 10)
    assert asyncio.run(leading_field(CONTENT_TYPE, receive, "_csrf_token", 64 * 1024))[0] == "tok"


def test_the_file_is_never_read_looking_for_a_token_behind_it():
    body = _body(("file", "a.pdf", b"x" * 1_000_000), ("_csrf_token", None, b"tok"))
    receive, read = _receiver(body, 1000)
    token, buffered, more = asyncio.run(leading_field(CONTENT_TYPE, receive, "_csrf_token", 64 * 1024))
    assert token is None and more and len(read) == 1


def test_an_endless_field_stops_at_the_limit():
    body = _body(("title", None, b"y" * 1_000_000), ("_csrf_token", None, b"tok"))
    receive, read = _receiver(body, 4096)
    token, buffered, more = asyncio.run(leading_field(CONTENT_TYPE, receive, "_csrf_token", 64 * 1024))
    assert token is None and more and len(buffered) <= 64 * 1024 + 4096
