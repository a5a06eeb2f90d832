"""``portal bench web --json``: the real web server under load.

Starts ``portal web`` (uvicorn with the workers the run command starts) on a
scratch database (``portal_bench_web``) holding many tenants, each with a
portal user, plus one archivist; then drives it from this process with
``--clients`` keep-alive connections:

1. ``portal_home``: a tenant's portal home page, for random tenants (the target);
2. ``mix``: portal pages (home, profile change form) and console pages of a
   tenant file (file, documents, money) for random tenants.

Every answer must be 200 and carry exactly its own tenant's canary (a unique
token in the company name) and no other's: ``wrong_tenant`` must be 0.
CPU time per request is read from /proc for the web processes (exact), the
PostgreSQL cluster (live and exited backends: the pools recycle connections)
and redis-server (both shared with whatever else runs: approximate).

The client is a minimal HTTP/1.1 keep-alive client (asyncio + httptools, as
in uvicorn) so it costs far less CPU than the server it measures.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httptools

from portal.core import db
from portal.core.settings import Settings
from tests.benchmarks.common import median, percentile, recreate_database, scratch_settings

DATABASE = "portal_bench_web"
CANARY = re.compile(rb"BENCHCANARY[0-9a-f]{12}")
# Pages that show the tenant's own data (its name), so a wrong answer is visible;
# the portal's document and money pages of a fresh tenant are empty lists.
PORTAL_PAGES = ("/portal/", "/portal/requests/profile")
CONSOLE_PAGES = ("/console/tenants/{id}", "/console/tenants/{id}/documents", "/console/tenants/{id}/money")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------- data

async def _populate(settings: Settings, tenants: int) -> tuple[list[dict], str]:
    """Tenants (canary in the name) with one portal session each, and one
    archivist session. Returns (tenants, archivist session id)."""
    from redis.asyncio import Redis

    from portal.security.sessions import SessionStore
    from tenants import migrate
    from tests import factories

    await recreate_database(settings)
    await db.open_pool(settings, max_size=4)
    redis = Redis.from_url(settings.redis_url)
    sessions = SessionStore(redis, settings.session_idle_minutes * 60, settings.session_absolute_hours * 3600)
    try:
        await migrate.migrate_all()
        bld = await factories.building(units=0)
        out = []
        for i in range(tenants):
            canary = "BENCHCANARY" + secrets.token_hex(6)
            tenant_id = await factories.tenant(bld, name=f"基准公司{i:03d}{canary}")
            user = await factories.portal_user(tenant_id)
            out.append({"id": tenant_id, "canary": canary.encode(),
                        "session": await sessions.create("portal", user["id"], 0)})
        staff = await factories.staff(["archivist"])
        return out, await sessions.create("staff", staff["id"], 0)
    finally:
        await redis.aclose()
        await db.close_pool()


# --------------------------------------------------------------------------- server

def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_server(settings: Settings, log_path: Path) -> subprocess.Popen:
    from portal.cli import _env_for

    env = _env_for(settings)
    log = open(log_path, "ab")
    process = subprocess.Popen([sys.executable, "-m", "portal.cli", "web"], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"portal web exited with {process.returncode}; see {log_path}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{settings.port}/healthz", timeout=2).close()
            return process
        except OSError:
            time.sleep(0.3)
    _stop_server(process)
    raise RuntimeError(f"portal web did not answer within 60 s; see {log_path}")


def _stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --------------------------------------------------------------------------- CPU accounting

def _cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def _process_tree(root: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(parents.get(pid, []))
    return tree


def _redis_pid() -> int | None:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/comm") as fh:
                    if fh.read().strip() == "redis-server":
                        return int(entry)
            except OSError:
                continue
    return None


def _postgres_cpu_seconds(postmaster: int) -> float:
    """The cluster's backends: the live ones plus those that exited (the
    postmaster's reaped children), so a pool that recycles connections is
    counted whole. Includes the cluster's background processes (small)."""
    try:
        with open(f"/proc/{postmaster}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    reaped = (int(fields[13]) + int(fields[14])) / CLK_TCK  # cutime + cstime
    return reaped + sum(_cpu_seconds(pid) for pid in _process_tree(postmaster) if pid != postmaster)


async def _cpu_snapshot(server: subprocess.Popen, settings: Settings) -> dict[str, dict[int, float]]:
    import asyncpg

    conn = await asyncpg.connect(settings.database_url)
    try:
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        with open(f"/proc/{backend}/stat") as fh:
            postmaster = int(fh.read().rsplit(")", 1)[1].split()[1])
    finally:
        await conn.close()
    redis = _redis_pid()
    return {
        "app": {pid: _cpu_seconds(pid) for pid in _process_tree(server.pid)},
        "postgres": {postmaster: _postgres_cpu_seconds(postmaster)},
        "redis": {redis: _cpu_seconds(redis)} if redis else {},
    }


def _cpu_used(before: dict, after: dict) -> dict[str, float]:
    """CPU seconds per component between two snapshots (the web processes live
    through the run; PostgreSQL is counted as a whole cluster)."""
    return {part: sum(cpu - before[part].get(pid, 0.0) for pid, cpu in after[part].items())
            for part in after}


# --------------------------------------------------------------------------- client

class _Response:
    def __init__(self) -> None:
        self.body = bytearray()
        self.done = False
        self.keep_alive = False
        self.parser: httptools.HttpResponseParser | None = None

    def on_headers_complete(self) -> None:
        # Asked here, as uvicorn does: after the message is complete the
        # parser has reset and always answers False (every request then
        # paid for a new connection).
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, data: bytes) -> None:
        self.body += data

    def on_message_complete(self) -> None:
        self.done = True


