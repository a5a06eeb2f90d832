"""`portal up` configures pgBackRest for a cluster it starts itself (WAL archiving
into a repository under the data dir, a stanza that passes `pgbackrest check`,
the nightly beat task's backup), and leaves a cluster it only uses alone. Runs on a throwaway cluster on a free
port, never on the machine's own PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
from pathlib import Path

import asyncpg
from celery import current_app

from portal.devservices import LocalServices
from portal.devservices.pgbackrest import free_port
from tasks.backups import scheduled
from tenants.backup import pgbackrest


def test_schedule_and_retention_follow_the_seed_and_settings(tmp_path):
    assert pgbackrest.scheduled_type(dt.date(2026, 11, 29)) == "full"  # a Sunday
    assert {pgbackrest.scheduled_type(dt.date(2026, 11, d)) for d in range(23, 29)} == {"incr"}
    text = pgbackrest.render_config(stanza="portal", repo_path=tmp_path / "repo", base=tmp_path, pg_path=tmp_path,
                                    pg_port=5999, pg_socket=tmp_path, pg_user="postgres", retention_days=21)
    assert "repo1-retention-full-type=time" in text and "repo1-retention-full=21" in text


async def test_up_archives_the_wal_of_a_cluster_it_starts(settings, monkeypatch):
    assert shutil.which("pgbackrest"), "pgBackRest is not installed (apt-get install pgbackrest)"
    base = Path(tempfile.mkdtemp(prefix="pgup-", dir="/tmp"))
    os.chmod(base, 0o755)  # the cluster runs as the postgres OS user when we are root
    port = free_port()
    local = settings.with_(database_url=f"postgresql://postgres@127.0.0.1:{port}/postgres", data_dir=str(base),
                           backup_config="", backup_retention_days=9)
    services = LocalServices(local, redis=False, s3=False, backups=True)
    try:
        report = "\n".join(services.start())
        assert "started PostgreSQL" in report and "stanza 'portal' ready" in report, report
        repo = pgbackrest.repo_for(local)
        assert repo.exists and "repo1-retention-full=9" in repo.config.read_text()
        conn = await asyncpg.connect(local.database_url)
        try:
            assert await conn.fetchval("SHOW archive_mode") == "on"
            assert "archive-push" in await conn.fetchval("SHOW archive_command")
        finally:
            await conn.close()
        pgbackrest.check(repo)  # a WAL switch reaches the repository
        # The nightly beat task takes the backup (the first one is always a full one).
        monkeypatch.setattr(current_app, "portal_settings", local, raising=False)
        taken = scheduled.run()
        assert taken["type"] == "full" and [b["label"] for b in pgbackrest.backups(pgbackrest.info(repo))] == [
            taken["label"]]
    finally:
        services.stop()
        shutil.rmtree(base, ignore_errors=True)
