"""pgBackRest and the restore drill (issue 10 §4), on a throwaway cluster that
`portal up`'s own code starts on a free port (never the machine's PostgreSQL):

- the cluster `up` starts archives its WAL into a repository under the data dir,
  with a stanza that passes `pgbackrest check`;
- the nightly beat task takes a backup (full on Sundays, incremental otherwise;
  the first is always full), `portal backup run` and `portal backup info` work;
- `portal backup drill` restores the latest backup into a scratch cluster and
  passes; once the live side loses a row and an object version, it lists both
  and exits 1.

Nothing is skipped: without pgBackRest installed this fails (.ci/run installs it)."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from pathlib import Path

import asyncpg
from celery import current_app
from click.testing import CliRunner

from documents.storage import Storage
from portal import cli
from portal.devservices import LocalServices
from portal.devservices.pgbackrest import copy_database, free_port
from tasks.backups import scheduled
from tenants.backup import pgbackrest
from tenants.registry import service as registry
from tests.integration.docs_support import client_of, world  # noqa: F401
from tests.integration.test_backups import file_with_business


def test_schedule_retention_and_key_expiry_follow_the_seed_and_settings(tmp_path):
    assert pgbackrest.scheduled_type(dt.date(2026, 11, 29)) == "full"  # a Sunday
    assert {pgbackrest.scheduled_type(dt.date(2026, 11, d)) for d in range(23, 29)} == {"incr"}
    text = pgbackrest.render_config(stanza="portal", repo_path=tmp_path / "repo", base=tmp_path, pg_path=tmp_path,
                                    pg_port=5999, pg_socket=tmp_path, pg_user="postgres", retention_days=21)
    assert "repo1-retention-full-type=time" in text and "repo1-retention-full=21" in text
    erased = dt.datetime(2026, 11, 30, 10, tzinfo=dt.timezone.utc)
    assert pgbackrest.holds_data_until(erased, 21) == erased + dt.timedelta(days=28)


async def test_up_cluster_backups_and_the_restore_drill(settings, world, client_of, monkeypatch):  # noqa: F811
    assert shutil.which("pgbackrest"), "pgBackRest is not installed (apt-get install pgbackrest)"
    clerk = await client_of(world["clerk"]["username"])
    await file_with_business(clerk, world["a"])
    ref = await registry.get_ref(world["a"])

    base = Path(tempfile.mkdtemp(prefix="pgup-", dir="/tmp"))
    os.chmod(base, 0o755)  # the cluster runs as the postgres OS user when we are root
    local = settings.with_(database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/portal_drill",
                           data_dir=str(base), backup_config="", backup_stanza="portal", backup_retention_days=9)
    services = LocalServices(local, redis=False, s3=False, backups=True)
    try:
        report = "\n".join(services.start())
        assert "started PostgreSQL" in report and "stanza 'portal' ready" in report, report
        repo = pgbackrest.repo_for(local)
        assert repo.config == base / "pgbackrest" / "pgbackrest.conf" and "repo1-retention-full=9" in (
            repo.config.read_text())
        copy_database(settings.database_url, local.database_url, schemas=("core", ref.schema))
        conn = await asyncpg.connect(local.database_url)
        try:
            assert await conn.fetchval("SHOW archive_mode") == "on"
            assert "archive-push" in await conn.fetchval("SHOW archive_command")
        finally:
            await conn.close()

        # The nightly beat task, then an incremental through the command.
        monkeypatch.setattr(current_app, "portal_settings", local, raising=False)
        full = scheduled.run()
        assert full["type"] == "full"
        env = {"PORTAL_DATABASE_URL": local.database_url, "PORTAL_DATA_DIR": str(base),
               "PORTAL_BACKUP_CONFIG": "", "PORTAL_BACKUP_STANZA": "portal", "PORTAL_BACKUP_RETENTION_DAYS": "9",
               "PORTAL_S3_BUCKET": settings.s3_bucket}
        runner = CliRunner()
        taken = runner.invoke(cli.main, ["backup", "run", "--type", "incr"], env=env)
        assert taken.exit_code == 0, taken.output
        incr = json.loads(taken.output)
        assert incr["type"] == "incr"
        listed = runner.invoke(cli.main, ["backup", "info"], env=env)
        assert [b["label"] for b in json.loads(listed.output)] == [full["label"], incr["label"]]

        passed = runner.invoke(cli.main, ["backup", "drill", "--json"], env=env)
        assert passed.exit_code == 0, passed.output
        drill = json.loads(passed.output)
        assert drill["ok"] and drill["backup"]["label"] == incr["label"]
        assert drill["objects_checked"] == drill["objects_ok"] == 3
        assert drill["tenants"] == 1 and drill["rows"] > 0 and drill["tombstones"] > 0

        # The live system moves away from the backup: a row deleted, an object version gone.
        conn = await asyncpg.connect(local.database_url)
        try:
            entries = await conn.fetchval(f'SELECT count(*) FROM "{ref.schema}".change_log')
            await conn.execute(f'DELETE FROM "{ref.schema}".change_log WHERE id = (SELECT max(id) FROM'
                               f' "{ref.schema}".change_log)')
            victim = await conn.fetchrow(f'SELECT object_key, s3_version_id FROM "{ref.schema}".document_version'
                                         " ORDER BY id LIMIT 1")
        finally:
            await conn.close()
        Storage(settings).remove(victim["object_key"], victim["s3_version_id"])
        failed = runner.invoke(cli.main, ["backup", "drill", "--json"], env=env)
        assert failed.exit_code == 1, failed.output
        drill = json.loads(failed.output)
        assert not drill["ok"]
        [mismatch] = drill["mismatches"]
        assert mismatch["archive_no"] == ref.archive_no
        assert mismatch["row_mismatches"] == {"change_log": {"backup": entries, "live": entries - 1}}
        assert [o["object_key"] for o in mismatch["objects_bad"]] == [victim["object_key"]]
    finally:
        services.stop()
        shutil.rmtree(base, ignore_errors=True)
