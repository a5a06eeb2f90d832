"""The ``portal`` command: run everything, migrate, reconcile, test, benchmark."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

import click

from portal.core.settings import Settings, load_settings, settings_table

ROOT = Path(__file__).resolve().parent.parent


def _settings() -> Settings:
    return load_settings().check()


def _env_for(settings: Settings) -> dict[str, str]:
    """Environment that hands ``settings`` to child processes (web, worker, beat)."""
    env = dict(os.environ)
    for name, _ in settings_table():
        field = name[len("PORTAL_"):].lower()
        env[name] = str(getattr(settings, field)).lower() if isinstance(getattr(settings, field), bool) \
            else str(getattr(settings, field))
    return env


async def _with_pool(settings: Settings, coro_fn, pool_size: int | None = None):
    from portal.core import db

    await db.open_pool(settings, max_size=pool_size)
    try:
        return await coro_fn()
    finally:
        await db.close_pool()


@click.group()
def main() -> None:
    """Tenant archive portal of a property-management office."""


@main.command()
def config() -> None:
    """Show the configuration variables and their current values."""
    settings = load_settings()
    for name, default in settings_table():
        value = getattr(settings, name[len("PORTAL_"):].lower())
        secret = any(s in name for s in ("SECRET", "KEY", "PASSWORD"))
        click.echo(f"{name:32} {'***' if secret else value}   (default: {'***' if secret else default})")


async def prepare_database(settings: Settings, jobs: int = 2, echo=click.echo) -> dict:
    """Create the database if needed and migrate core and every tenant schema."""
    from portal.core.db import ensure_database
    from tenants.migrate import migrate_all

    if await ensure_database(settings):
        echo(f"created database {settings.database_url.rsplit('/', 1)[-1]}")

    def progress(done: int, failed: int, total: int) -> None:
        if total and (done + failed) % 100 == 0 or done + failed == total:
            echo(f"  tenants migrated {done}/{total}, failed {failed}")

    report = await _with_pool(settings, lambda: migrate_all(jobs=jobs, progress=progress), pool_size=jobs + 1)
    return report.as_dict()


@main.command()
@click.option("--jobs", default=2, show_default=True, help="Tenant schemas migrated at once.")
def migrate(jobs: int) -> None:
    """Migrate the core schema and every tenant schema."""
    settings = _settings()
    report = asyncio.run(prepare_database(settings, jobs=jobs))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    if report["failures"]:
        click.echo("Some tenant schemas failed; they are retried on the next run.", err=True)
        sys.exit(1)


@main.group()
def tenants() -> None:
    """Tenant registry commands."""


@tenants.command()
@click.option("--fix/--no-fix", default=True, show_default=True, help="Rewrite drifted summary rows.")
def reconcile(fix: bool) -> None:
    """Rebuild the core summary rows from the tenant schemas and report drift."""
    from tenants.registry.reconcile import reconcile_all

    settings = _settings()
    report = asyncio.run(_with_pool(settings, lambda: reconcile_all(fix=fix)))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))


@main.command()
def demo() -> None:
    """Load the demo office (3 buildings, 60 tenants, staff, portal users) once."""
    from portal.demo import load_demo

    settings = _settings()
    asyncio.run(prepare_database(settings))
    created = asyncio.run(_with_pool(settings, lambda: load_demo(settings)))
    click.echo("demo data loaded" if created else "demo data already present")


@main.command()
@click.option("--reload", is_flag=True, help="Restart on code changes (development).")
def web(reload: bool) -> None:
    """Run the web server only."""
    from portal.web import serve

    settings = _settings()
    serve.run(settings, workers=1 if reload else web_workers(settings), reload=reload)


def web_workers(settings: Settings) -> int:
    """Web server processes: the setting, or one per CPU core available to us."""
    return settings.web_workers if settings.web_workers > 0 else len(os.sched_getaffinity(0))


@main.command()
@click.option("--concurrency", default=2, show_default=True)
def worker(concurrency: int) -> None:
    """Run a Celery worker."""
    os.execvp(sys.executable, [sys.executable, "-m", "celery", "-A", "tasks.worker", "worker",
                               f"--concurrency={concurrency}", "--loglevel=INFO"])


@main.command()
def beat() -> None:
    """Run Celery beat (the schedule of periodic jobs)."""
    settings = _settings()
    schedule = settings.data_path / "celerybeat-schedule"
    schedule.parent.mkdir(parents=True, exist_ok=True)
    os.execvp(sys.executable, [sys.executable, "-m", "celery", "-A", "tasks.worker", "beat", "--loglevel=INFO",
                               f"--schedule={schedule}"])


@contextmanager
def local_services(settings: Settings, *needed: str, echo=click.echo, backups: bool = False):
    """Use the ``needed`` services ("postgres", "redis", "s3") where they answer and
    start the missing ones locally (stopped again on exit). One that can be
    neither reached nor started ends the command with one line naming it."""
    from portal.devservices import LocalServices, ServiceError

    services = LocalServices(settings, **{name: name in needed for name in ("postgres", "redis", "s3")},
                             backups=backups)
    try:
        services.start()
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        for line in services.report:  # the services checked (or started) before any failure
            echo(line)
    try:
        yield services
    finally:
        services.stop()


@main.command()
@click.option("--no-demo", is_flag=True, help="Do not load demo data.")
def up(no_demo: bool) -> None:
    """Start everything: services it can't reach, migrations, demo data, web, worker and beat."""
    from portal.core.s3 import ensure_bucket
    from portal.devservices import ServiceError
    from portal.devservices.probes import require_free_port
    from portal.devservices.supervisor import Supervisor, wait_for_http

    settings = _settings()
    try:  # before anything starts: an old `up` (or anything else) still serving here
        require_free_port(settings.host, settings.port, "web")
    except ServiceError as exc:
        raise click.ClickException(str(exc)) from None
    # Ctrl-C (even when started from a script that ignores SIGINT) and SIGTERM
    # both stop everything this command started.
    signal.signal(signal.SIGINT, _interrupted)
    signal.signal(signal.SIGTERM, _interrupted)
    logs = settings.data_path / "logs"
    children = Supervisor(_env_for(settings), logs)
    try:
        with local_services(settings, "postgres", "redis", "s3", backups=True):
            try:
                ensure_bucket(settings)
                asyncio.run(prepare_database(settings))
                if not no_demo:
                    from portal.demo import load_demo

                    created = asyncio.run(_with_pool(settings, lambda: load_demo(settings)))
                    click.echo("demo data loaded" if created else "demo data already present")
                for name in ("web", "worker", "beat"):
                    children.start(name)
                if not wait_for_http(f"http://{settings.host}:{settings.port}/healthz"):
                    raise click.ClickException(f"the web server did not start; see {logs / 'web.log'}")
                _print_welcome(settings)
                dead = children.wait_any()
                click.echo(f"stopped: {', '.join(dead)} exited; see {logs}", err=True)
                sys.exit(1)
            finally:
                children.stop()
    except KeyboardInterrupt:
        pass  # everything started is stopped by now


