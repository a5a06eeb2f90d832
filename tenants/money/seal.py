"""The office seal (公章) image for notices: a red round seal drawn with
Pillow at first use and cached in the data dir (no SVG textPath)."""

from __future__ import annotations

import hashlib
import math
import threading
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_PATHS = ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
RED = (200, 16, 30, 235)
SIZE = 300
VERSION = "3"  # part of the cached file's name: bump it when the drawing changes
_lock = threading.Lock()


def _font(size: int) -> ImageFont.FreeTypeFont:
    for path in FONT_PATHS:
        if Path(path).exists():
            return ImageFont.truetype(path, size, index=2)  # index 2: SC in the Noto CJK collections
    return ImageFont.load_default()


def draw_seal(office_name: str, bottom: str = "") -> Image.Image:
    scale = 2
    size = SIZE * scale
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    c = size / 2
    r = size / 2 - 10 * scale
    draw.ellipse((c - r, c - r, c + r, c + r), outline=RED, width=14 * scale)
    # five-pointed star in the middle
    star_r = r * 0.30
    points = []
    for i in range(10):
        angle = -math.pi / 2 + i * math.pi / 5
        radius = star_r if i % 2 == 0 else star_r * 0.382
        points.append((c + radius * math.cos(angle), c + radius * math.sin(angle)))
    draw.polygon(points, fill=RED)
    # the office name along the upper arc, each character rotated to face out
    text = office_name.strip()[:16] or "公章"
    font = _font(int(r * 0.24))
    span = min(250.0, 22.0 * len(text) + 20)
    start = -90 - span / 2
    step = span / max(len(text) - 1, 1)
    text_r = r * 0.74
    for i, ch in enumerate(text):
        angle = start + i * step if len(text) > 1 else -90
        glyph = Image.new("RGBA", (int(r * 0.34), int(r * 0.34)), (0, 0, 0, 0))
        gd = ImageDraw.Draw(glyph)
        gd.text((glyph.width / 2, glyph.height / 2), ch, font=font, fill=RED, anchor="mm")
        glyph = glyph.rotate(-(angle + 90), resample=Image.BICUBIC, expand=True)
        x = c + text_r * math.cos(math.radians(angle)) - glyph.width / 2
        y = c + text_r * math.sin(math.radians(angle)) - glyph.height / 2
        img.alpha_composite(glyph, (int(x), int(y)))
    if bottom:
        small = _font(int(r * 0.16))
        draw.text((c, c + r * 0.55), bottom, font=small, fill=RED, anchor="mm")
    img = img.resize((SIZE, SIZE), Image.LANCZOS)
    # One colour everywhere, the shape in the alpha channel only: the colour plane then
    # compresses to almost nothing in every PDF the seal goes into (and encodes faster).
    # Near-transparent resampling noise cleared and the soft edges kept in 32 levels: a third smaller.
    alpha = img.getchannel("A").point(lambda v: 0 if v < 8 else v if v >= 232 else (v // 8) * 8 + 4)
    return Image.merge("RGBA", (*(Image.new("L", img.size, v) for v in RED[:3]), alpha))


def seal_path(data_dir: Path, office_name: str, bottom: str = "") -> Path:
    """The seal PNG for ``office_name``, drawn once into ``data_dir/seals``."""
    digest = hashlib.sha256(f"{office_name}|{bottom}".encode()).hexdigest()[:16]
    path = Path(data_dir) / "seals" / f"seal-v{VERSION}-{digest}.png"
    if path.exists():
        return path
    with _lock:
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            draw_seal(office_name, bottom).save(tmp, "PNG", optimize=True)
            tmp.replace(path)
    return path
