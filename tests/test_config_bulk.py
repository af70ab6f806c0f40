"""Bulk changes: many keys in one transaction, all or nothing."""

KEYS = ["engine.pipeline.audit.max_retries", "engine.pipeline.fingerprint.scenarios", "engine.pipeline.provocation.enabled"]


def test_a_bulk_change_sets_and_unsets_keys_in_one_version(tenant, api_for):
    api = api_for(tenant.org)
    api.put("/v1/config/engine.pipeline.audit.enabled", json={"value": False})
    response = api.post("/v1/config/bulk", json={"reason": "tune", "items": [
        {"key": KEYS[0], "value": 5},
        {"key": KEYS[1], "value": 10},
        {"key": KEYS[2], "value": False},
        {"key": "engine.pipeline.audit.enabled", "unset": True},
    ]})
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2
    assert sorted(response.json()["changed"]) == sorted(KEYS + ["engine.pipeline.audit.enabled"])
    tree = {i["key"]: i for i in api.get("/v1/config").json()["items"]}
    assert [tree[k]["value"] for k in KEYS] == [5, 10, False]
    assert {tree[k]["version"] for k in KEYS} == {2}
    assert tree["engine.pipeline.audit.enabled"]["source"] == "default"


def test_a_bulk_change_into_a_workspace_leaves_the_org_alone(tenant, api_for):
    api = api_for(tenant.org)
    assert api.post("/v1/config/bulk", json={"workspace": "default", "items": [{"key": KEYS[0], "value": 0}]}).status_code == 200
    assert api.get(f"/v1/config/{KEYS[0]}?workspace=default").json()["source"] == "workspace"
    assert api.get(f"/v1/config/{KEYS[0]}").json()["source"] == "default"


def test_a_key_twice_or_a_missing_value_is_refused_naming_the_key(tenant, api_for):
    api = api_for(tenant.org)
    twice = api.post("/v1/config/bulk", json={"items": [{"key": KEYS[0], "value": 1}, {"key": KEYS[0], "value": 2}]})
    assert twice.status_code == 422 and KEYS[0] in twice.content.decode()
    missing = api.post("/v1/config/bulk", json={"items": [{"key": KEYS[1]}]})
    assert missing.status_code == 422 and KEYS[1] in missing.content.decode()
    assert api.post("/v1/config/bulk", json={"items": []}).status_code == 422


def test_one_stale_item_version_refuses_the_whole_bulk_change(tenant, api_for):
    api = api_for(tenant.org)
    api.put(f"/v1/config/{KEYS[0]}", json={"value": 4})
    response = api.post("/v1/config/bulk", json={"items": [
        {"key": KEYS[1], "value": 10, "version": 0},
        {"key": KEYS[0], "value": 6, "version": 0},
    ]})
    assert response.status_code == 409 and KEYS[0] in response.content.decode()
    assert api.get(f"/v1/config/{KEYS[1]}").json()["source"] == "default"


def test_a_bulk_change_without_changes_writes_no_history(tenant, api_for):
    api = api_for(tenant.org)
    api.put(f"/v1/config/{KEYS[0]}", json={"value": 4})
    response = api.post("/v1/config/bulk", json={"items": [{"key": KEYS[0], "value": 4}]})
    assert response.status_code == 200 and response.json()["changed"] == []
    assert api.get("/v1/config/history").json()["count"] == 1