def _interrupted(_signum, _frame) -> None:
    click.echo("\nstopping…")
    raise KeyboardInterrupt


def _print_welcome(settings: Settings) -> None:
    from portal.demo import DEMO_PASSWORD, demo_logins

    click.echo("")
    click.echo(f"Tenant archive portal is running at {settings.base_url}")
    click.echo(f"  staff console:  {settings.base_url}/console/")
    click.echo(f"  tenant portal:  {settings.base_url}/portal/")
    click.echo(f"  API docs:       {settings.base_url}/api/docs")
    click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for role, login in demo_logins():
        click.echo(f"  {role:24} {login}")
    click.echo("Press Ctrl-C to stop everything.")


@main.group()
def bench() -> None:
    """Benchmarks (print one JSON object). They use scratch databases, and start the
    local services they need the way `up` does."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))


def _progress(as_json: bool):
    """Where a benchmark reports progress: nowhere when only the JSON is wanted."""
    return (lambda _line: None) if as_json else click.echo


@bench.command("tenancy")
@click.option("--tenants", default=1000, show_default=True)
@click.option("--jobs", default=4, show_default=True, help="Concurrent schema migrations.")
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON result.")
def bench_tenancy(tenants: int, jobs: int, as_json: bool) -> None:
    """Provisioning, migrations, tenant reads and staff lists at N tenants."""
    from tests.benchmarks import bench_tenancy as b

    settings = load_settings()
    with local_services(settings, "postgres", echo=_progress(as_json)):
        result = b.main(settings, tenants, jobs, progress=_progress(as_json))
    click.echo(json.dumps(result))


@main.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def test(pytest_args: tuple[str, ...]) -> None:
    """Run the test suite (starts any missing PostgreSQL/Redis/S3 first)."""
    import pytest

    os.chdir(ROOT)
    code = pytest.main(list(pytest_args))
    sys.exit(int(code))


# --- document keys and the documents benchmark (issue 3) ----------------------------------------

@main.group()
def keys() -> None:
    """Encryption keys of the document archive."""


@keys.command("rotate-master")
@click.option("--old-key-env", required=True, help="Environment variable holding the OLD master key (base64).")
def rotate_master(old_key_env: str) -> None:
    """Rewrap every tenant data key from the old master key to PORTAL_MASTER_KEY.
    Objects in S3 are not touched."""
    from documents.keys import rotate_master as rotate

    settings = _settings()
    old = os.environ.get(old_key_env)
    if not old:
        raise click.ClickException(f"{old_key_env} is not set")
    report = asyncio.run(_with_pool(settings, lambda: rotate(old, settings.master_key)))
    click.echo(json.dumps(report))


@main.group()
def purge() -> None:
    """Destroyed files (issue 10)."""


@purge.command("verify")
@click.option("--tenant", "archive_no", required=True, help="The destroyed file's archive number.")
def purge_verify(archive_no: str) -> None:
    """Re-check a destroyed file: print what, if anything, is left (S3 versions, schema, key, core rows).
    Exit code 0 when nothing is left, 1 when something is, 2 when no destroyed file has that number."""
    from documents.storage import get_storage
    from tenants.destruction.purge import verify_archive_no

    settings = _settings()
    get_storage(settings)
    report = asyncio.run(_with_pool(settings, lambda: verify_archive_no(archive_no.strip())))
    click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    if not report["found"] or not report.get("destroyed"):
        sys.exit(2)
    sys.exit(1 if report["left"] else 0)


@bench.command("documents")
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON result.")
@click.option("--size-mb", default=200, show_default=True, help="Size of the large upload.")
@click.option("--catalog-docs", default=500, show_default=True)
@click.option("--rounds", default=3, show_default=True, help="Alternating app/SDK transfers of each kind.")
def bench_documents(as_json: bool, size_mb: int, catalog_docs: int, rounds: int) -> None:
    """Upload/download throughput through the app vs the SDK, upload memory, catalog PDF time."""
    from tests.benchmarks import bench_documents as b

    settings = load_settings()
    with local_services(settings, "postgres", "redis", "s3", echo=_progress(as_json)):
        result = b.main(settings, size_mb=size_mb, catalog_docs=catalog_docs, rounds=rounds,
                        progress=_progress(as_json))
    click.echo(json.dumps(result))


@bench.command("purge")
@click.option("--objects", default=10000, show_default=True, help="Object versions of the tenant purged.")
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON result.")
def bench_purge(objects: int, as_json: bool) -> None:
    """The purge of one destroyed tenant with N object versions, and its verification."""
    from tests.benchmarks import bench_purge as b

    settings = load_settings()
    with local_services(settings, "postgres", "redis", "s3", echo=_progress(as_json)):
        result = b.main(settings, objects=objects, progress=_progress(as_json))
    click.echo(json.dumps(result))


# --- money benchmarks (issue 4) -------------------------------------------------------------------

@bench.command("notices")
@click.option("--tenants", default=1000, show_default=True, help="Tenants in arrears (the batch size).")
@click.option("--singles", default=40, show_default=True, help="Single notices timed one by one.")
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON result.")
def bench_notices(tenants: int, singles: int, as_json: bool) -> None:
    """Single arrears notice latency (render, file, e-mail) and a batch of 1,000 in one worker (concurrency 2),
    with a plain one-page render as the machine's reference."""
    from tests.benchmarks import bench_money as b

    settings = load_settings()
    with local_services(settings, "postgres", "redis", "s3", echo=_progress(as_json)):
        result = b.main_notices(settings, tenants=tenants, singles=singles, progress=_progress(as_json))
    click.echo(json.dumps(result))


