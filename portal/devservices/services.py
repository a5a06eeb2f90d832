"""``LocalServices``: use PostgreSQL, Redis and S3 where they answer, start the
missing ones locally, stop exactly what was started."""

from __future__ import annotations

import atexit
import logging
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from portal.core.settings import Settings
from tenants.backup.pgbackrest import BackupError
from portal.devservices import pgbackrest as pgbackrest_local
from portal.devservices.postgres import start_postgres
from portal.devservices.probes import (
    Endpoint,
    check_postgres,
    check_redis,
    check_s3,
    postgres_endpoint,
    postgres_user,
    redis_endpoint,
    s3_endpoint,
    tcp_open,
)
from portal.devservices.processes import ServiceError, StartedService, spawn, stop_child, wait_for_text, wait_until
from portal.devservices.seaweed import WEED_READY_TEXT, all_weed_ports, remove_weed_sockets, start_weed, weed_ports

log = logging.getLogger(__name__)

S3_START_TIMEOUT = 30.0
REDIS_START_TIMEOUT = 10.0


@dataclass(eq=False)
class LocalServices:
    """Check PostgreSQL, Redis and S3; start the missing ones; stop what we started.

    ``postgres`` / ``redis`` / ``s3`` set to False leave that service alone
    (not even checked).
    """

    settings: Settings
    postgres: bool = True
    redis: bool = True
    s3: bool = True
    # Archive the WAL of a cluster started here and keep a pgBackRest stanza for it
    # (`portal up`; tenants/backup/pgbackrest.py). A cluster we only use is left alone.
    backups: bool = False
    s3_timeout: float = S3_START_TIMEOUT
    report: list[str] = field(default_factory=list, init=False)
    started: list[StartedService] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _running: bool = field(default=False, init=False, repr=False)

    # ---- public API

    def start(self) -> list[str]:
        """Check each service, start the missing ones, return one line per service."""
        with self._lock:
            if self._running:
                return list(self.report)
            self.report = []
            atexit.register(self.stop)
            self._running = True
            try:
                self.settings.data_path.mkdir(parents=True, exist_ok=True)
                if self.postgres:
                    self.report.append(self._ensure_postgres())
                if self.redis:
                    self.report.append(self._ensure_redis())
                if self.s3:
                    self.report.append(self._ensure_s3())
            except BaseException:
                try:
                    self._stop_locked()
                except Exception:
                    log.exception("cleaning up after a failed start")
                raise
            return list(self.report)

    def stop(self) -> None:
        """Stop, in reverse order, exactly the processes started by ``start()``."""
        with self._lock:
            self._stop_locked()

    def __enter__(self) -> "LocalServices":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def pid(self, name: str) -> int | None:
        for svc in self.started:
            if svc.name == name:
                return svc.pid
        return None

    # ---- internals

    def _stop_locked(self) -> None:
        errors = []
        for svc in reversed(self.started):
            if svc.stopped:
                continue
            try:
                svc.stop()
                svc.stopped = True
            except Exception as exc:  # keep stopping the others
                errors.append(f"{svc.name} (pid {svc.pid}): {exc}")
        self.started = [svc for svc in self.started if not svc.stopped]
        self._running = False
        try:
            atexit.unregister(self.stop)
        except Exception:
            pass
        if errors:
            raise ServiceError("could not stop: " + "; ".join(errors))

    def _dir(self, name: str) -> Path:
        path = self.settings.data_path / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    # ---- PostgreSQL

    def _ensure_postgres(self) -> str:
        ep = postgres_endpoint(self.settings)
        if tcp_open(ep):
            try:
                check_postgres(self.settings)
            except Exception as exc:
                raise ServiceError(
                    f"PostgreSQL {ep}: a server is listening but refuses the configured connection: {exc}"
                ) from exc
            return f"PostgreSQL {ep}: using running server"
        self._require_local("PostgreSQL", ep)
        base = self._dir("pg")
        repo, options, note = self._backup_options(ep, base)
        svc = start_postgres(self.settings, ep, base, extra_options=options)
        self.started.append(svc)
        check_postgres(self.settings)
        if repo is not None:
            try:
                note = pgbackrest_local.ensure_stanza(repo)
            except BackupError as exc:
                note = f"pgBackRest: backups are NOT working: {exc}"
        return f"PostgreSQL {ep}: started PostgreSQL (pid {svc.pid})" + (f"\n{note}" if note else "")

    def _backup_options(self, ep: Endpoint, base: Path):
        """(repo, postgres options, note) for a cluster started here."""
        if not self.backups:
            return None, "", ""
        try:
            pgbackrest_local.pgbackrest.executable()
        except BackupError as exc:
            return None, "", f"pgBackRest: {exc}; the local cluster runs without backups"
        repo, options = pgbackrest_local.local_repo(self.settings, base, ep.port, base / "run",
                                                    postgres_user(self.settings))
        return repo, options, ""

    # ---- Redis

    def _ensure_redis(self) -> str:
        ep = redis_endpoint(self.settings)
        if tcp_open(ep):
            try:
                check_redis(self.settings)
            except Exception as exc:
                raise ServiceError(f"Redis {ep}: something is listening but PING failed: {exc}") from exc
            return f"Redis {ep}: using running server"
        self._require_local("Redis", ep)
        exe = shutil.which("redis-server")
        if not exe:
            raise ServiceError(f"Redis {ep}: not running and redis-server is not on PATH")
        base = self._dir("redis")
        logfile = base / "redis.log"
        cmd = [exe, "--port", str(ep.port), "--bind", ep.bind_host, "--save", "", "--appendonly", "no",
               "--dir", str(base), "--logfile", str(logfile), "--daemonize", "no"]
        password = urlparse(self.settings.redis_url).password
        if password:
            cmd += ["--requirepass", unquote(password)]
        proc = spawn(cmd, base, logfile)
        svc = StartedService("redis", ep, proc.pid, lambda: stop_child(proc), logfile)
        self.started.append(svc)
        wait_until(lambda: check_redis(self.settings), REDIS_START_TIMEOUT, proc, f"Redis {ep}", logfile)
        return f"Redis {ep}: started redis-server (pid {proc.pid})"

    # ---- S3 (SeaweedFS weed mini)

    def _ensure_s3(self) -> str:
        from minio.error import S3Error

        ep = s3_endpoint(self.settings)
        if tcp_open(ep):
            try:
                check_s3(self.settings)
            except S3Error as exc:
                raise ServiceError(
                    f"S3 {ep}: a server is running but refuses the configured keys ({exc.code})"
                ) from exc
            except Exception as exc:
                raise ServiceError(f"S3 {ep}: something is listening but does not answer as S3: {exc}") from exc
            return f"S3 {ep}: using running server"
        self._require_local("S3", ep)
        if self.settings.s3_secure:
            raise ServiceError(f"S3 {ep}: not running, and a local SeaweedFS can only be started with s3_secure=False")
        if ":" in ep.bind_host:
            raise ServiceError(f"S3 {ep}: a local SeaweedFS is only started on IPv4 loopback addresses")
        proc, logfile = start_weed(self.settings, ep, self._dir("s3"))
        ports = all_weed_ports(weed_ports(ep.port))

        def stop() -> None:
            stop_child(proc)
            remove_weed_sockets(ports)

        svc = StartedService("s3", ep, proc.pid, stop, logfile)
        self.started.append(svc)
        started_at = time.monotonic()
        wait_until(lambda: check_s3(self.settings), self.s3_timeout, proc, f"S3 {ep}", logfile)
        # S3 answers a moment before weed mini has finished starting up; a SIGTERM
        # in that window skips its graceful shutdown (stray /tmp sockets). Wait for
        # its "ready" banner, best effort.
        remaining = max(self.s3_timeout - (time.monotonic() - started_at), 0.0)
        wait_for_text(logfile, WEED_READY_TEXT, min(remaining, 10.0), proc)
        return f"S3 {ep}: started SeaweedFS (pid {proc.pid})"

    def _require_local(self, what: str, ep: Endpoint) -> None:
        if not ep.is_loopback:
            raise ServiceError(f"{what} {ep}: not reachable, and only loopback services are started locally")
