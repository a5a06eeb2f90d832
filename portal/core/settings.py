"""Settings read from ``PORTAL_*`` environment variables.

A ``Settings`` object is built once by the entry point (CLI, worker, tests) and
passed down explicitly: ``create_app(settings)``, ``make_celery(settings)``.
Nothing reads the environment at import time, so tests build their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Mapping

PREFIX = "PORTAL_"
DEV_SECRET = "dev-secret-change-me-0123456789abcdef"
DEV_MASTER_KEY = "ZGV2LW1hc3Rlci1rZXktMzItYnl0ZXMtbG9uZy0wMDA="  # base64 of 32 dev bytes
DEV_S3_SECRET = "portal-dev-secret"


class SettingsError(RuntimeError):
    """Raised when production settings are unsafe or incomplete."""


@dataclass(frozen=True)
class Settings:
    env: str = "development"  # development | test | production
    database_url: str = "postgresql://postgres@127.0.0.1:5432/portal"
    redis_url: str = "redis://127.0.0.1:6379/0"
    s3_endpoint: str = "127.0.0.1:8333"
    s3_access_key: str = "portal"
    s3_secret_key: str = DEV_S3_SECRET
    s3_bucket: str = "tenant-archive"
    s3_secure: bool = False
    secret_key: str = DEV_SECRET
    master_key: str = DEV_MASTER_KEY
    base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: str = ".portal-data"
    db_pool_size: int = 8
    web_workers: int = 0  # web server processes; 0 = one per CPU core
    # uvicorn's per-request access log; off by default: the reverse proxy in front logs requests,
    # and the log line costs the web process ~0.1 ms of CPU per request (portal bench web).
    access_log: bool = False
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    invite_valid_hours: int = 72
    upload_max_mb: int = 50
    # clamd virus scanner for uploads: a unix socket path or host:port; empty = no scanning.
    clamd_socket: str = ""
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    mail_from: str = "archive@office.example"
    office_name: str = "示范物业管理处"
    # Money and notices (issue 4): letterhead, bank details, late-fee rule (off by default).
    office_name_en: str = "Demo Property Management Office"
    office_address: str = "上海市浦东新区示范路1号"
    office_phone: str = "021-5555 0100"
    office_bank_name: str = "中国工商银行上海示范支行"
    office_bank_account: str = "1001 2345 6789 0123 456"
    notice_pay_within_days: int = 7
    final_demand_days: int = 3
    late_fee_daily_rate: str = "0"  # e.g. "0.0005" = 0.05% of the overdue amount per day
    late_fee_grace_days: int = 0
    default_locale: str = "zh"
    # Working intervals of a working day (deadlines and SLA clocks count only these).
    office_hours: str = "08:30-12:00,13:30-17:30"
    # Outbound webhook for an SMS/WeChat gateway (outside this machine); empty = off. With a
    # secret, each POST carries X-Portal-Signature: sha256=<HMAC-SHA256 of the body>.
    notify_webhook_url: str = ""
    notify_webhook_secret: str = ""
    repair_accept_minutes: int = 15  # a dispatched repair not accepted within this goes to the next technician
    business_letters: str = "A:写字楼租赁,B:商铺租赁,C:仓储租赁"
    business_letters_en: str = "A:Office leasing,B:Shop leasing,C:Storage leasing"
    # Satisfaction surveys: a mean score below this (1-5) needs corrective actions in the report.
    survey_threshold: str = "3.5"
    # Destruction (issue 10): the cooling-off period after the second approval, and how long
    # database backups (which still hold a destroyed tenant's wrapped key) are kept.
    destruction_cooling_days: int = 7
    # Backups (pgBackRest): its configuration file (empty: the one `portal up` writes
    # for the local cluster under the data dir), the stanza, retention in days.
    backup_config: str = ""
    backup_stanza: str = "portal"
    backup_retention_days: int = 35
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir).resolve()

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)

    def check(self) -> "Settings":
        """Refuse to start with unusable office hours, or production with development secrets."""
        from portal.core.workdays import CalendarError, OfficeHours

        try:
            OfficeHours.parse(self.office_hours)
        except CalendarError as exc:
            raise SettingsError(f"PORTAL_OFFICE_HOURS: {exc}") from None
        if not self.production:
            return self
        problems = []
        if self.secret_key == DEV_SECRET or len(self.secret_key) < 32:
            problems.append("PORTAL_SECRET_KEY must be set to a random value of 32+ characters")
        if self.master_key == DEV_MASTER_KEY:
            problems.append("PORTAL_MASTER_KEY must be set (base64 of 32 random bytes)")
        if self.s3_secret_key == DEV_S3_SECRET:
            problems.append("PORTAL_S3_SECRET_KEY must not be the development default")
        if not self.base_url.startswith("https://"):
            problems.append("PORTAL_BASE_URL must be https:// in production (cookies are Secure)")
        if problems:
            raise SettingsError("Refusing to start in production:\n  - " + "\n  - ".join(problems))
        return self


def _coerce(kind: type | str, raw: str):
    kind = kind if isinstance(kind, str) else kind.__name__
    if kind == "bool":
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if kind == "int":
        return int(raw)
    return raw


def load_settings(environ: Mapping[str, str] | None = None, **overrides) -> Settings:
    """Build settings from ``PORTAL_<FIELD>`` variables, then explicit overrides."""
    environ = os.environ if environ is None else environ
    values = {}
    for f in fields(Settings):
        if f.name == "extra":
            continue
        raw = environ.get(PREFIX + f.name.upper())
        if raw is not None:
            values[f.name] = _coerce(f.type, raw)
    values.update(overrides)
    return Settings(**values)


def settings_table() -> list[tuple[str, str]]:
    """(variable, default) pairs, used by ``portal config`` and the README."""
    return [(PREFIX + f.name.upper(), str(f.default)) for f in fields(Settings) if f.name != "extra"]