@bench.command("billing")
@click.option("--tenants", default=5000, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON result.")
def bench_billing(tenants: int, as_json: bool) -> None:
    """The monthly billing run for N tenants in one worker (concurrency 2); median of 3 runs, with a
    PostgreSQL insert+select loop of N rows as the machine's reference."""
    from tests.benchmarks import bench_money as b

    settings = load_settings()
    with local_services(settings, "postgres", "redis", echo=_progress(as_json)):
        result = b.main_billing(settings, tenants, progress=_progress(as_json))
    click.echo(json.dumps(result))


@bench.command("servicedesk")
@click.option("--tenants", default=2000, show_default=True)
@click.option("--orders", default=20000, show_default=True)
@click.option("--technicians", default=40, show_default=True)
@click.option("--rate", default=20.0, show_default=True, help="Orders reported per second.")
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON result.")
def bench_servicedesk(tenants: int, orders: int, technicians: int, rate: float, as_json: bool) -> None:
    """Repair dispatch in a real worker, the SLA scan, the board and a technician's list."""
    from tests.benchmarks import bench_servicedesk as b

    settings = load_settings()
    with local_services(settings, "postgres", "redis", echo=_progress(as_json)):
        result = b.main(settings, tenants, orders, technicians, rate, progress=_progress(as_json))
    click.echo(json.dumps(result))


@bench.command("web")
@click.option("--tenants", default=50, show_default=True)
@click.option("--clients", default=20, show_default=True, help="Concurrent keep-alive connections.")
@click.option("--requests", default=5000, show_default=True, help="Requests per phase (portal home, then mix).")
@click.option("--json", "as_json", is_flag=True, help="Print only the JSON result.")
def bench_web(tenants: int, clients: int, requests: int, as_json: bool) -> None:
    """The web server under load: requests/s, latency, and every answer checked for the right tenant."""
    from tests.benchmarks import bench_web as b

    settings = load_settings()
    with local_services(settings, "postgres", "redis", echo=_progress(as_json)):
        result = b.main(settings, tenants=tenants, clients=clients, requests=requests, progress=_progress(as_json))
    click.echo(json.dumps(result))


# --- backups: pgBackRest, the restore drill, per-tenant export/restore (issue 10 §4) ---------------

def _operator() -> str:
    """Who ran a command, for the audit log."""
    import getpass

    return f"portal command ({getpass.getuser()})"


def _passphrase(env_name: str) -> str:
    value = os.environ.get(env_name, "")
    if not value:
        raise click.ClickException(f"{env_name} is not set: it holds the archive's passphrase")
    return value


@tenants.command("export")
@click.argument("archive_no")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The encrypted archive to write.")
@click.option("--key-env", default="PORTAL_EXPORT_PASSPHRASE", show_default=True,
              help="Environment variable holding the archive's passphrase (12+ characters).")
def tenants_export(archive_no: str, out: Path, key_env: str) -> None:
    """Export one tenant (tables, its core rows, its documents) to an encrypted archive."""
    from tenants.backup.archive import ArchiveError
    from tenants.backup.transfer import TransferError, export_tenant

    settings = _settings()
    passphrase = _passphrase(key_env)
    try:
        report = asyncio.run(_with_pool(settings, lambda: export_tenant(archive_no, out, passphrase, settings,
                                                                           actor=_operator())))
    except (TransferError, ArchiveError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))


