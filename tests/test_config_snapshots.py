"""Snapshots, diff and rollback: immutable copies of a scope, compared and restored atomically."""

import pytest

from studio.config.models import ConfigSnapshot

A = "engine.pipeline.audit.max_retries"
B = "engine.pipeline.fingerprint.scenarios"
C = "engine.pipeline.provocation.enabled"


@pytest.fixture
def api(tenant, api_for):
    return api_for(tenant.org)


def snapshot(api, label, **extra):
    response = api.post("/v1/config/snapshots", json={"label": label, **extra})
    assert response.status_code == 201, response.content
    return response.json()


def value(api, key, workspace=""):
    return api.get(f"/v1/config/{key}" + (f"?workspace={workspace}" if workspace else "")).json()


def test_a_snapshot_records_label_author_item_count_and_time(api):
    api.put(f"/v1/config/{A}", json={"value": 1})
    api.put(f"/v1/config/{B}", json={"value": 10})
    taken = snapshot(api, "two knobs")
    assert (taken["label"], taken["item_count"], taken["kind"], taken["workspace"]) == ("two knobs", 2, "manual", None)
    assert taken["author"].startswith("API key") and taken["created_at"]
    detail = api.get(f"/v1/config/snapshots/{taken['id']}").json()
    assert detail["items"] == {A: 1, B: 10}


def test_a_session_user_is_the_author_of_their_snapshot(tenant, client_for):
    client = client_for(tenant.user("editor"))
    response = client.post("/v1/config/snapshots", {"label": "mine"}, content_type="application/json", HTTP_X_STUDIO_ORG="acme")
    assert response.status_code == 201
    assert response.json()["author"] == "editor@acme.test"
    assert ConfigSnapshot.objects.get(label="mine").author_user == tenant.user("editor")


def test_a_snapshot_is_immutable(api):
    taken = snapshot(api, "frozen")
    row = ConfigSnapshot.objects.get(public_id=taken["id"])
    row.label = "changed"
    with pytest.raises(TypeError):
        row.save()
    with pytest.raises(TypeError):
        row.delete()
    with pytest.raises(TypeError):
        ConfigSnapshot.objects.filter(pk=row.pk).update(label="changed")


def test_a_workspace_snapshot_copies_only_that_workspace(api):
    api.put(f"/v1/config/{A}", json={"value": 1})
    api.put(f"/v1/config/{B}", json={"value": 10, "workspace": "default"})
    taken = snapshot(api, "ws", workspace="default")
    assert taken["workspace"]["slug"] == "default"
    assert api.get(f"/v1/config/snapshots/{taken['id']}").json()["items"] == {B: 10}
    assert [s["label"] for s in api.get("/v1/config/snapshots?workspace=default").json()["items"]] == ["ws"]


def test_the_diff_against_now_lists_added_removed_and_changed_keys(api):
    api.put(f"/v1/config/{A}", json={"value": 1})
    api.put(f"/v1/config/{B}", json={"value": 10})
    taken = snapshot(api, "before")
    api.put(f"/v1/config/{A}", json={"value": 2})
    api.delete(f"/v1/config/{B}")
    api.put(f"/v1/config/{C}", json={"value": False})
    diff = api.get(f"/v1/config/snapshots/{taken['id']}/diff?against=now").json()
    assert diff["added"] == [{"key": C, "new": False}]
    assert diff["removed"] == [{"key": B, "old": 10}]
    assert diff["changed"] == [{"key": A, "old": 1, "new": 2}]
    assert diff["against"] is None


def test_the_diff_between_two_snapshots(api):
    first = snapshot(api, "empty")
    api.put(f"/v1/config/{A}", json={"value": 7})
    second = snapshot(api, "one")
    diff = api.get(f"/v1/config/snapshots/{first['id']}/diff?against={second['id']}").json()
    assert (diff["added"], diff["removed"], diff["changed"]) == ([{"key": A, "new": 7}], [], [])
    assert diff["against"]["label"] == "one"


def test_rollback_restores_the_snapshot_and_takes_a_before_rollback_snapshot(api):
    api.put(f"/v1/config/{A}", json={"value": 1})
    api.put(f"/v1/config/{B}", json={"value": 10})
    good = snapshot(api, "good")
    api.put(f"/v1/config/{A}", json={"value": 9})
    api.delete(f"/v1/config/{B}")
    api.put(f"/v1/config/{C}", json={"value": False})

    response = api.post(f"/v1/config/snapshots/{good['id']}/rollback", json={"reason": "bad tuning"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert sorted(body["changed"]) == sorted([A, B, C])
    assert (value(api, A)["value"], value(api, B)["value"], value(api, C)["source"]) == (1, 10, "default")
    before = body["before_snapshot"]
    assert before["kind"] == "before_rollback" and before["item_count"] == 2
    assert api.get(f"/v1/config/snapshots/{before['id']}").json()["items"] == {A: 9, C: False}


def test_a_rollback_is_undone_by_rolling_back_to_its_before_snapshot(api):
    api.put(f"/v1/config/{A}", json={"value": 1})
    good = snapshot(api, "good")
    api.put(f"/v1/config/{A}", json={"value": 9})
    api.put(f"/v1/config/{C}", json={"value": False})
    before = api.post(f"/v1/config/snapshots/{good['id']}/rollback", json={"reason": "try it"}).json()["before_snapshot"]

    undo = api.post(f"/v1/config/snapshots/{before['id']}/rollback", json={"reason": "undo"})
    assert undo.status_code == 200
    assert (value(api, A)["value"], value(api, C)["value"]) == (9, False)
    assert api.get(f"/v1/config/snapshots/{good['id']}/diff").json()["changed"] == [{"key": A, "old": 1, "new": 9}]


def test_a_rollback_needs_a_reason(api):
    taken = snapshot(api, "x")
    assert api.post(f"/v1/config/snapshots/{taken['id']}/rollback", json={}).status_code == 422
    response = api.post(f"/v1/config/snapshots/{taken['id']}/rollback", json={"reason": "   "})
    assert response.status_code == 422 and "reason" in response.content.decode()


def test_a_rollback_to_a_snapshot_with_a_value_no_longer_valid_applies_nothing(tenant, api):
    api.put(f"/v1/config/{A}", json={"value": 2})
    # A snapshot written by an older schema: one value is out of today's range.
    old = ConfigSnapshot.objects.create(
        organization=tenant.org, label="old schema", items={A: 1, B: 100_000}, item_count=2, scope_version=0, author_label="test",
    )
    response = api.post(f"/v1/config/snapshots/{old.public_id}/rollback", json={"reason": "restore"})
    assert response.status_code == 422 and B in response.content.decode()
    assert value(api, A)["value"] == 2
    assert [s["kind"] for s in api.get("/v1/config/snapshots").json()["items"]] == ["manual"]


def test_rollback_and_snapshots_need_the_right_scopes(tenant, api_for, api):
    taken = snapshot(api, "x")
    editor = api_for(tenant.org, scopes=["config:read", "config:write"])
    response = editor.post(f"/v1/config/snapshots/{taken['id']}/rollback", json={"reason": "please"})
    assert response.status_code == 403 and "config:admin" in response.json()["detail"]
    reader = api_for(tenant.org, scopes=["config:read"])
    response = reader.post("/v1/config/snapshots", json={"label": "nope"})
    assert response.status_code == 403 and "config:write" in response.json()["detail"]
