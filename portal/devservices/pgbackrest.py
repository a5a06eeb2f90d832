"""pgBackRest around clusters this machine runs: the local cluster of ``portal up``
(WAL archiving into a repository under the data dir) and throwaway clusters
(initdb or a restored backup in a temp dir, on a unix socket only) for the
restore drill and the tests. Never touches a cluster it did not start."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from portal.devservices.postgres import (
    PG_START_TIMEOUT,
    chown_tree,
    pg_bindir,
    postgres_os_user,
    postmaster_pid,
    user_kwargs,
)
from portal.devservices.processes import ServiceError, alive, run_logged, signal_and_wait
from tenants.backup import pgbackrest
from tenants.backup.pgbackrest import Repo


# ---- the local cluster of `portal up`

def local_repo(settings, base: Path, port: int, sockdir: Path, pg_user: str) -> tuple[Repo, str]:
    """Write ``<data dir>/pgbackrest/pgbackrest.conf`` for the cluster in ``base``
    and return the repository and the postgres options that archive its WAL."""
    root = settings.data_path / "pgbackrest"
    for sub in ("repo", "log", "lock", "spool"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    repo = Repo(pgbackrest.local_config_path(settings.data_path), settings.backup_stanza)
    repo.config.write_text(pgbackrest.render_config(
        stanza=repo.stanza, repo_path=root / "repo", base=root, pg_path=base / "data", pg_port=port,
        pg_socket=sockdir, pg_user=pg_user, retention_days=settings.backup_retention_days))
    run_as = postgres_os_user()
    if run_as is not None:
        chown_tree(root, run_as)
    return repo, archive_options(repo)


def archive_options(repo: Repo) -> str:
    """postgres -c options (for pg_ctl -o, run through /bin/sh) that archive WAL."""
    command = pgbackrest.archive_command(repo)
    if '"' in command or "$" in command or "`" in command:
        raise ServiceError(f"pgBackRest: unusable path in {command!r}")
    return f'-c wal_level=replica -c archive_mode=on -c "archive_command={command}" -c archive_timeout=300'


def ensure_stanza(repo: Repo) -> str:
    """stanza-create is idempotent for the same cluster; check proves archiving works."""
    pgbackrest.stanza_create(repo)
    pgbackrest.check(repo)
    return f"pgBackRest: stanza '{repo.stanza}' ready, repository {repo.config.parent / 'repo'}"


# ---- throwaway clusters

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """A PostgreSQL cluster in a temp dir that exists only while it is used:
    ``Cluster.restored(repo, set)`` restores a pgBackRest backup into it. It listens on a unix socket in its own 0700
    directory (no TCP), and ``close()`` stops it and removes the directory."""

    def __init__(self, user: str = "postgres"):
        self.user = user
        self.dir = Path(tempfile.mkdtemp(prefix="pgx-", dir="/tmp"))
        self.pgdata = self.dir / "data"
        self.sockdir = self.dir / "run"
        self.sockdir.mkdir()
        self.logfile = self.dir / "postgresql.log"
        self.logfile.touch()
        self.port = free_port()
        self.pid: int | None = None
        self.run_as = postgres_os_user()
        self.bindir = pg_bindir()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        self.env.update(LC_ALL="C.UTF-8", LANG="C.UTF-8")
        self._chown()

    def _chown(self) -> None:
        if self.run_as is not None:
            chown_tree(self.dir, self.run_as)

    @classmethod
    def restored(cls, repo: Repo, backup_set: str, user: str = "postgres") -> "Cluster":
        """Restore ``backup_set`` (to the end of that backup: --type=immediate), with
        archiving off so nothing of the scratch cluster reaches the repository."""
        cluster = cls(user)
        try:
            cluster.pgdata.mkdir(mode=0o700)
            cluster._chown()
            pgbackrest.run(repo, f"--pg1-path={cluster.pgdata}", f"--set={backup_set}", "--type=immediate",
                           "--target-action=promote", "--archive-mode=off", "--log-level-console=warn",
                           "restore", run_as=cluster.run_as)
            # A packaged server keeps its configuration outside the data directory:
            # give the scratch cluster its own, local-only, trust on its private socket.
            conf = cluster.pgdata / "postgresql.conf"
            if not conf.exists():
                conf.write_text("")
            (cluster.pgdata / "pg_hba.conf").write_text("local all all trust\n")
            (cluster.pgdata / "pg_ident.conf").touch()
            cluster._chown()
            cluster.start("-c archive_mode=off -c hba_file=" + str(cluster.pgdata / "pg_hba.conf")
                          + " -c ident_file=" + str(cluster.pgdata / "pg_ident.conf"))
            cluster.wait_promoted()
        except BaseException:
            cluster.close()
            raise
        return cluster

    def start(self, options: str = "") -> None:
        # A throwaway cluster: nothing in it must survive a crash, so no fsync.
        opts = (f"-c listen_addresses='' -p {self.port} -k {self.sockdir} -c unix_socket_permissions=0700"
                f" -c fsync=off -c synchronous_commit=off {options}")
        run_logged([self.bindir / "pg_ctl", "-D", self.pgdata, "-l", self.logfile, "-o", opts, "-w",
                    "-t", str(PG_START_TIMEOUT), "start"],
                   self.logfile, env=self.env, what="pg_ctl start", **user_kwargs(self.run_as))
        self.pid = postmaster_pid(self.pgdata)

    def wait_promoted(self, timeout: float = 120) -> None:
        """Until recovery has reached the backup's end and the cluster is promoted."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not (self.pgdata / "recovery.signal").exists() and not (self.pgdata / "standby.signal").exists():
                return
            time.sleep(0.2)
        raise ServiceError(f"restored cluster did not finish recovery, see {self.logfile}")

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.sockdir}&port={self.port}"

    def close(self) -> None:
        if self.pid is not None and alive(self.pid):
            result = subprocess.run([str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), "-m", "immediate", "-w",
                                     "-t", "30", "stop"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    env=self.env, **user_kwargs(self.run_as))
            if result.returncode != 0 and alive(self.pid):
                signal_and_wait(self.pid, signal.SIGQUIT, group=False)
        self.pid = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "Cluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def copy_database(source_url: str, target_url: str, schemas: tuple[str, ...] = ()) -> None:
    """pg_dump | pg_restore a database (or only ``schemas`` of it) into a new database
    at ``target_url`` (tests: a copy of the test database in a throwaway cluster)."""
    from portal.core.db import admin_url, database_name

    bindir = pg_bindir()
    name = database_name(target_url)
    if not re.fullmatch(r"[A-Za-z0-9_]{1,63}", name):
        raise ServiceError(f"unsupported database name {name!r}")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    subprocess.run([str(bindir / "psql"), "-q", "-d", admin_url(target_url), "-c", f'CREATE DATABASE "{name}"'],
                   check=True, env=env, capture_output=True)
    dump = subprocess.Popen([str(bindir / "pg_dump"), "-Fc", "--no-owner", *(f"--schema={s}" for s in schemas),
                             "-d", source_url], stdout=subprocess.PIPE, env=env)
    restore = subprocess.run([str(bindir / "pg_restore"), "--no-owner", "-d", target_url],
                             stdin=dump.stdout, capture_output=True, env=env)
    dump.stdout.close()
    if dump.wait() != 0 or restore.returncode != 0:
        raise ServiceError(f"copying into {name} failed: {restore.stderr.decode(errors='replace')[-500:]}")