@tenants.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--key-env", default="PORTAL_EXPORT_PASSPHRASE", show_default=True,
              help="Environment variable holding the archive's passphrase.")
def tenants_restore(archive: Path, key_env: str) -> None:
    """Restore an exported tenant under a new id and archive number, read-only, for inspection."""
    from tenants.backup.archive import ArchiveError
    from tenants.backup.transfer import TransferError, restore_tenant

    settings = _settings()
    passphrase = _passphrase(key_env)
    try:
        report = asyncio.run(_with_pool(settings, lambda: restore_tenant(archive, passphrase, settings,
                                                                            actor=_operator())))
    except (TransferError, ArchiveError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(report, ensure_ascii=False, indent=2))


@main.group()
def backup() -> None:
    """pgBackRest backups of the database and the restore drill (deploy/BACKUPS.md)."""


def _repo(settings: Settings):
    from tenants.backup.pgbackrest import BackupError, repo_for

    try:
        repo = repo_for(settings)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if not repo.exists:
        raise click.ClickException(f"no pgBackRest configuration at {repo.config}: `portal up` writes one for the "
                                   "cluster it manages; production: deploy/BACKUPS.md")
    return repo


@backup.command("run")
@click.option("--type", "kind", type=click.Choice(["auto", "full", "diff", "incr"]), default="auto",
              show_default=True, help="auto: full on Sundays, incremental on other days.")
