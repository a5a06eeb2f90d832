"""The Swagger UI page at /api/docs without inline script, so it works under
the pages' Content-Security-Policy: the start-up code is /static/swagger/init.js."""

from __future__ import annotations

from html import escape
from typing import Any

from litestar import Request
from litestar.openapi.plugins import SwaggerRenderPlugin

SWAGGER = "/static/swagger"


class StaticSwaggerPlugin(SwaggerRenderPlugin):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            # swagger-ui-dist 5, served from portal/static/swagger: the docs work offline.
            js_url=f"{SWAGGER}/swagger-ui-bundle.js",
            css_url=f"{SWAGGER}/swagger-ui.css",
            standalone_preset_js_url=f"{SWAGGER}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{SWAGGER}/favicon-32x32.png'>",
            style=f"<link rel='stylesheet' href='{SWAGGER}/portal-docs.css'>",
            **kwargs,
        )

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        spec_url = str(request.app.openapi_config.path).rstrip("/") + "/openapi.json"
        return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(openapi_schema["info"]["title"])}</title>
{self.favicon}
<link rel="stylesheet" href="{self.css_url}">
{self.style}
<script src="{self.js_url}" defer></script>
<script src="{self.standalone_preset_js_url}" defer></script>
<script src="{SWAGGER}/init.js" defer></script>
</head>
<body>
<div id="swagger-container" data-spec-url="{escape(spec_url)}"></div>
</body>
</html>""".encode()
