"""Helpers shared by the benchmarks (run by ``portal bench ...``, never collected by pytest)."""

from __future__ import annotations

import os
import statistics

import asyncpg

from portal.core import db
from portal.core.settings import Settings


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def rss_mb(pid: int | None = None) -> float:
    with open(f"/proc/{pid or os.getpid()}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def scratch_settings(base: Settings, name: str) -> Settings:
    url = base.database_url.rsplit("/", 1)[0] + "/" + name
    return base.with_(database_url=url, env="development")


async def recreate_database(settings: Settings) -> None:
    name = db.database_name(settings.database_url)
    admin = await asyncpg.connect(db.admin_url(settings.database_url))
    try:
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
