"""A local PostgreSQL cluster under ``<data dir>/pg`` (Debian's initdb/pg_ctl),
run as the ``postgres`` OS user when we are root."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

from portal.core.settings import Settings
from portal.devservices.probes import Endpoint, postgres_user
from portal.devservices.processes import (
    STOP_TIMEOUT,
    ServiceError,
    StartedService,
    alive,
    run_logged,
    signal_and_wait,
)

PG_BIN_DIRS = ("/usr/lib/postgresql/15/bin",)
PG_START_TIMEOUT = 30
UNIX_SOCKET_MAX = 100  # sun_path is 108 bytes; keep a margin


def start_postgres(settings: Settings, ep: Endpoint, base: Path, extra_options: str = "") -> StartedService:
    """initdb (first time) and pg_ctl start a cluster in ``base``; the service stops it with pg_ctl."""
    bindir = pg_bindir()
    pgdata = base / "data"
    sockdir = base / "run"
    logfile = base / "postgresql.log"
    sockdir.mkdir(exist_ok=True)
    logfile.touch()
    if len(str(sockdir)) > UNIX_SOCKET_MAX - 20:
        raise ServiceError(f"PostgreSQL: data dir path too long for a unix socket: {sockdir}")

    run_as = postgres_os_user()
    if run_as is not None:
        chown_tree(base, run_as)
    cmd_kwargs = user_kwargs(run_as)
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}
    for var in ("PGDATA", "PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD"):
        env.pop(var, None)

    if not (pgdata / "PG_VERSION").exists():
        user = postgres_user(settings)
        run_logged(
            [bindir / "initdb", "-D", pgdata, "-U", user, "--auth=trust", "--encoding=UTF8",
             "--locale=C.UTF-8", "--no-instructions"],
            logfile, env=env, what="PostgreSQL initdb", **cmd_kwargs,
        )
    options = f"-c listen_addresses={ep.bind_host} -p {ep.port} -k {sockdir} {extra_options}".rstrip()
    run_logged(
        [bindir / "pg_ctl", "-D", pgdata, "-l", logfile, "-o", options, "-w", "-t", str(PG_START_TIMEOUT), "start"],
        logfile, env=env, what="PostgreSQL pg_ctl start", **cmd_kwargs,
    )
    pid = postmaster_pid(pgdata)

    def stop() -> None:
        result = subprocess.run(
            [str(bindir / "pg_ctl"), "-D", str(pgdata), "-m", "fast", "-w", "-t", str(int(STOP_TIMEOUT)), "stop"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, **cmd_kwargs,
        )
        if result.returncode != 0 and alive(pid):
            signal_and_wait(pid, signal.SIGQUIT, group=False)

    return StartedService("postgres", ep, pid, stop, logfile)


def pg_bindir() -> Path:
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


def postgres_os_user() -> pwd.struct_passwd | None:
    """initdb/postgres refuse to run as root: run them as the 'postgres' OS user then."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ServiceError("running as root and there is no 'postgres' OS user to run PostgreSQL as") from exc


def user_kwargs(user: pwd.struct_passwd | None) -> dict:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "cwd": "/"}


def chown_tree(path: Path, user: pwd.struct_passwd) -> None:
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            st = os.lstat(name)
            if st.st_uid != user.pw_uid or st.st_gid != user.pw_gid:
                os.lchown(name, user.pw_uid, user.pw_gid)


def postmaster_pid(pgdata: Path) -> int:
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError) as exc:
        raise ServiceError(f"PostgreSQL started but {pgdata}/postmaster.pid is unreadable") from exc