# ---- the restore drill

def drill(settings, repo: Repo, *, backup_set: str = "", take_backup: bool = False, objects: bool = True,
          live_dsn: str | None = None) -> dict:
    """Restore a backup (the latest, or ``backup_set``) into a scratch cluster and
    compare it with the live database and the object store (``tenants.backup.drill``)."""
    from portal.core.db import database_name
    from portal.devservices.probes import postgres_user, run_coro
    from tenants.backup.drill import compare

    if take_backup:
        pgbackrest.backup(repo, "incr", settings.backup_retention_days)
    found = pgbackrest.backups(pgbackrest.info(repo))
    if backup_set:
        found = [b for b in found if b["label"] == backup_set]
    if not found:
        raise pgbackrest.BackupError(f"no backup {backup_set!r} in the repository" if backup_set
                                     else "the repository holds no backup yet")
    chosen = found[-1]
    started = time.monotonic()
    with Cluster.restored(repo, chosen["label"], postgres_user(settings)) as scratch:
        restore_s = time.monotonic() - started
        report = run_coro(compare(scratch.dsn(database_name(settings.database_url)),
                                  live_dsn or settings.database_url, settings, objects=objects))
    return {"ok": report.pop("ok"), "backup": chosen, "restore_s": round(restore_s, 1),
            "compare_s": round(time.monotonic() - started - restore_s, 1), **report}
