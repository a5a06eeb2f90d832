"""Pre-subset fonts for money notices, made once into the data dir.

Subsetting the 20 MB Noto Sans CJK collection is most of the cost of a
WeasyPrint render. A subset holding GB2312 (the 6,763 common hanzi), ASCII,
CJK punctuation and full-width forms makes each render several times cheaper;
characters outside it (rare names) fall back to the system Noto CJK font.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

SOURCES = {"regular": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
           "bold": "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"}
SC_INDEX = 2  # Simplified Chinese face in the Noto CJK collections
VERSION = "1"
_lock = threading.Lock()


def _codepoints() -> set[int]:
    points = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    points |= set(range(0x2000, 0x2070)) | set(range(0x3000, 0x3040)) | set(range(0xFF00, 0xFFF0))
    points |= {0x00B7, 0x2116, 0x00A5, 0xFFE5, 0x33A1, 0x00B2}
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                points.add(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return points


def subset_fonts(data_dir: Path) -> dict[str, Path] | None:
    """{'regular': path, 'bold': path} of the subset OTFs (None if the system fonts are missing)."""
    out = {k: Path(data_dir) / "fonts" / f"money-sans-{k}-v{VERSION}.otf" for k in SOURCES}
    if all(p.exists() for p in out.values()):
        return out
    if not all(Path(s).exists() for s in SOURCES.values()):
        return None
    from fontTools import subset
    from fontTools.ttLib import TTFont

    with _lock:
        points = _codepoints()
        for kind, source in SOURCES.items():
            target = out[kind]
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            font = TTFont(source, fontNumber=SC_INDEX)
            options = subset.Options()
            options.layout_features = ["*"]
            options.name_IDs = ["*"]
            options.notdef_outline = True
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=points)
            subsetter.subset(font)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            font.save(str(tmp))
            tmp.replace(target)
    return out
