"""The served OpenAPI schema says what the server enforces (so a client
generated from it works): limits, required fields, no extra properties,
text patterns; and the server refuses what the schema forbids."""

from __future__ import annotations

from tests import factories
from tests.integration.test_api import staff_api


async def _schema(client_factory) -> dict:
    client = await client_factory()
    response = await client.get("/api/docs/openapi.json")
    assert response.status_code == 200
    return response.json()


def _query(schema: dict, path: str, name: str) -> dict:
    parameter = next(p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name)
    return next(s for s in parameter["schema"].get("oneOf", [parameter["schema"]]) if s.get("type") != "null")


async def test_limits_required_fields_and_closed_objects_are_declared(app, client_factory):
    schema = await _schema(client_factory)
    components = schema["components"]["schemas"]
    assert (_query(schema, "/api/v1/tenants", "level")["minimum"], _query(schema, "/api/v1/tenants", "level")["maximum"]) == (0, 3)
    assert _query(schema, "/api/v1/tenants", "building")["maximum"] == 2**31 - 1
    assert "pattern" in _query(schema, "/api/v1/tenants", "q")
    path_id = schema["paths"]["/api/v1/tenants/{tenant_id}"]["get"]["parameters"][0]["schema"]
    assert (path_id["minimum"], path_id["maximum"]) == (1, 2**31 - 1)
    patch_level = components["ProfilePatch"]["properties"]["level"]["oneOf"][0]
    assert (patch_level["minimum"], patch_level["maximum"]) == (0, 3)
    assert {"name", "kind", "business_letter"} <= set(components["TenantCreate"]["required"])
    assert "name" in components["ContactIn"]["required"]
    for name in ("TenantCreate", "ProfilePatch", "ContactIn", "ChangeRequestIn", "DecisionIn", "LoginIn"):
        assert components[name]["additionalProperties"] is False, name
    assert "pattern" in components["ContactIn"]["properties"]["position"]
    for path, item in schema["paths"].items():
        for operation in item.values():
            assert "422" in operation["responses"], path  # the input guard can answer it anywhere


async def test_the_server_refuses_what_the_schema_forbids(database, client_factory):
    tenant = await factories.tenant(await factories.building())
    api = await staff_api(client_factory, ["archivist"])
    extra = await api.patch(f"/tenants/{tenant}", {"legal_rep": "张三", "surprise": 1})
    assert extra.status_code == 400
    assert (await api.patch(f"/tenants/{tenant}", {"level": -1})).status_code == 400
    assert (await api.post(f"/tenants/{tenant}/contacts", {"mobile": "13800138000"})).status_code == 400
