"""Locks: admins lock a key at org scope; workspaces and non-admins can then not change it, on every path."""

import pytest

KEY = "engine.pipeline.audit.model"
OTHER = "engine.pipeline.audit.max_retries"
EDITOR = ["config:read", "config:write"]


@pytest.fixture
def admin_api(tenant, api_for):
    return api_for(tenant.org)


@pytest.fixture
def locked(admin_api):
    response = admin_api.post(f"/v1/config/{KEY}/lock", json={"reason": "audits must use opus"})
    assert response.status_code == 201, response.content
    return response.json()


def assert_refused_by_lock(response):
    assert response.status_code == 403, response.content
    body = response.content.decode()
    assert KEY in body and "locked" in body and "audits must use opus" in body


def test_an_admin_locks_a_key_with_a_reason(locked):
    assert locked["key"] == KEY
    assert locked["lock"]["reason"] == "audits must use opus"


def test_a_lock_needs_a_reason_and_a_known_key(admin_api):
    assert admin_api.post(f"/v1/config/{KEY}/lock", json={"reason": "  "}).status_code == 422
    assert admin_api.post(f"/v1/config/{KEY}/lock", json={}).status_code == 422
    response = admin_api.post("/v1/config/engine.pipeline.audit.modle/lock", json={"reason": "x"})
    assert response.status_code == 422 and "engine.pipeline.audit.modle" in response.content.decode()


def test_locking_twice_conflicts_and_unlocking_an_unlocked_key_conflicts(admin_api, locked):
    assert admin_api.post(f"/v1/config/{KEY}/lock", json={"reason": "again"}).status_code == 409
    assert admin_api.delete(f"/v1/config/{OTHER}/lock").status_code == 409


def test_editors_cannot_lock_or_unlock(tenant, api_for, locked):
    editor = api_for(tenant.org, scopes=EDITOR)
    response = editor.post(f"/v1/config/{OTHER}/lock", json={"reason": "mine"})
    assert response.status_code == 403 and "config:admin" in response.json()["detail"]
    assert editor.delete(f"/v1/config/{KEY}/lock").status_code == 403


def test_a_workspace_override_of_a_locked_key_is_refused_even_for_admins(admin_api, locked):
    assert_refused_by_lock(admin_api.put(f"/v1/config/{KEY}", json={"value": "offline/x", "workspace": "default"}))
    assert_refused_by_lock(admin_api.delete(f"/v1/config/{KEY}?workspace=default"))


def test_a_non_admin_cannot_change_a_locked_key_at_org_scope(tenant, api_for, admin_api, locked):
    editor = api_for(tenant.org, scopes=EDITOR)
    assert_refused_by_lock(editor.put(f"/v1/config/{KEY}", json={"value": "offline/x"}))
    # An admin still can: the lock governs the org value, it does not freeze it for admins.
    assert admin_api.put(f"/v1/config/{KEY}", json={"value": "offline/x"}).status_code == 200
    assert_refused_by_lock(editor.delete(f"/v1/config/{KEY}"))


def test_a_bulk_change_touching_a_locked_key_is_refused_whole(admin_api, locked):
    response = admin_api.post("/v1/config/bulk", json={"workspace": "default", "items": [
        {"key": OTHER, "value": 1},
        {"key": KEY, "value": "offline/x"},
    ]})
    assert_refused_by_lock(response)
    assert admin_api.get(f"/v1/config/{OTHER}?workspace=default").json()["source"] == "default"


def test_a_preset_and_an_import_into_a_workspace_respect_locks(admin_api, locked):
    assert_refused_by_lock(admin_api.post("/v1/config/presets/openai/apply", json={"workspace": "default"}))
    assert_refused_by_lock(admin_api.post("/v1/config/import", json={"workspace": "default", "items": {KEY: "offline/x"}}))
    assert admin_api.get("/v1/config/history?scope=default").json()["count"] == 0


def test_rolling_back_a_workspace_to_a_snapshot_that_overrides_a_locked_key_is_refused(admin_api):
    admin_api.put(f"/v1/config/{KEY}", json={"value": "offline/ws", "workspace": "default"})
    admin_api.put(f"/v1/config/{OTHER}", json={"value": 1, "workspace": "default"})
    snapshot = admin_api.post("/v1/config/snapshots", json={"workspace": "default", "label": "with override"}).json()
    admin_api.delete(f"/v1/config/{KEY}?workspace=default")
    admin_api.put(f"/v1/config/{OTHER}", json={"value": 2, "workspace": "default"})
    admin_api.post(f"/v1/config/{KEY}/lock", json={"reason": "audits must use opus"})

    assert_refused_by_lock(admin_api.post(f"/v1/config/snapshots/{snapshot['id']}/rollback", json={"reason": "restore"}))
    # Nothing moved, and no "before rollback" snapshot was left behind.
    assert admin_api.get(f"/v1/config/{OTHER}?workspace=default").json()["value"] == 2
    assert admin_api.get("/v1/config/snapshots?workspace=default").json()["count"] == 1


def test_the_config_page_refuses_a_locked_key_in_a_workspace(tenant, client_for, locked):
    client = client_for(tenant.user("admin"))
    response = client.post("/o/acme/config/set/", {"key": KEY, "value": "offline/x", "workspace": "default"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 403
    assert "audits must use opus" in response.content.decode()


def test_after_unlocking_workspaces_can_override_again(admin_api, locked):
    response = admin_api.delete(f"/v1/config/{KEY}/lock?reason=no+longer+needed")
    assert response.status_code == 204
    assert admin_api.put(f"/v1/config/{KEY}", json={"value": "offline/x", "workspace": "default"}).status_code == 200
    assert admin_api.get(f"/v1/config/{KEY}?workspace=default").json()["locked"] is False
