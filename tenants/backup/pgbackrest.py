"""pgBackRest: the configuration file, the commands and their JSON answers.

Full + differential/incremental backups of the whole PostgreSQL cluster with
WAL archiving (``archive_command`` = ``archive-push``). The schedule is seed 001
§五: a full backup weekly and an incremental one on the other days
(``scheduled_type``); retention is counted in days (``repo1-retention-full-type
= time``, ``PORTAL_BACKUP_RETENTION_DAYS``). Production (a second repository on
S3, cron, versioned bucket): ``deploy/BACKUPS.md``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import pwd
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

STANZA = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
BACKUP_TIMEOUT = 6 * 3600
TYPES = ("full", "diff", "incr")


class BackupError(RuntimeError):
    """pgBackRest is missing, not configured, or a command failed."""


@dataclass(frozen=True)
class Repo:
    """One pgBackRest configuration file and the stanza (cluster) it names."""

    config: Path
    stanza: str

    def __post_init__(self) -> None:
        if not STANZA.fullmatch(self.stanza):
            raise BackupError(f"bad stanza name {self.stanza!r}")

    @property
    def exists(self) -> bool:
        return self.config.is_file()


def repo_for(settings) -> Repo:
    """The configured repository: ``PORTAL_BACKUP_CONFIG`` or, by default, the one
    ``portal up`` writes for the local cluster under the data dir."""
    config = Path(settings.backup_config) if settings.backup_config else local_config_path(settings.data_path)
    return Repo(config, settings.backup_stanza)


def local_config_path(data_path: Path) -> Path:
    return data_path / "pgbackrest" / "pgbackrest.conf"


def executable() -> str:
    found = shutil.which("pgbackrest")
    if not found:
        raise BackupError("pgBackRest is not installed (Debian package 'pgbackrest')")
    return found


def render_config(*, stanza: str, repo_path: Path, base: Path, pg_path: Path, pg_port: int, pg_socket: Path,
                  pg_user: str, retention_days: int) -> str:
    """A pgbackrest.conf for one local cluster with one repository on disk.
    ``base`` holds pgBackRest's logs, locks and spool (so nothing goes to /var)."""
    if retention_days < 1:
        raise BackupError("backup retention must be at least one day")
    return "\n".join([
        "# Written by `portal up` for the local cluster; production: deploy/BACKUPS.md",
        "[global]",
        f"repo1-path={repo_path}",
        "repo1-retention-full-type=time",
        f"repo1-retention-full={retention_days}",
        "compress-type=lz4",
        "repo1-bundle=y",
        "start-fast=y",
        "archive-check=y",
        f"log-path={base / 'log'}",
        f"lock-path={base / 'lock'}",
        f"spool-path={base / 'spool'}",
        "log-level-console=warn",
        "log-level-file=info",
        "",
        f"[{stanza}]",
        f"pg1-path={pg_path}",
        f"pg1-port={pg_port}",
        f"pg1-socket-path={pg_socket}",
        f"pg1-user={pg_user}",
        "",
    ])


def archive_command(repo: Repo) -> str:
    """PostgreSQL's archive_command: every finished WAL segment goes to the repository."""
    return f"{executable()} --config={repo.config} --stanza={repo.stanza} archive-push %p"


def scheduled_type(day: dt.date) -> str:
    """Seed 001 §五: full on Sundays, incremental on the other days."""
    return "full" if day.weekday() == 6 else "incr"


def holds_data_until(moment: dt.datetime, retention_days: int, full_every_days: int = 7) -> dt.datetime:
    """The latest time a backup (or archived WAL) may still hold data that was
    deleted at ``moment`` (DESIGN.md §8: the destruction certificate says when the
    wrapped key leaves the backups). Backups taken before ``moment`` are expired
    once the first full backup after it (within ``full_every_days``) is older than
    the retention; pass the longest retention of all repositories."""
    return moment + dt.timedelta(days=full_every_days + retention_days)


def _owner_of(path: Path) -> pwd.struct_passwd | None:
    """pgBackRest runs as the cluster's owner (it reads the data directory and the
    repository is written by archive_command as that user)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwuid(path.stat().st_uid)
    except (KeyError, OSError):
        return None


def run(repo: Repo, *args: str, run_as: pwd.struct_passwd | None = None, timeout: float = BACKUP_TIMEOUT,
        check: bool = True) -> subprocess.CompletedProcess:
    """``pgbackrest --config=... --stanza=... <args>``, as the repository's owner."""
    if not repo.exists:
        raise BackupError(f"no pgBackRest configuration at {repo.config}")
    user = run_as or _owner_of(repo.config)
    kwargs = {}
    if user is not None and user.pw_uid != os.geteuid():
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": [], "cwd": "/"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PGBACKREST_", "PG"))}
    result = subprocess.run([executable(), f"--config={repo.config}", f"--stanza={repo.stanza}", *args],
                            capture_output=True, text=True, timeout=timeout, env=env, **kwargs)
    if check and result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()[-5:]
        raise BackupError(f"pgbackrest {args[-1] if args else ''} failed (exit {result.returncode}): "
                          + " | ".join(detail))
    return result


def stanza_create(repo: Repo) -> None:
    run(repo, "stanza-create", timeout=300)


def check(repo: Repo) -> None:
    """Archiving works and the repository is reachable (pgbackrest check)."""
    run(repo, "check", timeout=300)


def backup(repo: Repo, kind: str, retention_days: int | None = None) -> dict:
    """Take a backup (full, diff or incr; an incr with no full becomes a full) and
    expire what the retention allows; returns the new backup's info.
    ``retention_days`` (the setting) overrides repo1's retention in the file."""
    if kind not in TYPES:
        raise BackupError(f"unknown backup type {kind!r}")
    retention = []
    if retention_days is not None:
        if retention_days < 1:
            raise BackupError("backup retention must be at least one day")
        retention = ["--repo1-retention-full-type=time", f"--repo1-retention-full={retention_days}"]
    run(repo, *retention, f"--type={kind}", "backup")
    latest = latest_backup(info(repo))
    if latest is None:
        raise BackupError("the backup finished but is not listed")
    return latest


def info(repo: Repo) -> list[dict]:
    result = run(repo, "--output=json", "info", timeout=300)
    try:
        return json.loads(result.stdout or "[]")
    except ValueError as exc:
        raise BackupError("pgbackrest info did not answer JSON") from exc


def backups(stanzas: list[dict]) -> list[dict]:
    """The backups of the first stanza, oldest first, in a small stable shape."""
    found = []
    for stanza in stanzas[:1]:
        for b in stanza.get("backup", []):
            found.append({
                "label": b["label"], "type": b["type"],
                "started": _iso(b["timestamp"]["start"]), "stopped": _iso(b["timestamp"]["stop"]),
                "size": b.get("info", {}).get("size"),
                "repo_size": b.get("info", {}).get("repository", {}).get("delta"),
                "wal_start": b.get("archive", {}).get("start"), "wal_stop": b.get("archive", {}).get("stop"),
            })
    return found


def latest_backup(stanzas: list[dict]) -> dict | None:
    found = backups(stanzas)
    return found[-1] if found else None


def _iso(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).isoformat(timespec="seconds")
