"""The Celery application, built from ``Settings`` like the web app."""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab

from portal.core.settings import Settings
from tenants.money import recovery

TASK_MODULES = ["tasks.tenancy", "tasks.documents", "tasks.money", "tasks.repairs", "tasks.complaints",
                "tasks.surveys", "tasks.retention", "tasks.destruction", "tasks.backups",
                "tasks.notify"]


def make_celery(settings: Settings) -> Celery:
    app = Celery("tenant_archive", broker=settings.redis_url, backend=settings.redis_url, include=TASK_MODULES)
    app.conf.update(
        task_acks_late=True,  # a worker killed mid-task leaves it to be redelivered
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        broker_transport_options={"visibility_timeout": 3600},
        result_expires=86400,
        timezone="Asia/Shanghai",
        enable_utc=True,
        task_serializer="json",
        accept_content=["json"],
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule={
            "money-recover": {  # dead billing runs / notice batches resumed within a minute
                "task": "money.recover",
                "schedule": recovery.SWEEP_SECONDS,
            },
            "reconcile-summaries-nightly": {
                "task": "tenancy.reconcile",
                "schedule": crontab(hour=2, minute=30),
            },
            "expire-invitations-hourly": {
                "task": "tenancy.expire_invitations",
                "schedule": crontab(minute=5),
            },
            "documents-withdraw-expired-grants": {
                "task": "documents.withdraw_expired_grants",
                "schedule": crontab(minute="*/5"),
            },
            "documents-loan-reminders": {
                "task": "documents.loan_reminders",
                "schedule": crontab(hour="8,14", minute=0),
            },
            "surveys-close-due": {  # surveys past their closing date
                "task": "surveys.close_due",
                "schedule": crontab(hour=0, minute=20),
            },
            "destruction-start-due": {  # cooling-off periods that ended; purges whose worker died
                "task": "destruction.start_due",
                "schedule": crontab(minute="*/5"),
            },
            "documents-delete-expired-exports": {
                "task": "documents.delete_expired_exports",
                "schedule": crontab(minute="*/10"),
            },
            "repairs-sla-scan": {"task": "repairs.sla_scan", "schedule": 60.0},
            "repairs-sweep": {"task": "repairs.sweep", "schedule": 120.0},
            "repairs-auto-close": {"task": "repairs.auto_close", "schedule": crontab(minute=15)},
            "complaints-escalate": {  # overdue complaint steps: flagged, then escalated
                "task": "complaints.escalate",
                "schedule": crontab(minute="*/5"),
            },
            "retention-dormancy-daily": {  # files with no business for a year become dormant
                "task": "retention.dormancy",
                "schedule": crontab(hour=3, minute=10),
            },
            "retention-disposition-monthly": {  # the disposition list, first day of the month
                "task": "retention.disposition",
                "schedule": crontab(day_of_month=1, hour=3, minute=40),
            },
            "backup-nightly": {  # full on Sundays, incremental otherwise (tasks/backups.py)
                "task": "backup.scheduled",
                "schedule": crontab(hour=1, minute=30),
            },
        },
    )
    app.portal_settings = settings
    return app


def sender(app: Celery):
    """How ``portal.core.jobs`` sends follow-ups through this app (by the task's
    registered name; callers hand over the task object itself)."""
    def send(task_name: str, args: list, kwargs: dict, options: dict) -> None:
        app.send_task(task_name, args=args, kwargs=kwargs, **options)

    return send
