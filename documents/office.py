"""Checking an Office (OOXML) file, a zip container, with bounded work.

A zip can claim or hide gigabytes behind a few kilobytes (a "zip bomb"), so the
central directory is checked against limits first (entry count, each entry's
size, the total, the compression ratio) and then every entry is decompressed
in small blocks. ``zipfile`` stops an entry at its declared size (and then
fails its CRC check), so the directory limits bound the work; only stored and
deflated entries are allowed, whose decompression ``zipfile`` bounds per read
(bzip2 and LZMA are not, and Office does not use them). Nothing is read whole
into memory except ``[Content_Types].xml``, and that only up to ``MAX_TYPES_BYTES``.
"""

from __future__ import annotations

import zipfile

from documents.sniff import MSG_CORRUPT_OFFICE, MSG_OFFICE_TOO_BIG, Refused

MAX_ENTRIES = 5_000
MAX_ENTRY_BYTES = 128 * 1024 * 1024
MAX_TOTAL_BYTES = 512 * 1024 * 1024
# Office XML compresses 5-30x; deflate cannot exceed ~1030x, which bombs use.
MAX_RATIO = 200
RATIO_FLOOR = 1024 * 1024  # small entries may compress better without harm
MAX_TYPES_BYTES = 1024 * 1024
READ_BLOCK = 64 * 1024

FAMILIES = (("docx", "word/", b"wordprocessingml"), ("xlsx", "xl/", b"spreadsheetml"),
            ("pptx", "ppt/", b"presentationml"))


def check_office(path) -> str:
    """``docx``/``xlsx``/``pptx`` for a sound Office container at ``path``, else Refused."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            _check_directory(entries)
            names = {e.filename for e in entries}
            types = b""
            for entry in entries:
                if entry.filename == "[Content_Types].xml":
                    types = _read_bounded(archive, entry, MAX_TYPES_BYTES)
                else:
                    _read_bounded(archive, entry, None)
    except Refused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError, ValueError, EOFError,
            RuntimeError) as exc:  # RuntimeError: an encrypted part
        raise Refused(MSG_CORRUPT_OFFICE) from exc
    if "[Content_Types].xml" not in names:
        raise Refused(MSG_CORRUPT_OFFICE)
    for kind, folder, marker in FAMILIES:
        if marker in types and any(n.startswith(folder) for n in names):
            return kind
    raise Refused(MSG_CORRUPT_OFFICE)


def _too_compressed(size: int, compressed: int) -> bool:
    return size > RATIO_FLOOR and size > MAX_RATIO * max(compressed, 1)


def _check_directory(entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > MAX_ENTRIES:
        raise Refused(MSG_OFFICE_TOO_BIG)
    total = compressed = 0
    for entry in entries:
        if entry.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise Refused(MSG_CORRUPT_OFFICE)
        if entry.file_size > MAX_ENTRY_BYTES or _too_compressed(entry.file_size, entry.compress_size):
            raise Refused(MSG_OFFICE_TOO_BIG)
        total += entry.file_size
        compressed += entry.compress_size
    if total > MAX_TOTAL_BYTES or _too_compressed(total, compressed):
        raise Refused(MSG_OFFICE_TOO_BIG)


def _read_bounded(archive: zipfile.ZipFile, entry: zipfile.ZipInfo, keep_up_to: int | None) -> bytes:
    """Decompress one entry block by block (zipfile checks its CRC at the end);
    return its content when ``keep_up_to`` is given (refused if longer)."""
    kept = bytearray()
    with archive.open(entry) as stream:
        while block := stream.read(READ_BLOCK):
            if keep_up_to is not None:
                kept += block
                if len(kept) > keep_up_to:
                    raise Refused(MSG_CORRUPT_OFFICE)
    return bytes(kept)
