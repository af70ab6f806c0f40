"""History: every change appends an entry (who, when, scope, key, old, new, reason); entries are never edited."""

import pytest
from django.contrib.auth import get_user_model

from studio.config.models import ConfigChange

KEY = "engine.pipeline.audit.max_retries"


@pytest.fixture
def api(tenant, api_for):
    return api_for(tenant.org)


def entries(api, query=""):
    response = api.get(f"/v1/config/history{query}")
    assert response.status_code == 200, response.content
    return response.json()["items"]


def test_set_and_unset_record_old_new_reason_and_author(api):
    api.put(f"/v1/config/{KEY}", json={"value": 1, "reason": "fewer retries"})
    api.delete(f"/v1/config/{KEY}?reason=back+to+default")
    unset, set_ = entries(api)
    assert (set_["action"], set_["key"], set_["old"], set_["new"]) == ("set", KEY, None, 1)
    assert (set_["reason"], set_["scope"]) == ("fewer retries", "org")
    assert (unset["action"], unset["old"], unset["new"], unset["reason"]) == ("unset", 1, None, "back to default")
    assert set_["author"].startswith("API key") and set_["created_at"]


def test_every_change_type_appends_its_own_entry(api):
    api.put(f"/v1/config/{KEY}", json={"value": 1})
    api.delete(f"/v1/config/{KEY}")
    api.post("/v1/config/bulk", json={"items": [{"key": KEY, "value": 2}]})
    api.post(f"/v1/config/{KEY}/lock", json={"reason": "frozen"})
    api.delete(f"/v1/config/{KEY}/lock")
    api.post("/v1/config/presets/budget/apply", json={})
    taken = api.post("/v1/config/snapshots", json={"label": "s"}).json()
    api.put(f"/v1/config/{KEY}", json={"value": 4})
    api.post(f"/v1/config/snapshots/{taken['id']}/rollback", json={"reason": "undo"})
    api.post("/v1/config/import", json={"items": {KEY: 5}})
    actions = {e["action"] for e in entries(api, "?limit=500")}
    assert actions == {"set", "unset", "bulk", "lock", "unlock", "preset", "rollback", "import"}
    rollback = entries(api, "?action=rollback")[0]
    assert (rollback["key"], rollback["old"], rollback["new"], rollback["reason"]) == (KEY, 4, 1, "undo")
    assert rollback["snapshot_id"] == taken["id"]
    lock = entries(api, "?action=lock")[0]
    assert lock["reason"] == "frozen" and lock["new"]["locked"] is True


def test_history_filters_by_key_scope_and_action(api):
    api.put(f"/v1/config/{KEY}", json={"value": 1})
    api.put(f"/v1/config/{KEY}", json={"value": 2, "workspace": "default"})
    api.put("/v1/config/engine.pipeline.audit.min_overall_score", json={"value": 4.0})
    assert len(entries(api, f"?key={KEY}")) == 2
    assert [e["scope"] for e in entries(api, "?scope=default")] == ["default"]
    assert len(entries(api, "?scope=org")) == 2
    assert entries(api, "?action=unset") == []
    page = api.get("/v1/config/history?limit=2").json()
    assert page["count"] == 3 and len(page["items"]) == 2 and page["next_cursor"]


def test_history_entries_cannot_be_edited_or_deleted(api):
    api.put(f"/v1/config/{KEY}", json={"value": 1})
    entry = ConfigChange.objects.get()
    entry.reason = "rewritten"
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        entry.delete()
    with pytest.raises(TypeError):
        ConfigChange.objects.update(reason="rewritten")
    with pytest.raises(TypeError):
        ConfigChange.objects.all().delete()


def test_the_admin_site_shows_history_read_only(tenant, client_for, api):
    api.put(f"/v1/config/{KEY}", json={"value": 1})
    entry = ConfigChange.objects.get()
    superuser = get_user_model().objects.create_superuser("root", "root@acme.test", "pw-long-enough-1")
    client = client_for(superuser)
    assert client.get(f"/admin/config/configchange/{entry.pk}/change/").status_code == 200  # view only
    assert client.post(f"/admin/config/configchange/{entry.pk}/change/", {"reason": "x"}).status_code == 403
    assert client.post(f"/admin/config/configchange/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/config/configchange/add/").status_code == 403
    assert ConfigChange.objects.get().reason == ""


def test_deleting_the_author_keeps_their_label(tenant, client_for):
    editor = tenant.user("editor")
    client_for(editor).put(f"/v1/config/{KEY}", {"value": 1}, content_type="application/json", HTTP_X_STUDIO_ORG="acme")
    editor.delete()
    entry = ConfigChange.objects.get()
    assert entry.author_user is None and entry.author_label == "editor@acme.test"


def test_deleting_an_organization_still_removes_its_config_history_and_snapshots(tenant, api):
    api.put(f"/v1/config/{KEY}", json={"value": 1})
    api.post("/v1/config/snapshots", json={"label": "s"})
    tenant.org.delete()
    assert not ConfigChange.objects.exists()
