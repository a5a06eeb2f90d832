"""The deploy files stay in step with the settings: every PORTAL_* variable is
passed by compose and documented in env.example; the compose file parses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from portal.core.settings import settings_table

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS = {name for name, _ in settings_table()}


def _compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_passes_every_setting_to_the_application():
    services = _compose()["services"]
    for name in ("migrate", "web", "worker", "beat"):
        env = services[name]["environment"]
        assert SETTINGS <= set(env), (name, sorted(SETTINGS - set(env)))
        assert env["PORTAL_ENV"] == "production"
        assert not set(env) - SETTINGS - {"TZ", "FORWARDED_ALLOW_IPS"}, "unknown PORTAL_* variable"


def test_compose_order_and_one_shot_jobs():
    services = _compose()["services"]
    assert services["migrate"]["command"][:1] == ["migrate"]
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["minio-init"]["condition"] == "service_completed_successfully"
    assert "max_locks_per_transaction=1024" in services["postgres"]["command"]
    assert "--with-lock" in services["minio-init"]["command"][0]
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    # Images by name only: no registry host names.
    for image in re.findall(r"^\s*image:\s*(\S+)", text, re.M):
        assert "." not in image.split("/")[0] or "/" not in image, image


def test_env_example_documents_every_setting():
    text = (DEPLOY / "env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?(PORTAL_[A-Z0-9_]+)=", text, re.M))
    assert SETTINGS <= documented, sorted(SETTINGS - documented)
