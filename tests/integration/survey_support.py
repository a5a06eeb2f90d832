"""Builders shared by the survey tests: buildings with tenants, a survey through
the service, answers as the tenants' portal users."""

from __future__ import annotations

import datetime as dt
import itertools

from portal.core.roles import Principal, Role
from portal.core.workdays import today
from tenants.registry import service as registry
from tenants.surveys import service
from tests import factories

_ids = itertools.count(9800)
SUPERVISOR = Principal(kind="staff", user_id=9701, name="主管甲", roles=frozenset({Role.SUPERVISOR}))
GM = Principal(kind="staff", user_id=9702, name="总经理乙", roles=frozenset({Role.GENERAL_MANAGER}))
GM2 = Principal(kind="staff", user_id=9703, name="总经理丙", roles=frozenset({Role.GENERAL_MANAGER}))


def portal_of(ref, name: str = "租户联系人") -> Principal:
    return Principal(kind="portal", user_id=next(_ids), name=name, tenant_id=ref.id)


async def office(names: dict[str, list[str]]) -> tuple[dict, dict]:
    """Buildings by label and tenant refs by name: {"A": ["甲公司", ...], "B": [...]}."""
    buildings, refs = {}, {}
    for label, tenants in names.items():
        buildings[label] = await factories.building()
        for i, name in enumerate(tenants):
            refs[name] = await registry.get_ref(await factories.tenant(
                buildings[label], name=name, industry="软件" if i % 2 == 0 else "餐饮", level=str(i % 3)))
    return buildings, refs


async def survey(settings, *, audience: str = "all", building_ids=(), custom: str = "", title: str = "年度满意度调查",
                 questions=("service", "price", "responsiveness", "overall")) -> int:
    raw = {"title": title, "kind": "yearly", "questions": list(questions), "custom": custom, "audience": audience,
           "building_ids": [str(b) for b in building_ids], "closes_on": (today() + dt.timedelta(days=14)).isoformat()}
    return await service.create_survey(raw, SUPERVISOR, settings)


def scores(**values) -> dict:
    return {f"score_{k}": str(v) for k, v in values.items()}
