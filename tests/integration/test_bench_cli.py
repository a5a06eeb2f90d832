"""`portal bench ...` for real: each command checks the local services it needs
the way `up` does, and one it can neither reach nor start (only loopback
services are started) ends the command with ONE line naming it, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

# TEST-NET-1 (RFC 5737): never routed, so nothing answers there.
UNREACHABLE = "192.0.2.1"


def _bench(settings, tmp_path, *args: str, **overrides: str) -> subprocess.CompletedProcess:
    from portal.cli import _env_for

    env = {**_env_for(settings), "PORTAL_DATA_DIR": str(tmp_path), **overrides}
    return subprocess.run([sys.executable, "-m", "portal.cli", "bench", *args], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("command, service, override", [
    ("notices", "S3", {"PORTAL_S3_ENDPOINT": f"{UNREACHABLE}:8333"}),
    ("documents", "S3", {"PORTAL_S3_ENDPOINT": f"{UNREACHABLE}:8333"}),
    ("billing", "Redis", {"PORTAL_REDIS_URL": f"redis://{UNREACHABLE}:6379/0"}),
    ("web", "Redis", {"PORTAL_REDIS_URL": f"redis://{UNREACHABLE}:6379/0"}),
    ("servicedesk", "Redis", {"PORTAL_REDIS_URL": f"redis://{UNREACHABLE}:6379/0"}),
    ("tenancy", "PostgreSQL", {"PORTAL_DATABASE_URL": f"postgresql://postgres@{UNREACHABLE}:5432/portal"}),
])
def test_a_missing_service_is_named_in_one_line(services, settings, tmp_path, command, service, override):
    result = _bench(settings, tmp_path, command, **override)
    assert result.returncode == 1, result
    assert "Traceback" not in result.stderr + result.stdout
    port = override.popitem()[1].rsplit(":", 1)[1].split("/")[0]
    assert result.stderr.splitlines() == [
        f"Error: {service} {UNREACHABLE}:{port}: not reachable, and only loopback services are started locally"]
    assert not [name for name in ("pg", "redis", "s3") if (tmp_path / name).exists()]  # nothing was started


def test_services_that_answer_are_used_and_named(services, settings, tmp_path):
    from portal.devservices.probes import postgres_endpoint, redis_endpoint

    result = _bench(settings, tmp_path, "notices", PORTAL_S3_ENDPOINT=f"{UNREACHABLE}:8333")
    assert result.stdout.splitlines() == [f"PostgreSQL {postgres_endpoint(settings)}: using running server",
                                          f"Redis {redis_endpoint(settings)}: using running server"]


def test_json_mode_prints_no_service_lines(services, settings, tmp_path):
    result = _bench(settings, tmp_path, "notices", "--json", PORTAL_S3_ENDPOINT=f"{UNREACHABLE}:8333")
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1


def test_bench_help_lists_every_benchmark():
    result = subprocess.run([sys.executable, "-m", "portal.cli", "bench", "--help"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    for command in ("tenancy", "documents", "notices", "billing", "web", "purge", "servicedesk"):
        assert f"  {command} " in result.stdout
