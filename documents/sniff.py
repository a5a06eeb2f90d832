"""Deciding a file's type by its content, never by its name.

``Sniffer.start(head)`` refuses executables, markup and unknown formats from the
first bytes; ``feed`` watches the whole stream (NUL bytes, text decoding, markup
anywhere in a text file); ``finish(path)`` runs the parse check on the spooled
copy (pypdf opens the PDF, Pillow verifies the image, ``documents.office``
checks the Office container with bounded work).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from portal.core.errors import DomainError

HEAD_BYTES = 8192
# Families whose parse check in ``finish`` reads the whole file (so it is spooled).
PARSE_CHECKED = frozenset({"pdf", "jpeg", "png", "tiff", "zip"})


class Refused(DomainError):
    """This file cannot be accepted."""

    status_code = 422
    code = "file_refused"


@dataclass(frozen=True)
class FileKind:
    kind: str  # pdf, jpeg, png, tiff, docx, xlsx, pptx, doc, xls, text
    content_type: str
    extension: str
    pages: int | None = None

    @property
    def inline_ok(self) -> bool:
        return self.kind in ("pdf", "jpeg", "png")

    @property
    def is_image(self) -> bool:
        return self.kind in ("jpeg", "png", "tiff")


CONTENT_TYPES = {
    "pdf": ("application/pdf", "pdf"),
    "jpeg": ("image/jpeg", "jpg"),
    "png": ("image/png", "png"),
    "tiff": ("image/tiff", "tif"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"),
    "doc": ("application/msword", "doc"),
    "xls": ("application/vnd.ms-excel", "xls"),
    "ole": ("application/x-ole-storage", "bin"),
    "text": ("text/plain; charset=utf-8", "txt"),
    "text-gb18030": ("text/plain; charset=gb18030", "txt"),
}

EXECUTABLE_MAGIC = (b"MZ", b"\x7fELF", b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe",
                    b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"#!", b"\x00asm", b"dex\n")
MARKUP = re.compile(rb"<\s*(!doctype|\?xml|html|head|body|script|iframe|frameset|frame|svg|math|object|embed"
                    rb"|applet|meta|link|base|style|form|img|template)\b", re.I)
# A tag opening cut off at the end of a block: kept (whitespace collapsed) for the next one.
MARKUP_CUT = re.compile(rb"<\s*([!?\w]{0,9})\Z")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")

MSG_EXECUTABLE = "This file is a program, not a document. Programs cannot be uploaded."
MSG_MARKUP = "This file contains web page code (HTML/SVG/XML) and cannot be accepted."
MSG_UNKNOWN = ("This file type is not accepted. Upload a PDF, a JPEG/PNG/TIFF scan, an Office document "
               "or a plain-text file.")
MSG_CORRUPT_PDF = "This PDF is damaged and cannot be opened."
MSG_CORRUPT_IMAGE = "This image is damaged and cannot be read."
MSG_CORRUPT_OFFICE = "This Office document is damaged or not a real Office file."
MSG_OFFICE_TOO_BIG = ("This Office document unpacks to far more data than a real document "
                      "(too many parts, or parts too large or too compressed) and cannot be accepted.")
MSG_BAD_TEXT = "This text file is not valid UTF-8 or GB18030 text."
MSG_UTF16_TEXT = "This text file is in UTF-16. Save it as UTF-8 and upload it again."
MSG_EMPTY = "The file is empty."


def _kind_of(head: bytes) -> str:
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(EXECUTABLE_MAGIC):
        raise Refused(MSG_EXECUTABLE)
    if head.startswith(b"%PDF-") or b"%PDF-" in head[:1024] and not MARKUP.search(head[:1024]):
        return "pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "ole"
    if head.startswith(UTF16_BOMS):
        raise Refused(MSG_UTF16_TEXT)
    if MARKUP.search(stripped[:HEAD_BYTES]):
        raise Refused(MSG_MARKUP)
    if b"\x00" in head:
        raise Refused(MSG_UNKNOWN)
    return "text"


class Sniffer:
    def __init__(self) -> None:
        self.kind: str | None = None
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._gb = codecs.getincrementaldecoder("gb18030")()
        self._utf8_ok = self._gb_ok = True
        self._nul = False
        self._tail = b""  # OLE: the end of the last block; text: a cut-off tag opening
        self._ole_names: set[str] = set()
        self.size = 0

    def start(self, head: bytes) -> str:
        """Decide the family from the first bytes; refuse early."""
        if not head:
            raise Refused(MSG_EMPTY)
        self.kind = _kind_of(head[:HEAD_BYTES])
        return self.kind

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.kind == "text":
            if b"\x00" in data:
                self._nul = True
            self._check_markup(data)
            if data.isascii() and not self._utf8.getstate()[0] and not self._gb.getstate()[0]:
                return  # ASCII is valid in both encodings; skip the (slow) decoders
            if self._utf8_ok:
                try:
                    self._utf8.decode(data)
                except UnicodeDecodeError:
                    self._utf8_ok = False
            if self._gb_ok:
                try:
                    self._gb.decode(data)
                except UnicodeDecodeError:
                    self._gb_ok = False
        elif self.kind == "ole":
            window = self._tail + data
            for name, marker in (("doc", "WordDocument"), ("xls", "Workbook"), ("xls", "Book")):
                if marker.encode("utf-16-le") in window:
                    self._ole_names.add(name)
            self._tail = data[-32:]

    def _check_markup(self, data: bytes) -> None:
        """Markup anywhere in a text file refuses it (in UTF-8 and GB18030 an
        ASCII ``<`` is always that character, so the bytes are searched)."""
        window = self._tail + data if self._tail else data
        cut = MARKUP_CUT.search(window)
        if MARKUP.search(window, 0, cut.start() if cut else len(window)):
            raise Refused(MSG_MARKUP)
        self._tail = b"< " + cut.group(1) if cut else b""

    def finish(self, path) -> FileKind:
        """The parse check on the complete spooled copy at ``path`` (only needed,
        and only spooled, for the ``PARSE_CHECKED`` families)."""
        if self.size == 0:
            raise Refused(MSG_EMPTY)
        kind = self.kind
        pages = None
        if kind == "text":
            if MARKUP.search(self._tail):
                raise Refused(MSG_MARKUP)
            if self._nul:
                raise Refused(MSG_UNKNOWN)
            utf8 = self._utf8_ok and _final(self._utf8)
            gb = self._gb_ok and _final(self._gb)
            if not (utf8 or gb):
                raise Refused(MSG_BAD_TEXT)
            kind = "text" if utf8 else "text-gb18030"
        elif kind == "pdf":
            pages = _check_pdf(path)
        elif kind in ("jpeg", "png", "tiff"):
            pages = _check_image(path, kind)
        elif kind == "zip":
            from documents.office import check_office  # here: documents.office imports this module

            kind = check_office(path)
        elif kind == "ole":
            if "doc" in self._ole_names:
                kind = "doc"
            elif "xls" in self._ole_names:
                kind = "xls"
            else:
                raise Refused(MSG_CORRUPT_OFFICE)
        content_type, ext = CONTENT_TYPES[kind]
        return FileKind(kind="text" if kind.startswith("text") else kind, content_type=content_type,
                        extension=ext, pages=pages)


def _final(decoder) -> bool:
    try:
        decoder.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False


def _check_pdf(path) -> int:
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    try:
        with open(path, "rb") as fh:
            tail_ok = _has_eof_marker(fh)
            fh.seek(0)
            reader = PdfReader(fh, strict=False)
            if reader.is_encrypted:
                reader.decrypt("")
            pages = len(reader.pages)
            if pages:
                reader.pages[0].mediabox  # the first page object must resolve
    except Exception as exc:
        raise Refused(MSG_CORRUPT_PDF) from exc
    if not pages or not tail_ok:
        raise Refused(MSG_CORRUPT_PDF)
    return pages


def _has_eof_marker(fh) -> bool:
    fh.seek(0, 2)
    size = fh.tell()
    fh.seek(max(0, size - 2048))
    return b"%%EOF" in fh.read()


def _check_image(path, kind: str) -> int:
    from PIL import Image, UnidentifiedImageError

    expected = {"jpeg": "JPEG", "png": "PNG", "tiff": "TIFF"}[kind]
    try:
        with Image.open(path) as image:
            if image.format != expected:
                raise Refused(MSG_CORRUPT_IMAGE)
            frames = getattr(image, "n_frames", 1)
            image.verify()
        with Image.open(path) as image:
            image.load()  # verify() skips the pixel data; decoding catches truncated scans
    except Refused:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise Refused(MSG_CORRUPT_IMAGE) from exc
    return frames
