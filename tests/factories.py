"""Test data builders that go through the same services as the product."""

from __future__ import annotations

import itertools
import uuid

from portal.accounts import service as accounts
from portal.core.roles import Principal, Role
from portal.core.db import DB
from tenants import validators
from tenants.registry import service as registry

PASSWORD = "Correct-Horse-Battery-9"
_seq = itertools.count(1)
SYSTEM = Principal(kind="staff", user_id=0, name="test-system", roles=frozenset({Role.GENERAL_MANAGER}))


def credit_code(number: int | None = None) -> str:
    """A valid credit code; ``number`` makes it stable (benchmarks that resume
    provisioning in a new process), else the next of this process."""
    body = f"91310000{(next(_seq) if number is None else number) % 10**9:09d}"[:17]
    return validators.make_valid_credit_code(body)


async def building(code: str | None = None, units: int = 4) -> dict:
    code = code or "B" + uuid.uuid4().hex[:6]
    building_id = await DB.pool.fetchval(
        "INSERT INTO core.building (code, name, address, floors) VALUES ($1, $2, '', 10) RETURNING id",
        code, f"测试大厦{code}",
    )
    unit_ids = []
    for i in range(units):
        unit_ids.append(await DB.pool.fetchval(
            "INSERT INTO core.unit (building_id, floor, code, area_m2) VALUES ($1, $2, $3, 120.5) RETURNING id",
            building_id, i // 2 + 1, f"{i // 2 + 1}0{i % 2 + 1}",
        ))
    return {"id": building_id, "code": code, "unit_ids": unit_ids}


async def tenant(bld: dict, name: str | None = None, **profile) -> int:
    data = {
        "name": name or f"上海测试科技有限公司{uuid.uuid4().hex[:4]}",
        "kind": "E", "level": "1", "status": "active", "business_letter": "A",
        "credit_code": credit_code(), "legal_rep": "张三", "industry": "软件",
    }
    data.update(profile)
    contact = {"name": "李四", "position": "行政经理", "mobile": "13800138000", "email": "lisi@example.com",
               "is_primary": True, "receives_notices": True}
    unit_id = await DB.pool.fetchval(  # a unit of its own: a unit is leased to one tenant at a time
        "INSERT INTO core.unit (building_id, floor, code, area_m2) VALUES ($1, 9, $2, 88.0) RETURNING id",
        bld["id"], "T" + uuid.uuid4().hex[:6])
    return await registry.create_tenant(data, [contact], [unit_id], SYSTEM,
                                        business_letters={"A": "写字楼租赁", "B": "商铺租赁"})


async def staff(roles: list[str], buildings: list[int] | None = None, username: str | None = None) -> dict:
    username = username or "u" + uuid.uuid4().hex[:10]
    staff_id = await accounts.create_staff(
        {"username": username, "display_name": f"员工{username[-4:]}", "roles": roles,
         "building_ids": buildings or []},
        PASSWORD, None,
    )
    return {"id": staff_id, "username": username, "password": PASSWORD}


async def portal_user(tenant_id: int) -> dict:
    email = f"p{uuid.uuid4().hex[:10]}@tenant.example"
    user_id = await accounts.create_portal_user(tenant_id, email, "租户用户", PASSWORD)
    return {"id": user_id, "email": email, "password": PASSWORD}


async def csrf(client, path: str = "/console/login") -> str:
    response = await client.get(path)
    return response.cookies.get("csrftoken") or client.cookies.get("csrftoken")


async def sign_in(client, login: str, password: str = PASSWORD, kind: str = "console"):
    token = await csrf(client, f"/{kind}/login")
    response = await client.post(f"/{kind}/login", data={"login": login, "password": password,
                                                         "_csrf_token": token})
    return response


async def form_token(client, path: str) -> str:
    """The CSRF token of a signed-in page (rendered in its forms)."""
    import re

    page = await client.get(path)
    match = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)
