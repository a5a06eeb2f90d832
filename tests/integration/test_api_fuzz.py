"""API fuzzing: schemathesis drives the live server from its served OpenAPI
schema, signed in as staff and as a tenant's portal user, and fails on any
5xx and on any answer the schema does not describe (status, content type,
headers, body), on invalid input the server accepts, and on unsupported
methods answered without ``Allow``.

Bounded and deterministic (a fixed number of derandomized examples per
operation and mode), so it runs in CI with the rest of the suite.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks

from tests import factories
from tests.e2e.conftest import live_server  # noqa: F401  (the same live server as the browser tests)

CHECKS = [
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
]
# Signing out (or failing to sign in) would end the fuzzer's own sessions and
# lock its address out; both are tested by hand in test_api.py.
SKIPPED = r"^/api/v1/auth/(login|logout)$"
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 15}


@pytest.fixture(scope="session")
async def fuzz_people(database):
    bld = await factories.building()
    tenant_id = await factories.tenant(bld)
    staff = await factories.staff(["archivist", "general_manager"])
    portal = await factories.portal_user(tenant_id)
    return {"tenant_id": tenant_id,
            "logins": {"staff": ("staff", staff["username"]), "portal": ("portal", portal["email"])}}


def _session(base_url: str, kind: str, login: str) -> requests.Session:
    session = requests.Session()
    token = session.get(f"{base_url}/api/v1/auth/csrf", timeout=10).json()["csrf_token"]
    response = session.post(f"{base_url}/api/v1/auth/login", timeout=10, headers={"x-csrftoken": token},
                            json={"kind": kind, "login": login, "password": factories.PASSWORD})
    assert response.status_code == 200, response.text
    session.headers["x-csrftoken"] = response.json()["csrf_token"]
    return session


@pytest.fixture(scope="session")
def fuzz_sessions(live_server, fuzz_people):  # noqa: F811
    return {who: _session(live_server, *creds) for who, creds in fuzz_people["logins"].items()}


@pytest.fixture(scope="session")
def api_schema(live_server):  # noqa: F811
    return schemathesis.openapi.from_url(f"{live_server}/api/docs/openapi.json").exclude(path_regex=SKIPPED)


def _fuzz(operation, mode: GenerationMode, session: requests.Session, tenant_id: int) -> None:
    # Valid requests only ever change the fuzzer's own tenant, never another test's.
    pinned = {"tenant_id": tenant_id} if mode is GenerationMode.POSITIVE and "{tenant_id}" in operation.path else None

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=pinned))
    @settings(max_examples=EXAMPLES[mode], derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
    def run(case):
        case.call_and_validate(session=session, checks=CHECKS, timeout=30)

    run()


@pytest.mark.parametrize("who", ["staff", "portal"])
def test_api_answers_as_its_schema_says(api_schema, fuzz_people, fuzz_sessions, who):
    failures = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, fuzz_sessions[who], fuzz_people["tenant_id"])
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE
            except Exception as exc:  # every operation is fuzzed; all failures are reported together
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


def test_unsupported_methods_answer_405_with_allow(api_schema, live_server, fuzz_sessions):  # noqa: F811
    session = fuzz_sessions["staff"]
    for path, item in api_schema.raw_schema["paths"].items():
        declared = {m.upper() for m in item if m in {"get", "put", "post", "patch", "delete"}}
        url = live_server + path.replace("{tenant_id}", "1").replace("{contact_id}", "1").replace("{request_id}", "1")
        for method in ("TRACE", "DELETE", "PUT", "PATCH"):
            if method in declared:
                continue
            response = session.request(method, url, timeout=10)
            assert response.status_code == 405, (method, path, response.status_code)
            allowed = {m.strip() for m in response.headers["allow"].split(",")}
            assert declared <= allowed and method not in allowed, (method, path, allowed)
