"""Pre-subset fonts for money notices, made once into the data dir.

Subsetting the 20 MB Noto Sans CJK collection is most of the cost of a
WeasyPrint render. A subset holding GB2312 (the 6,763 common hanzi), ASCII,
CJK punctuation and full-width forms makes each render several times cheaper;
characters outside it (rare names) fall back to the system Noto CJK font.

Two more things make every notice cheaper and smaller, because WeasyPrint
re-subsets this font for each PDF and keeps the glyph ids: the embedded font
has a slot for every glyph id up to the highest one the notice uses.

- Only the OpenType features that horizontal Simplified Chinese and English
  text uses are kept: ``locl`` (the Japanese, Korean and Traditional forms,
  which double the glyph count) and the vertical-writing features and tables
  are dropped (v1 kept every feature: 13,900 glyphs; now 7,800).
- The glyphs are reordered so that what notices print most comes first:
  ASCII and punctuation (Noto puts the full-width comma and colon of every
  Chinese sentence at the very end), the characters of the money templates'
  Chinese strings and of amounts in capitals, common words of company names,
  then GB2312 level 1 (the 3,755 common hanzi) before level 2. A notice then
  embeds a few hundred glyph slots instead of all 7,800: about 60 % of the
  PDF's bytes and a third of the font subsetting time go.
"""

from __future__ import annotations

import io
import os
import re
import threading
from pathlib import Path

SOURCES = {"regular": "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
           "bold": "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"}
SC_INDEX = 2  # Simplified Chinese face in the Noto CJK collections
VERSION = "3"
_lock = threading.Lock()
# Layout features the subset keeps, on top of fontTools' defaults (which include ccmp, kern, liga...).
EXTRA_FEATURES = ("tnum", "pnum", "lnum")  # .num cells use tabular figures
DROPPED_FEATURES = ("locl", "valt", "vert", "vhal", "vjmo", "vkrn", "vpal", "vrt2", "vchw")
DROPPED_TABLES = ("vhea", "vmtx", "VORG")  # vertical metrics: notices are set horizontally
# Frequent in tenants' (company) names and addresses: placed right after the templates' own text.
NAME_WORDS = ("有限责任公司股份集团科技实业贸易发展投资管理咨询服务文化传媒网络信息技术电子商务物流餐饮建筑工程"
              "设计广告中国上海北京深圳广州杭州南京苏州成都武汉天津重庆华新东方金融银行保险医药健康教育培训置业"
              "地产酒店国际环境能源汽车机械材料制造区市路号楼室层大厦广场中心园")
CATALOG = Path(__file__).resolve().parents[2] / "portal" / "locale" / "zh" / "money.po"
PUNCTUATION = ((0x20, 0x7F), (0xA0, 0x100), (0x2000, 0x2070), (0x3000, 0x3040), (0xFF00, 0xFFF0))


def _gb2312() -> list[int]:
    """GB2312's hanzi and symbols in code order (level 1, the common hanzi, before level 2)."""
    points = []
    for hi in range(0xA1, 0xF8):
        for lo in range(0xA1, 0xFF):
            try:
                points.append(ord(bytes([hi, lo]).decode("gb2312")))
            except UnicodeDecodeError:
                pass
    return points


def _codepoints() -> set[int]:
    points = set().union(*(range(a, b) for a, b in PUNCTUATION))
    points |= {0x00B7, 0x2116, 0x00A5, 0xFFE5, 0x33A1, 0x00B2}
    return points | set(_gb2312())


def _first_codepoints() -> list[int]:
    """Code points in the order their glyphs should get ids."""
    from tenants.money.capitals import DIGITS, GROUPS, PLACES

    order = [cp for a, b in PUNCTUATION for cp in range(a, b)]
    text = DIGITS + "".join(PLACES + GROUPS) + "元角分整负"
    try:
        text += "".join(re.findall(r'^msgstr "(.*)"', CATALOG.read_text(encoding="utf-8"), re.M))
    except OSError:
        pass
    order += [ord(ch) for ch in text + NAME_WORDS]
    return order + _gb2312()


def _reorder(font) -> None:
    """Give the glyphs of ``_first_codepoints`` the lowest ids, keeping the
    CID-keyed CFF's CIDs equal to glyph ids (PDF viewers map one to the other)."""
    from fontTools.ttLib.reorderGlyphs import reorderGlyphs

    font.ensureDecompiled()
    old = font.getGlyphOrder()
    cmap = font.getBestCmap()
    new, seen = [old[0]], {old[0]}
    for cp in _first_codepoints() + sorted(cmap):
        glyph = cmap.get(cp)
        if glyph is not None and glyph not in seen:
            seen.add(glyph)
            new.append(glyph)
    new += [g for g in old if g not in seen]
    top = font["CFF "].cff.topDictIndex[0]
    charstrings = []
    for name in new:
        charstring, fd_index = top.CharStrings.getItemAndSelector(name)
        charstring.fdSelectIndex = fd_index
        charstrings.append(charstring)
    reorderGlyphs(font, new)  # cmap, hmtx, GSUB/GPOS... by name
    top = font["CFF "].cff.topDictIndex[0]
    names = [".notdef"] + [f"cid{i:05d}" for i in range(1, len(new))]
    top.CharStrings.charStrings = dict(zip(names, charstrings))
    top.CharStrings.charStringsAreIndexed = 0
    top.CharStrings.fdSelect, top.CharStrings.fdArray = top.FDSelect, top.FDArray
    top.charset = names
    top.FDSelect.gidArray = []  # rebuilt from the charstrings' fdSelectIndex on save


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
            options.layout_features = [f for f in options.layout_features if f not in DROPPED_FEATURES]
            options.layout_features += [f for f in EXTRA_FEATURES if f not in options.layout_features]
            options.drop_tables += list(DROPPED_TABLES)
            options.name_IDs = ["*"]
            options.notdef_outline = True
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=points)
            subsetter.subset(font)
            buffer = io.BytesIO()
            font.save(buffer)
            buffer.seek(0)
            font = TTFont(buffer, recalcBBoxes=False)  # reordered from the saved subset's own glyph order
            _reorder(font)
            tmp = target.with_suffix(f".{os.getpid()}.tmp")
            font.save(str(tmp))
            tmp.replace(target)
    return out
