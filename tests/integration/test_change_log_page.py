"""The tenant file's change log page and its total come from one query (the
total rides along as a window) and stay right on every page."""

from __future__ import annotations

from tenants.file import service as file_service
from tenants.registry import service as registry
from tests import factories


async def test_change_log_pages_and_total(database, monkeypatch):
    monkeypatch.setattr(file_service, "CHANGES_PER_PAGE", 2)
    ref = await registry.get_ref(await factories.tenant(await factories.building()))
    for n in range(3):
        await file_service.update_profile(ref, {"industry": f"行业{n}"}, factories.SYSTEM)
    first = await file_service.read_file(ref, factories.SYSTEM, changes_page=1, audit_view=False)
    total = first["changes_total"]
    assert total >= 3 and len(first["changes"]) == 2
    assert all("_total" not in change for change in first["changes"])
    last_page = (total + 1) // 2
    last = await file_service.read_file(ref, factories.SYSTEM, changes_page=last_page, audit_view=False)
    assert last["changes_total"] == total and len(last["changes"]) == total - 2 * (last_page - 1)
    beyond = await file_service.read_file(ref, factories.SYSTEM, changes_page=last_page + 5, audit_view=False)
    assert beyond["changes_total"] == total and beyond["changes"] == []
