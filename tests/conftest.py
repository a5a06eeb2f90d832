"""Shared fixtures: real PostgreSQL, Redis and S3 (SeaweedFS), started if missing.

The suite uses its own database (``portal_test``, recreated per run), Redis
database 15 (flushed per run) and S3 bucket, so it never touches demo data.
"""

from __future__ import annotations

import os
import random
import uuid

import asyncpg
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from portal.core import db
from portal.core.settings import load_settings

# Parallel runs (several developers on one machine) pick their own names.
TEST_DB = os.environ.get("PORTAL_TEST_DATABASE", "portal_test")
TEST_REDIS_DB = os.environ.get("PORTAL_TEST_REDIS_DB", "15")
TEST_BUCKET = os.environ.get("PORTAL_TEST_BUCKET", "portal-test")


def _test_settings():
    base = load_settings()
    url = base.database_url.rsplit("/", 1)[0] + "/" + TEST_DB
    redis = base.redis_url.rsplit("/", 1)[0] + "/" + TEST_REDIS_DB
    return base.with_(env="test", database_url=url, redis_url=redis, s3_bucket=TEST_BUCKET,
                      data_dir=os.path.abspath(".portal-data/test"), base_url="http://testserver.local")


@pytest.fixture(scope="session")
def settings():
    return _test_settings()


@pytest.fixture(scope="session")
def services(settings):
    """Start whatever of PostgreSQL/Redis/S3 is not already reachable."""
    from portal.core.s3 import ensure_bucket
    from portal.devservices import LocalServices

    local = LocalServices(settings)
    local.start()
    ensure_bucket(settings)
    yield local
    local.stop()


async def _recreate_database(settings) -> None:
    admin = await asyncpg.connect(db.admin_url(settings.database_url))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            TEST_DB,
        )
        await admin.execute(f'DROP DATABASE IF EXISTS "{TEST_DB}"')
        await admin.execute(f'CREATE DATABASE "{TEST_DB}"')
    finally:
        await admin.close()


@pytest_asyncio.fixture(scope="session")
async def database(settings, services):
    from tenants.migrate import migrate_all

    await _recreate_database(settings)
    redis = Redis.from_url(settings.redis_url)
    await redis.flushdb()
    await redis.aclose()
    await db.open_pool(settings)
    report = await migrate_all()
    assert report.ok, report.failures
    yield db.DB
    await db.close_pool()


@pytest_asyncio.fixture(scope="session")
async def app(settings, database):
    """The app, with its lifespan entered on the test event loop (so the one
    connection pool is used from one loop only)."""
    from portal.app import create_app, start_resources, stop_resources

    application = create_app(settings)
    await start_resources(application, settings)
    yield application
    await stop_resources(application)


@pytest_asyncio.fixture
async def client_factory(app):
    """Make HTTP clients that share the running app (one per simulated person)."""
    import httpx

    clients = []

    async def make():
        # Each simulated person comes from their own address, so one test's
        # deliberate sign-in failures never lock another test out by IP.
        address = f"127.{len(clients) % 250 + 1}.{random.randrange(256)}.{random.randrange(1, 255)}"
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver.local")
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def unique(prefix: str = "") -> str:
    return prefix + uuid.uuid4().hex[:8]


@pytest.fixture(scope="session")
def celery_app(settings):
    from tasks.celery_app import make_celery

    return make_celery(settings)


@pytest.fixture(scope="session")
def celery_worker(settings, database, celery_app):
    """A real Celery worker process on the test database, Redis and S3."""
    import subprocess
    import sys
    import time

    from portal.cli import _env_for

    log = open(os.path.join(settings.data_dir, "celery-worker.log"), "ab") if os.path.isdir(settings.data_dir) \
        else subprocess.DEVNULL
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tasks.worker", "worker", "--concurrency=2", "--loglevel=INFO",
         f"--hostname=test-{os.getpid()}@%h", "--without-gossip", "--without-mingle"],
        env=_env_for(settings), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the Celery worker exited during start-up")
        if celery_app.control.ping(timeout=0.5):
            break
    else:
        process.kill()
        raise RuntimeError("the Celery worker did not answer within 60 s")
    yield process
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def pgbouncer(settings, database):
    """PgBouncer in transaction mode with 2 server connections in front of the test database."""
    from tests import pgbouncer as bouncer

    running = bouncer.start(settings.database_url, pool_size=2)
    yield running
    running.stop()


@pytest_asyncio.fixture
async def through_pgbouncer(settings, pgbouncer):
    """For one test, the one engine (``portal.core.db.DB``) talks to PostgreSQL
    through PgBouncer: a pool opened exactly as the app opens it, many more
    clients than PgBouncer's server connections."""
    bouncer_settings = settings.with_(database_url=pgbouncer.url_for(settings.database_url))
    direct = db.DB.pool
    db.DB.pool = await asyncpg.create_pool(**db.connect_kwargs(bouncer_settings), **db.pool_options(20))
    try:
        yield bouncer_settings
    finally:
        await db.DB.pool.close()
        db.DB.pool = direct
