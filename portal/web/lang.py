"""The language switch's link: it always leads to a page that can be shown
by GET. After a form POST (say a failed one re-rendered with its errors),
the current URL only answers POST, so the switch goes back to the page the
form was on (the same-site Referer), or to the face's home page."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

from litestar import Request


def _with_lang(path: str, query: str, code: str) -> str:
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "lang"]
    return f"{path}?{urlencode([*params, ('lang', code)])}"


def _home(path: str) -> str:
    return "/portal/" if path.startswith("/portal") else "/console/"


def lang_url(request: Request, code: str) -> str:
    if request.method in ("GET", "HEAD"):
        return _with_lang(request.url.path, request.url.query or "", code)
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = referer.netloc == request.url.netloc and referer.scheme in ("http", "https")
    if same_site and referer.path.startswith("/") and not referer.path.startswith("//"):
        return _with_lang(referer.path, referer.query, code)
    return _with_lang(_home(request.url.path), "", code)
