"""Generated upload files, hostile and valid, for the upload tests.

Each builder returns bytes; the expensive ones are cached (one build per run).
``CORPUS`` lists (case id, file name, builder, expected outcome): "ok" or the
start of the English refusal message.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile

from tests.fake_clamd import EICAR

MIB = 1024 * 1024

OFFICE_TYPES = {
    "docx": ("word/document.xml", "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"),
    "pptx": ("ppt/presentation.xml",
             "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"),
}


def content_types(kind: str) -> bytes:
    part, ctype = OFFICE_TYPES[kind]
    return (f'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            f'content-types"><Override PartName="/{part}" ContentType="{ctype}"/></Types>').encode()


def office(kind: str = "docx", body: bytes | None = None, extra: dict[str, bytes] | None = None,
           compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A minimal Office container of ``kind``."""
    part, _ = OFFICE_TYPES[kind]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("[Content_Types].xml", content_types(kind))
        archive.writestr("_rels/.rels", b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
                                        b'relationships"/>')
        archive.writestr(part, body if body is not None else b"<document>lease</document>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _zeros_entry(archive: zipfile.ZipFile, name: str, size: int) -> None:
    """An entry of ``size`` zero bytes, written block by block (never whole in memory)."""
    info = zipfile.ZipInfo(name)
    info.compress_type = zipfile.ZIP_DEFLATED
    block = bytes(MIB)
    with archive.open(info, "w", force_zip64=size > 2 ** 31) as out:
        for start in range(0, size, MIB):
            out.write(block[:min(MIB, size - start)])


def bomb(entry: str, size: int, kind: str = "docx") -> bytes:
    """An Office file one of whose parts is ``size`` zero bytes."""
    part, _ = OFFICE_TYPES[kind]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        if entry != "[Content_Types].xml":
            archive.writestr("[Content_Types].xml", content_types(kind))
        _zeros_entry(archive, entry, size)
        if entry != part:
            archive.writestr(part, b"<document/>")
    return buffer.getvalue()


@functools.cache
def bomb_document_1gib() -> bytes:
    return bomb("word/document.xml", 1024 * MIB)


@functools.cache
def bomb_content_types_256mib() -> bytes:
    return bomb("[Content_Types].xml", 256 * MIB)


def many_entries(count: int = 6000) -> bytes:
    return office(extra={f"word/media/part{i}.xml": b"<p/>" for i in range(count)})


def lying_sizes() -> bytes:
    """The directory declares a 1 KiB part that really inflates to 8 MiB."""
    data = bytearray(bomb("word/document.xml", 8 * MIB))
    real = struct.pack("<I", 8 * MIB)
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            at = start + offset
            if data[at:at + 4] == real:
                data[at:at + 4] = struct.pack("<I", 1024)
            start += 4
    return bytes(data)


def text_with_late_markup(markup: bytes, before: int = 9000, encoding: str = "utf-8") -> bytes:
    line = "租赁合同补充说明，第三条。\n".encode(encoding)
    return line * (before // len(line) + 1) + markup + b"\n" + line


def pdf(pages: int = 1) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def image(fmt: str, comment: bytes = b"") -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    options = {"comment": comment} if comment else {}
    Image.new("RGB", (32, 24), (20, 120, 60)).save(buffer, fmt, **options)
    return buffer.getvalue()


def ole(stream_name: str) -> bytes:
    """A compound file (legacy .doc/.xls) header followed by a directory naming ``stream_name``."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    return header + stream_name.encode("utf-16-le") + bytes(2048)


def stored_zip(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return buffer.getvalue()


TEXT = "往来函件：关于空调维修，租金 < 5000 元，<<合同>> 第 3 条，联系 <li@example.cn>。\n"
ZIP_LIMIT = "This Office document unpacks to far more data"
CORRUPT_OFFICE = "This Office document is damaged"
MARKUP = "This file contains web page code"
PROGRAM = "This file is a program"
DAMAGED_PDF = "This PDF is damaged"
NOT_ACCEPTED = "This file type is not accepted"
UTF16 = "This text file is in UTF-16"

CORPUS = [
    # Zip bombs and hostile containers renamed .docx/.xlsx
    ("bomb-1gib-document", "report.docx", bomb_document_1gib, ZIP_LIMIT),
    ("bomb-256mib-content-types", "report.docx", bomb_content_types_256mib, ZIP_LIMIT),
    ("bomb-ratio-8mib", "report.docx", lambda: bomb("word/document.xml", 8 * MIB), ZIP_LIMIT),
    ("bomb-sheet", "sheet.xlsx", lambda: bomb("xl/worksheets/sheet1.xml", 200 * MIB, "xlsx"), ZIP_LIMIT),
    ("many-entries", "report.docx", many_entries, ZIP_LIMIT),
    ("lying-sizes", "report.docx", lying_sizes, CORRUPT_OFFICE),
    ("bzip2-parts", "report.docx", lambda: office(compression=zipfile.ZIP_BZIP2), CORRUPT_OFFICE),
    ("jar-as-docx", "report.docx", lambda: stored_zip({"META-INF/MANIFEST.MF": b"Main-Class: X\n"}),
     CORRUPT_OFFICE),
    ("truncated-docx", "report.docx", lambda: office()[:300], CORRUPT_OFFICE),
    # Markup in text, anywhere
    ("svg-after-9kb", "letter.txt", lambda: text_with_late_markup(b"<svg onload=alert(1)>"), MARKUP),
    ("script-after-1mib", "letter.txt", lambda: text_with_late_markup(b"<SCRIPT>x()</script>", MIB + 5), MARKUP),
    ("spaced-tag-late", "letter.txt", lambda: text_with_late_markup(b"<  iframe src=//x>"), MARKUP),
    ("xml-at-the-end", "notes.txt", lambda: text_with_late_markup(b"<?xml version='1.0'?>", 20000)[:-40], MARKUP),
    ("gb18030-late-html", "letter.txt", lambda: text_with_late_markup(b"<html><body>x", 9000, "gb18030"), MARKUP),
    ("img-onerror", "letter.txt", lambda: text_with_late_markup(b"<img src=x onerror=alert(1)>"), MARKUP),
    # Markup disguised as images, polyglots
    ("html-as-png", "photo.png", lambda: b"<!DOCTYPE html><html><script>alert(1)</script></html>", MARKUP),
    ("svg-as-jpg", "photo.jpg", lambda: b"\xef\xbb\xbf<svg xmlns='http://www.w3.org/2000/svg'/>", MARKUP),
    ("html-then-pdf", "scan.pdf", lambda: b"<html><script>x()</script>" + pdf(), MARKUP),
    ("html-then-zip", "report.docx", lambda: b"<html><body>" + office(), MARKUP),
    ("jpeg-with-html-comment", "photo.jpg", lambda: image("JPEG", b"<script>alert(1)</script>"), "ok"),
    # Programs with document names
    ("pe-as-docx", "report.docx", lambda: b"MZ\x90\x00" + bytes(4000), PROGRAM),
    ("elf-as-pdf", "scan.pdf", lambda: b"\x7fELF\x02\x01\x01" + bytes(4000), PROGRAM),
    ("macho-as-xlsx", "sheet.xlsx", lambda: b"\xcf\xfa\xed\xfe" + bytes(4000), PROGRAM),
    ("script-as-txt", "notes.txt", lambda: b"#!/bin/sh\nrm -rf /\n", PROGRAM),
    ("wasm-as-doc", "old.doc", lambda: b"\x00asm\x01\x00\x00\x00" + bytes(100), PROGRAM),
    ("ole-without-document", "old.doc", lambda: ole("Installer"), CORRUPT_OFFICE),
    # Damaged PDFs
    ("truncated-pdf", "scan.pdf", lambda: pdf(3)[:400], DAMAGED_PDF),
    ("pdf-without-eof", "scan.pdf", lambda: pdf().replace(b"%%EOF", b"%%XXX"), DAMAGED_PDF),
    # Text encodings
    ("utf16le-bom", "letter.txt", lambda: "\ufeff租赁合同".encode("utf-16-le"), UTF16),
    ("utf16be-bom", "letter.txt", lambda: "\ufeff租赁合同".encode("utf-16-be"), UTF16),
    ("utf16-no-bom", "letter.txt", lambda: "lease".encode("utf-16-le"), NOT_ACCEPTED),
    ("random-binary", "data.docx", lambda: bytes(range(256)) * 40, NOT_ACCEPTED),
    # Valid files that must still pass
    ("valid-pdf", "scan.pdf", lambda: pdf(2), "ok"),
    ("valid-png", "scan.png", lambda: image("PNG"), "ok"),
    ("valid-jpeg", "scan.jpg", lambda: image("JPEG"), "ok"),
    ("valid-tiff", "scan.tif", lambda: image("TIFF"), "ok"),
    ("valid-docx", "report.docx", lambda: office("docx"), "ok"),
    ("valid-xlsx", "sheet.xlsx", lambda: office("xlsx"), "ok"),
    ("valid-pptx", "slides.pptx", lambda: office("pptx"), "ok"),
    ("valid-large-docx", "contract.docx", lambda: office("docx", "".join(
        f"<w:p><w:r><w:t>租赁合同第{i}条：甲方同意按期支付租金。</w:t></w:r></w:p>" for i in range(60000)).encode()),
     "ok"),
    ("valid-doc", "old.doc", lambda: ole("WordDocument"), "ok"),
    ("valid-xls", "old.xls", lambda: ole("Workbook"), "ok"),
    ("valid-utf8", "letter.txt", lambda: (TEXT * 2000).encode(), "ok"),
    ("valid-utf8-bom", "letter.txt", lambda: b"\xef\xbb\xbf" + (TEXT * 10).encode(), "ok"),
    ("valid-gb18030", "letter.txt", lambda: (TEXT * 10).encode("gb18030"), "ok"),
]

# Files the scanner must catch though every other check passes them (the part is
# stored uncompressed: the fake clamd, unlike the real one, does not unpack zips).
EICAR_TEXT = EICAR
EICAR_IN_DOCX = office(extra={"word/media/eicar.bin": EICAR}, compression=zipfile.ZIP_STORED)
