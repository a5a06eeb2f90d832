"""PDF rendering with WeasyPrint: one font configuration per process, Jinja2
templates under ``documents/templates/pdf``, CJK text in Noto Sans CJK (Debian
``fonts-noto-cjk``), page numbers from CSS counters."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from portal.core import i18n

TEMPLATES = Path(__file__).resolve().parent / "templates" / "pdf"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@lru_cache(maxsize=1)
def font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
    env.filters["money"] = lambda v: "" if v is None else f"{v:,.2f}"
    env.filters["date"] = lambda v: v.strftime("%Y-%m-%d") if v else ""
    env.filters["local"] = lambda v: v.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if v else ""
    return env


def render_html(template: str, **context: Any) -> str:
    context.setdefault("generated_at", dt.datetime.now(SHANGHAI))
    return environment().get_template(template).render(**context)


def render_pdf(template: str, *, locale: str = "zh", base_url: str | None = None,
               image_cache: dict | None = None, stylesheets: list | None = None, **context: Any) -> bytes:
    """Render one PDF. ``locale`` picks the language of the template's strings.

    For many PDFs from one template (a batch of notices), the caller can keep
    ``image_cache`` (a dict: images used by every document, such as a seal, are
    then fetched and decoded once) and pass ``stylesheets=[shared_stylesheet(...)]``
    with ``shared_style=True``, for templates that support it (``money_base.html``):
    the static CSS is then parsed once, not per PDF."""
    from weasyprint import HTML

    previous = i18n.get_locale()
    i18n.set_locale(locale)
    try:
        html = render_html(template, locale=locale, **context)
    finally:
        i18n.set_locale(previous)
    return HTML(string=html, base_url=base_url or str(TEMPLATES)).write_pdf(
        font_config=font_config(), cache=image_cache, stylesheets=stylesheets)


def shared_stylesheet(template: str, *, locale: str = "zh", base_url: str | None = None, **context: Any):
    """The static CSS of ``template`` (its ``<style>``; ``context`` as for a page), parsed once for
    ``render_pdf(..., stylesheets=[...], shared_style=True)``. It applies as a
    user stylesheet, under the per-document rules the template still writes."""
    from weasyprint import CSS

    previous = i18n.get_locale()
    i18n.set_locale(locale)
    try:
        html = render_html(template, locale=locale, **{**context, "shared_style": False})
    finally:
        i18n.set_locale(previous)
    css = html[html.index("<style>") + len("<style>"):html.index("</style>")]
    return CSS(string=css, base_url=base_url or str(TEMPLATES), font_config=font_config())
