"""The upload checks without the web app: each Office limit on its own, bounded
memory on huge parts, markup found in text wherever a block boundary falls,
and the clamd client against a fake clamd speaking the real protocol."""

from __future__ import annotations

import random
import threading
import tracemalloc
import zipfile

import pytest

from documents import office
from documents.clamd import ClamdScan, ScannerUnavailable
from documents.sniff import Refused, Sniffer
from tests import upload_corpus as corpus
from tests.fake_clamd import EICAR, FakeClamd


def check(tmp_path, data: bytes) -> str:
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    return office.check_office(path)


def refusal(tmp_path, data: bytes) -> str:
    with pytest.raises(Refused) as caught:
        check(tmp_path, data)
    return caught.value.message


def noise(size: int) -> bytes:
    """Incompressible bytes (so only the limit under test applies)."""
    return random.Random(size).randbytes(size)


def test_valid_office_files_pass(tmp_path):
    assert [check(tmp_path, corpus.office(kind)) for kind in ("docx", "xlsx", "pptx")] == ["docx", "xlsx", "pptx"]


@pytest.mark.parametrize("limit,lenient,strict,data", [
    ("MAX_ENTRIES", office.MAX_ENTRIES, 10, lambda: corpus.many_entries(11)),
    ("MAX_ENTRY_BYTES", office.MAX_ENTRY_BYTES, 2 * corpus.MIB, lambda: corpus.office(body=noise(3 * corpus.MIB))),
    ("MAX_TOTAL_BYTES", office.MAX_TOTAL_BYTES, 3 * corpus.MIB, lambda: corpus.office(
        extra={f"word/p{i}.bin": noise(corpus.MIB + i) for i in range(3)})),
    # 2 MiB of zeros: ratio ~500, refused by the default limit
    ("MAX_RATIO", 10 ** 6, office.MAX_RATIO, lambda: corpus.bomb("word/document.xml", 2 * corpus.MIB)),
])
def test_each_office_limit_refuses_on_its_own(tmp_path, monkeypatch, limit, lenient, strict, data):
    sample = data()
    monkeypatch.setattr(office, limit, lenient)
    assert check(tmp_path, sample) == "docx"
    monkeypatch.setattr(office, limit, strict)
    assert refusal(tmp_path, sample) == office.MSG_OFFICE_TOO_BIG


def test_declared_sizes_that_lie_are_caught_by_the_crc(tmp_path):
    assert refusal(tmp_path, corpus.lying_sizes()) == office.MSG_CORRUPT_OFFICE


def test_only_stored_and_deflated_parts(tmp_path):
    assert refusal(tmp_path, corpus.office(compression=zipfile.ZIP_BZIP2)) == office.MSG_CORRUPT_OFFICE
    assert check(tmp_path, corpus.office(compression=zipfile.ZIP_STORED)) == "docx"


def test_huge_parts_are_read_in_small_blocks(tmp_path, monkeypatch):
    """With the size limits lifted, a 256 MiB content-types part and a 256 MiB
    document are still never held in memory (the first is refused at 1 MiB)."""
    monkeypatch.setattr(office, "MAX_ENTRY_BYTES", 1 << 40)
    monkeypatch.setattr(office, "MAX_TOTAL_BYTES", 1 << 40)
    monkeypatch.setattr(office, "MAX_RATIO", 1 << 20)
    types_bomb = corpus.bomb_content_types_256mib()
    document_bomb = corpus.bomb("word/document.xml", 256 * corpus.MIB)
    tracemalloc.start()
    try:
        assert refusal(tmp_path, types_bomb) == office.MSG_CORRUPT_OFFICE
        assert check(tmp_path, document_bomb) == "docx"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * corpus.MIB, peak


def sniff_text(pieces: list[bytes]) -> str:
    sniffer = Sniffer()
    sniffer.start(pieces[0][:8192])
    for piece in pieces:
        sniffer.feed(piece)
    return sniffer.finish(None).content_type


