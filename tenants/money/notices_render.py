"""Rendering notices and receipts to PDF (WeasyPrint, documents/templates/pdf/money_*.html).

Renders run on one thread per process (WeasyPrint/Pango: one render at a time),
so the event loop keeps working meanwhile (a batch prepares and files other
notices). Receipts and statements are also rendered on demand, unfiled.
"""

from __future__ import annotations

import asyncio
import atexit
import gc
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from portal.core.errors import NotFound
from portal.core.roles import Principal
from tenants.money.amounts import capitals, fmt
from tenants.money.fonts import subset_fonts
from tenants.money.notices import TEMPLATES, build_context, may_read
from tenants.money.seal import seal_path
from tenants.registry.service import TenantRef
from tenants.scope import tenant_tx

_render_lock = threading.Lock()  # WeasyPrint/Pango: one render at a time per process


def _install_filters() -> None:
    from documents.pdf import environment

    env = environment()
    if "fen" not in env.filters:
        env.filters["fen"] = fmt
        env.filters["capitals"] = capitals


_image_cache: dict = {}  # WeasyPrint's image cache, shared by all money renders: the seal is decoded once
_stylesheets: dict = {}  # (template, locale, fonts) -> the templates' static CSS, parsed once per process
# Let go of them before interpreter shutdown, while WeasyPrint can still clean up its font files.
atexit.register(_stylesheets.clear)
atexit.register(_image_cache.clear)
_render_pools: dict[int, ThreadPoolExecutor] = {}  # pid -> this process's render thread (none survives a fork)


def _render_pool() -> ThreadPoolExecutor:
    pool = _render_pools.get(os.getpid())
    if pool is None:
        pool = _render_pools[os.getpid()] = ThreadPoolExecutor(max_workers=1, thread_name_prefix="notice-render")
    return pool


def render_sync(kind: str, ctx: dict[str, Any], settings, locale: str = "zh") -> bytes:
    """Render one notice to PDF bytes (CPU-bound; call via ``render``)."""
    from documents.pdf import render_pdf, shared_stylesheet

    _install_filters()
    seal = seal_path(settings.data_path, settings.office_name, "财务专用章" if "receipt" in kind else "")
    fonts = subset_fonts(settings.data_path)
    font_urls = {k: p.as_uri() for k, p in fonts.items()} if fonts else None
    template = TEMPLATES[kind]
    with _render_lock:
        key = (template, locale, tuple(sorted(font_urls.items())) if font_urls else None)
        sheet = _stylesheets.get(key)
        if sheet is None:
            sheet = _stylesheets[key] = shared_stylesheet(template, locale=locale, seal_url=seal.as_uri(),
                                                          fonts=font_urls, **ctx)
        # WeasyPrint allocates hundreds of thousands of objects per page; the cyclic GC would walk
        # them again and again while they are alive. Collect the young generations once afterwards.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            return render_pdf(template, locale=locale, seal_url=seal.as_uri(), fonts=font_urls,
                              image_cache=_image_cache, stylesheets=[sheet], shared_style=True, **ctx)
        finally:
            if gc_was_enabled:
                gc.enable()
                gc.collect(1)


def warm_up(settings) -> None:
    """Load WeasyPrint and register the notice fonts in this process ahead of its
    first render (a worker process about to take batch chunks). Does nothing
    if the fonts have not been made yet: making them takes a while."""
    from tenants.money.fonts import SOURCES, VERSION

    paths = [Path(settings.data_path) / "fonts" / f"money-sans-{k}-v{VERSION}.otf" for k in SOURCES]
    if not all(p.exists() for p in paths):
        return
    from weasyprint import CSS

    from documents.pdf import font_config

    with _render_lock:
        CSS(string="".join(f'@font-face {{ font-family: "Money Sans"; src: url({p.as_uri()}); font-weight: {w}; }}'
                           for p, w in zip(paths, (400, 700))), font_config=font_config())


def render_started(kind: str, ctx: dict[str, Any], settings, locale: str = "zh") -> asyncio.Future:
    """Start rendering on the process's render thread and return the future
    (a batch prepares and files other notices meanwhile)."""
    return asyncio.get_running_loop().run_in_executor(_render_pool(), render_sync, kind, ctx, settings, locale)


async def render(kind: str, ctx: dict[str, Any], settings, locale: str = "zh") -> bytes:
    return await render_started(kind, ctx, settings, locale)


async def receipt_pdf(ref: TenantRef, kind: str, subject_id: int, principal: Principal, settings,
                      locale: str = "zh") -> tuple[str, bytes]:
    """A payment or deposit receipt rendered on demand from the ledger."""
    if kind not in ("payment_receipt", "deposit_receipt"):
        raise NotFound()
    may_read(ref, principal)
    async with tenant_tx(ref.schema):
        ctx = await build_context(ref, kind, settings, locale=locale, subject_id=subject_id)
    return ctx["number"], await render(kind, ctx, settings, locale)


async def statement_pdf(ref: TenantRef, principal: Principal, settings, locale: str = "zh") -> bytes:
    """A statement of account rendered on demand (not filed)."""
    may_read(ref, principal)
    async with tenant_tx(ref.schema):
        ctx = await build_context(ref, "statement", settings, locale=locale)
    ctx["number"] = f"DZ{ctx['as_of']:%Y%m%d}-{ref.id}"
    return await render("statement", ctx, settings, locale)
