"""UI language: Chinese by default, English on request.

Message ids are English. Chinese translations live in Babel ``.po`` catalogs
under ``portal/locale/zh/`` (one file per area, merged at load), compiled in
memory at start-up so a fresh checkout needs no build step.
"""

from __future__ import annotations

import gettext as _gettext
import io
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent.parent / "locale"
LOCALES = ("zh", "en")
LOCALE_NAMES = {"zh": "中文", "en": "English"}
_current: ContextVar[str] = ContextVar("portal_locale", default="zh")


@lru_cache(maxsize=None)
def translations(locale: str) -> _gettext.NullTranslations:
    if locale == "en":
        return _gettext.NullTranslations()
    merged = Catalog(locale=locale)
    for po in sorted((LOCALE_DIR / locale).glob("*.po")):
        with po.open("rb") as fh:
            for message in read_po(fh, locale=locale):
                if message.id and message.string:
                    merged[message.id] = message
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return Translations(fp=buffer)


def catalog_ids(locale: str = "zh") -> set[str]:
    ids: set[str] = set()
    for po in (LOCALE_DIR / locale).glob("*.po"):
        with po.open("rb") as fh:
            ids |= {m.id for m in read_po(fh, locale=locale) if m.id and m.string}
    return ids


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else "zh")


def get_locale() -> str:
    return _current.get()


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


_ = gettext


def pick_locale(query_lang: str | None, cookie_lang: str | None, accept: str | None, default: str) -> str:
    for candidate in (query_lang, cookie_lang):
        if candidate in LOCALES:
            return candidate
    if accept:
        first = accept.split(",")[0].strip().lower()
        if first.startswith("en"):
            return "en"
        if first.startswith("zh"):
            return "zh"
    return default if default in LOCALES else "zh"
