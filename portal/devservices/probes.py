"""Where PostgreSQL, Redis and S3 are (from ``Settings``), whether a port is
free or who holds it, and the probes that tell a usable server from a stranger."""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from portal.core.s3 import s3_client
from portal.core.settings import Settings
from portal.devservices.processes import ServiceError


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def is_loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def bind_host(self) -> str:
        """Address a locally started server listens on."""
        return "127.0.0.1" if self.host == "localhost" else self.host


def postgres_endpoint(settings: Settings) -> Endpoint:
    url = urlparse(settings.database_url)
    return Endpoint(url.hostname or "localhost", url.port or 5432)


def postgres_user(settings: Settings) -> str:
    return unquote(urlparse(settings.database_url).username or "postgres")


def redis_endpoint(settings: Settings) -> Endpoint:
    url = urlparse(settings.redis_url)
    return Endpoint(url.hostname or "localhost", url.port or 6379)


def s3_endpoint(settings: Settings) -> Endpoint:
    raw = settings.s3_endpoint
    if "://" not in raw:
        raw = ("https://" if settings.s3_secure else "http://") + raw
    url = urlparse(raw)
    return Endpoint(url.hostname or "localhost", url.port or (443 if settings.s3_secure else 80))


def tcp_open(endpoint: Endpoint, timeout: float = 1.0) -> bool:
    """True if something accepts a TCP connection on the endpoint."""
    try:
        with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
            return True
    except OSError:
        return False



def port_holder(port: int) -> tuple[int, str] | None:
    """(pid, command line) of the process listening on a TCP ``port``, read
    from /proc; (0, '') when the socket belongs to a process we may not inspect;
    None when nothing listens there."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A: LISTEN
                inodes.add(f"socket:[{cols[9]}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in inodes:
                    cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
                    return int(proc.name), cmd
        except OSError:  # gone, or not ours to read
            continue
    return 0, ""


def require_free_port(host: str, port: int, what: str) -> None:
    """Refuse to start when ``port`` is taken, naming the process that holds it."""
    if port_free(host, port):
        return
    holder = port_holder(port)
    who = f"pid {holder[0]} ({holder[1]})" if holder and holder[0] else "another process"
    raise ServiceError(f"{what}: port {port} on {host} is already in use by {who}; stop it or choose another port")


def port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True



def run_coro(coro):
    """Run a coroutine to completion, also when called from inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def check_postgres(settings: Settings, timeout: float = 5.0) -> str:
    """Connect with asyncpg to the server's ``postgres`` database; return the server version."""
    import asyncpg

    from portal.core.db import admin_url

    async def probe() -> str:
        conn = await asyncpg.connect(admin_url(settings.database_url), timeout=timeout)
        try:
            return await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()

    return run_coro(probe())


def check_redis(settings: Settings, timeout: float = 2.0) -> None:
    import redis

    client = redis.Redis.from_url(settings.redis_url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        if not client.ping():
            raise ServiceError(f"Redis {redis_endpoint(settings)} did not answer PING")
    finally:
        client.close()


def check_s3(settings: Settings) -> int:
    """``list_buckets`` with the configured keys; returns the bucket count."""
    return len(s3_client(settings, probe=True).list_buckets())
