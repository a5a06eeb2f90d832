"""The backup schedule (seed 001 §五): every night a pgBackRest backup, full on
Sundays and incremental on the other days; pgBackRest expires what is older than
PORTAL_BACKUP_RETENTION_DAYS. Runs where the configuration file is (the local
cluster of `portal up`); production runs the same commands from cron on the
database host (deploy/BACKUPS.md) and leaves PORTAL_BACKUP_CONFIG empty here."""

from __future__ import annotations

import datetime as dt
import logging

from celery import current_app, shared_task

from tenants.backup import pgbackrest

log = logging.getLogger(__name__)


@shared_task(name="backup.scheduled")
def scheduled() -> dict:
    settings = current_app.portal_settings
    repo = pgbackrest.repo_for(settings)
    if not repo.exists:
        log.info("no pgBackRest configuration at %s: no backup taken here", repo.config)
        return {"skipped": str(repo.config)}
    return pgbackrest.backup(repo, pgbackrest.scheduled_type(dt.date.today()), settings.backup_retention_days)