@pytest.mark.parametrize("markup", [b"<script>", b"<  svg onload=x>", b"<?xml ", b"<!DOCTYPE html>", b"<IFRAME",
                                    b"<img src=x>", b"<html"])
def test_markup_is_found_across_every_block_boundary(markup):
    text = b"a < b, lease text. " * 600 + markup + b" tail"
    at = text.index(markup)
    for cut in range(at - 2, at + len(markup) + 2):
        with pytest.raises(Refused):
            sniff_text([text[:cut], text[cut:]])


def test_a_whitespace_run_split_over_many_blocks_still_counts():
    pieces = [b"notes " * 2000, b"<", *[b" " * 1000] * 50, b"scr", b"ipt>x"]
    with pytest.raises(Refused):
        sniff_text(pieces)


@pytest.mark.parametrize("text", [
    b"price < 5000, <<contract>>, <li@example.cn>, a <b> c, <scriptx>, <htmlfoo",
    "租赁合同 <第三条> 联系人 <王>".encode("gb18030"),
])
def test_ordinary_angle_brackets_pass_wherever_the_blocks_are_cut(text):
    text = b"lease notes\n" * 800 + text
    for cut in range(len(text) - 80, len(text) + 1):
        assert sniff_text([text[:cut], text[cut:]] if cut < len(text) else [text]).startswith("text/plain")


@pytest.fixture
def clamd(tmp_path):
    server = FakeClamd(tmp_path / "clamd.sock", max_stream=4 * corpus.MIB)
    yield server
    server.close()


def scan(address: str, data: bytes, block: int = 300_000) -> None:
    scanner = ClamdScan(address)
    try:
        for start in range(0, len(data), block):
            scanner.write(data[start:start + block])
        scanner.verdict()
    finally:
        scanner.close()


def test_clean_stream_passes_and_clamd_received_every_byte(clamd):
    data = bytes(range(256)) * 9000
    scan(clamd.address, data)
    assert clamd.streams == [data] and not clamd.protocol_errors


def test_eicar_is_refused_even_split_across_chunks(clamd):
    data = b"x" * 299_990 + EICAR + b"y" * 1000
    with pytest.raises(Refused) as caught:
        scan(clamd.address, data)
    assert caught.value.message.startswith("The virus scanner found malware")


def test_scanner_error_answer_refuses(clamd):
    with pytest.raises(Refused) as caught:
        scan(clamd.address, bytes(6 * corpus.MIB))  # over the fake's StreamMaxLength
    assert caught.value.message.startswith("The virus scanner could not check")


def test_tcp_address():
    server = FakeClamd(None)
    try:
        scan(server.address, b"hello")
        assert server.streams == [b"hello"]
    finally:
        server.close()


@pytest.mark.parametrize("address", ["/nonexistent/clamd.sock", "127.0.0.1:1", "no-port"])
def test_unreachable_scanner_fails_closed(address):
    with pytest.raises(ScannerUnavailable):
        scan(address, b"hello")


def test_a_scanner_that_never_answers_fails_closed(tmp_path, monkeypatch):
    import socket

    monkeypatch.setattr("documents.clamd.TIMEOUT_SECONDS", 0.5)
    silent = socket.socket(socket.AF_UNIX)
    silent.bind(str(tmp_path / "silent.sock"))
    silent.listen(1)
    held = []
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    try:
        with pytest.raises(ScannerUnavailable):
            scan(str(tmp_path / "silent.sock"), b"hello")
    finally:
        silent.close()


def test_every_refusal_message_is_translated():
    from documents import clamd, sniff
    from portal.core import i18n

    messages = [value for module in (sniff, clamd) for name, value in vars(module).items() if name.startswith("MSG_")]
    messages.append(ScannerUnavailable().message)
    missing = [m for m in messages if m not in i18n.catalog_ids("zh")]
    assert len(messages) > 10 and not missing, missing