def backup_run(kind: str) -> None:
    """Take a backup now (and expire the ones past PORTAL_BACKUP_RETENTION_DAYS)."""
    import datetime as dt

    from tenants.backup import pgbackrest

    settings = _settings()
    repo = _repo(settings)
    kind = pgbackrest.scheduled_type(dt.date.today()) if kind == "auto" else kind
    try:
        click.echo(json.dumps(pgbackrest.backup(repo, kind, settings.backup_retention_days), indent=2))
    except pgbackrest.BackupError as exc:
        raise click.ClickException(str(exc)) from None


@backup.command("info")
def backup_info() -> None:
    """The backups in the repository, oldest first (JSON)."""
    from tenants.backup import pgbackrest

    repo = _repo(_settings())
    try:
        click.echo(json.dumps(pgbackrest.backups(pgbackrest.info(repo)), indent=2))
    except pgbackrest.BackupError as exc:
        raise click.ClickException(str(exc)) from None


@backup.command("drill")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--backup", "take_backup", is_flag=True, help="Take an incremental backup first.")
@click.option("--set", "backup_set", default="", help="Backup label to restore (default: the latest).")
@click.option("--no-objects", is_flag=True, help="Skip the S3 object checksums (row counts only).")
def backup_drill(as_json: bool, take_backup: bool, backup_set: str, no_objects: bool) -> None:
    """Restore a backup into a scratch cluster, compare it with the live system; exit 1 on a mismatch."""
    from portal.devservices import ServiceError
    from portal.devservices.pgbackrest import drill
    from tenants.backup.pgbackrest import BackupError

    settings = _settings()
    repo = _repo(settings)
    try:
        report = drill(settings, repo, backup_set=backup_set, take_backup=take_backup, objects=not no_objects)
    except (BackupError, ServiceError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        _print_drill(report)
    sys.exit(0 if report["ok"] else 1)


def _print_drill(report: dict) -> None:
    b = report["backup"]
    click.echo(f"backup {b['label']} ({b['type']}, stopped {b['stopped']}) restored in {report['restore_s']} s")
    click.echo(f"tenants {report['tenants']}, tables {report['tables']}, rows {report['rows']}, "
               f"objects {report['objects_ok']}/{report['objects_checked']} match")
    for m in report["mismatches"]:
        click.echo(f"MISMATCH {m['archive_no']}: rows {m['row_mismatches']} objects {m['objects_bad']}"
                   + (" (gone from the live system)" if m["missing_live"] else ""))
    if report["new_since_backup"]:
        click.echo(f"created since the backup (not compared): {', '.join(report['new_since_backup'])}")
    click.echo("drill passed" if report["ok"] else "drill FAILED")


if __name__ == "__main__":
    main()