class Client:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader = self.writer = None

    async def get(self, path: str, session: str) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: bench.local\r\nCookie: portal_session={session}\r\n\r\n"
                          .encode())
        response = _Response()
        parser = response.parser = httptools.HttpResponseParser(response)
        while not response.done:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("server closed the connection")
            parser.feed_data(data)
        if not response.keep_alive:
            await self.close()
        return parser.get_status_code(), bytes(response.body)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.reader = self.writer = None


def _request(tenants: list[dict], staff_session: str, mix: bool, rng: random.Random) -> tuple[str, str, bytes]:
    tenant = rng.choice(tenants)
    if not mix:
        return "/portal/", tenant["session"], tenant["canary"]
    if rng.random() < 0.5:
        return rng.choice(PORTAL_PAGES), tenant["session"], tenant["canary"]
    return rng.choice(CONSOLE_PAGES).format(id=tenant["id"]), staff_session, tenant["canary"]


async def _drive(port: int, tenants: list[dict], staff_session: str, *, mix: bool, clients: int,
                 requests: int) -> dict:
    rng = random.Random(7)
    plan = [_request(tenants, staff_session, mix, rng) for _ in range(requests)]
    latencies: list[float] = []
    counts = {"errors": 0, "wrong_tenant": 0}

    async def one_client() -> None:
        client = Client(port)
        try:
            while plan:
                path, session, canary = plan.pop()
                started = time.perf_counter()
                try:
                    status, body = await client.get(path, session)
                except (OSError, ConnectionError, httptools.HttpParserError):
                    counts["errors"] += 1
                    await client.close()
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    counts["errors"] += 1
                elif set(CANARY.findall(body)) != {canary}:
                    counts["wrong_tenant"] += 1
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "requests": requests,
        "rps": round(requests / elapsed, 1),
        "p50_ms": round(median(latencies), 2),
        "p95_ms": round(percentile(latencies, 95), 2),
        **counts,
    }


async def _phase(server, settings, tenants, staff_session, *, mix: bool, clients: int, requests: int) -> dict:
    await _drive(settings.port, tenants, staff_session, mix=mix, clients=clients, requests=max(200, requests // 10))
    before = await _cpu_snapshot(server, settings)
    result = await _drive(settings.port, tenants, staff_session, mix=mix, clients=clients, requests=requests)
    used = _cpu_used(before, await _cpu_snapshot(server, settings))
    result["cpu_ms_per_request"] = {part: round(seconds * 1000 / requests, 2) for part, seconds in used.items()}
    return result


def main(base: Settings, *, tenants: int = 50, clients: int = 20, requests: int = 5000, progress=None) -> dict:
    say = progress or (lambda _msg: None)
    settings = scratch_settings(base, DATABASE).with_(port=_free_port(), host="127.0.0.1")
    say(f"creating {tenants} tenants in {DATABASE}")
    people, staff_session = asyncio.run(_populate(settings, tenants))
    log_path = settings.data_path / "logs" / "bench-web.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    server = _start_server(settings, log_path)
    try:
        from portal.cli import web_workers

        say(f"portal web on port {settings.port} with {web_workers(settings)} workers; {clients} clients")
        home = asyncio.run(_phase(server, settings, people, staff_session, mix=False, clients=clients,
                                  requests=requests))
        say(f"portal home: {home}")
        mixed = asyncio.run(_phase(server, settings, people, staff_session, mix=True, clients=clients,
                                   requests=requests))
        say(f"mix: {mixed}")
    finally:
        _stop_server(server)
    return {
        **{k: home[k] for k in ("rps", "p50_ms", "p95_ms", "errors", "wrong_tenant")},
        "errors": home["errors"] + mixed["errors"],
        "wrong_tenant": home["wrong_tenant"] + mixed["wrong_tenant"],
        "web_workers": web_workers(settings),
        "clients": clients,
        "tenants": tenants,
        "portal_home": home,
        "mix": mixed,
    }
