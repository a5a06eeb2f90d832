"""``create_app(settings)``: the Litestar application with its three faces."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from litestar import Litestar, Router, get
from litestar.datastructures import State
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from redis.asyncio import Redis

from portal.core import db, jobs
from portal.core.errors import DomainError
from portal.security.sessions import SessionStore
from portal.security.throttle import LoginThrottle
from portal.core.settings import Settings
from tasks.celery_app import make_celery, sender
from portal.web.api_docs import StaticSwaggerPlugin
from portal.web.headers import SecurityHeadersMiddleware
from portal.web.input_guard import InputGuardMiddleware
from portal.web.middleware import SecurityMiddleware
from portal.web import tenancy
from portal.web.render import handle_domain_error, handle_http_error, handle_server_error, make_environment

STATIC = Path(__file__).resolve().parent / "static"


@get("/", include_in_schema=False)
async def index() -> Redirect:
    return Redirect("/console/")


@get("/healthz", include_in_schema=False)
async def healthz() -> dict:
    await db.DB.pool.fetchval("SELECT 1")
    return {"status": "ok"}


async def start_resources(app: Litestar, settings: Settings) -> None:
    """Connections the app holds while it runs: the DB pool, Redis, sessions."""
    await db.open_pool(settings)
    jobs.use_sender(sender(make_celery(settings)))
    redis = Redis.from_url(settings.redis_url)
    app.state.redis = redis
    app.state.sessions = SessionStore(redis, settings.session_idle_minutes * 60, settings.session_absolute_hours * 3600)
    app.state.throttle = LoginThrottle(redis, settings.login_max_failures, settings.login_lockout_minutes * 60)


async def stop_resources(app: Litestar) -> None:
    await app.state.redis.aclose()
    await db.close_pool()


def create_app(settings: Settings) -> Litestar:
    settings.check()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        await start_resources(app, settings)
        # Everything loaded so far (routes, templates, tables) lives as long as the
        # process: keep it out of the garbage collector's full passes, which
        # otherwise walk it again and again under load (tail latency).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await stop_resources(app)

    from portal.routes import api, console, portal as tenant_portal

    app = Litestar(
        route_handlers=[
            index,
            healthz,
            create_static_files_router(path="/static", directories=[STATIC], include_in_schema=False),
            # The pages are not part of the API schema.
            Router(path="/", route_handlers=[*console.ROUTES, *tenant_portal.ROUTES], include_in_schema=False),
            api.router(),
        ],
        lifespan=[lifespan],
        # Handlers that name `tenant`, `readable_tenant` or `my_tenant` get the checked TenantRef.
        dependencies=tenancy.DEPENDENCIES,
        state=State({"settings": settings}),
        # Headers outermost, so even a CSRF refusal carries them; the input guard
        # runs after the session and language are known.
        middleware=[SecurityHeadersMiddleware, SecurityMiddleware, InputGuardMiddleware],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(make_environment())),
        exception_handlers={
            DomainError: handle_domain_error,
            HTTPException: handle_http_error,
            Exception: handle_server_error,
        },
        openapi_config=OpenAPIConfig(
            title="Tenant archive API",
            version="1.0.0",
            path="/api/docs",
            render_plugins=[StaticSwaggerPlugin()],
        ),
        request_max_body_size=settings.upload_max_mb * 1024 * 1024 + 1024 * 1024,
        debug=False,
    )
    api.complete_app_schema(app)
    return app
