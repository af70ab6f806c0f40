"""API scopes and tenancy: config:read / config:write / config:admin, and outsiders see nothing of acme's."""

import pytest

KEY = "engine.pipeline.audit.max_retries"


@pytest.fixture
def snapshot_id(tenant, api_for):
    return api_for(tenant.org).post("/v1/config/snapshots", json={"label": "acme's"}).json()["id"]


@pytest.mark.parametrize("method, path, body", [
    ("get", "/v1/config", None),
    ("get", f"/v1/config/{KEY}", None),
    ("get", "/v1/config/history", None),
    ("get", "/v1/config/snapshots", None),
    ("get", "/v1/config/export", None),
    ("get", "/v1/config/presets", None),
])
def test_reads_need_config_read(tenant, api_for, method, path, body):
    response = api_for(tenant.org, scopes=["personas:read"]).get(path)
    assert response.status_code == 403 and "config:read" in response.json()["detail"]


@pytest.mark.parametrize("method, path, body", [
    ("put", f"/v1/config/{KEY}", {"value": 1}),
    ("delete", f"/v1/config/{KEY}", None),
    ("post", "/v1/config/bulk", {"items": [{"key": KEY, "value": 1}]}),
    ("post", "/v1/config/snapshots", {"label": "x"}),
])
def test_writes_need_config_write(tenant, api_for, method, path, body):
    api = api_for(tenant.org, scopes=["config:read"])
    response = getattr(api, method)(path, json=body) if body is not None else getattr(api, method)(path)
    assert response.status_code == 403 and "config:write" in response.json()["detail"]


@pytest.mark.parametrize("method, path, body", [
    ("post", f"/v1/config/{KEY}/lock", {"reason": "x"}),
    ("delete", f"/v1/config/{KEY}/lock", None),
    ("post", "/v1/config/presets/budget/apply", {}),
    ("post", "/v1/config/import", {"items": {KEY: 1}}),
])
def test_locks_presets_and_import_need_config_admin(tenant, api_for, method, path, body):
    api = api_for(tenant.org, scopes=["config:read", "config:write"])
    response = getattr(api, method)(path, json=body) if body is not None else getattr(api, method)(path)
    assert response.status_code == 403 and "config:admin" in response.json()["detail"]


def test_a_viewer_in_the_browser_session_reads_but_cannot_write(tenant, client_for):
    client = client_for(tenant.user("viewer"))
    assert client.get("/v1/config", HTTP_X_STUDIO_ORG="acme").status_code == 200
    response = client.put(f"/v1/config/{KEY}", {"value": 1}, content_type="application/json", HTTP_X_STUDIO_ORG="acme")
    assert response.status_code == 403 and "config:write" in response.json()["detail"]


def test_an_unauthenticated_request_is_401(client):
    assert client.get("/v1/config").status_code == 401


def test_an_outsider_gets_404_for_acmes_snapshots_and_workspaces(tenant, outsider_tenant, api_for, snapshot_id):
    outsider = api_for(outsider_tenant.org)
    acme_ws = tenant.org.workspaces.get(slug="default")
    probes = [
        outsider.get(f"/v1/config/snapshots/{snapshot_id}"),
        outsider.get(f"/v1/config/snapshots/{snapshot_id}/diff"),
        outsider.post(f"/v1/config/snapshots/{snapshot_id}/rollback", json={"reason": "mine now"}),
        outsider.get(f"/v1/config?workspace={acme_ws.public_id}"),
        outsider.put(f"/v1/config/{KEY}", json={"value": 1, "workspace": str(acme_ws.public_id)}),
        outsider.post("/v1/config/bulk", json={"workspace": str(acme_ws.public_id), "items": [{"key": KEY, "value": 1}]}),
        outsider.get(f"/v1/config/history?scope={acme_ws.public_id}"),
        outsider.get(f"/v1/config/export?workspace={acme_ws.public_id}"),
        outsider.post("/v1/config/snapshots", json={"workspace": str(acme_ws.public_id)}),
    ]
    assert [p.status_code for p in probes] == [404] * len(probes)
    missing = outsider.get("/v1/config/snapshots/00000000-0000-0000-0000-000000000000")
    assert missing.json() == probes[0].json()  # the same answer for "missing" and "not yours"


def test_an_outsiders_own_snapshot_cannot_be_diffed_against_acmes(tenant, outsider_tenant, api_for, snapshot_id):
    outsider = api_for(outsider_tenant.org)
    own = outsider.post("/v1/config/snapshots", json={"label": "globex"}).json()["id"]
    assert outsider.get(f"/v1/config/snapshots/{own}/diff?against={snapshot_id}").status_code == 404


def test_outsiders_neither_see_nor_change_acmes_tree(tenant, outsider_tenant, api_for):
    api_for(tenant.org).put(f"/v1/config/{KEY}", json={"value": 1})
    outsider = api_for(outsider_tenant.org)
    assert outsider.get(f"/v1/config/{KEY}").json()["source"] == "default"
    assert outsider.get("/v1/config/history").json()["count"] == 0
    assert outsider.get("/v1/config/snapshots").json()["items"] == []
