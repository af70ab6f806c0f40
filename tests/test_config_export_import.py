"""Export and import of a scope's tree as JSON, over the API and with management commands."""

import json

import pytest
from django.core.management import CommandError, call_command

A = "engine.pipeline.audit.max_retries"
B = "engine.pipeline.fingerprint.scenarios"


@pytest.fixture
def api(tenant, api_for):
    return api_for(tenant.org)


def test_export_writes_the_scopes_stored_values(api):
    api.put(f"/v1/config/{A}", json={"value": 1})
    api.put(f"/v1/config/{B}", json={"value": 9, "workspace": "default"})
    exported = api.get("/v1/config/export").json()
    assert exported["format"] == "persona-studio.config/1"
    assert (exported["organization"], exported["workspace"], exported["items"]) == ("acme", None, {A: 1})
    assert api.get("/v1/config/export?workspace=default").json()["items"] == {B: 9}


def test_an_export_imports_into_another_org_as_is(tenant, outsider_tenant, api, api_for):
    api.put(f"/v1/config/{A}", json={"value": 1})
    exported = api.get("/v1/config/export").json()
    other = api_for(outsider_tenant.org)
    response = other.post("/v1/config/import", json=exported)
    assert response.status_code == 200, response.content
    assert response.json()["changed"] == [A]
    assert other.get(f"/v1/config/{A}").json()["value"] == 1
    assert response.json()["before_snapshot"]["kind"] == "before_import"


def test_import_merges_by_default_and_replace_removes_what_the_file_lacks(api):
    api.put(f"/v1/config/{A}", json={"value": 1})
    api.post("/v1/config/import", json={"items": {B: 7}})
    assert (api.get(f"/v1/config/{A}").json()["value"], api.get(f"/v1/config/{B}").json()["value"]) == (1, 7)
    api.post("/v1/config/import", json={"items": {B: 8}, "mode": "replace"})
    assert api.get("/v1/config/export").json()["items"] == {B: 8}


def test_an_import_is_validated_like_any_write_and_applies_nothing_when_bad(api):
    response = api.post("/v1/config/import", json={"items": {A: 2, B: -1}})
    assert response.status_code == 422 and B in response.content.decode()
    response = api.post("/v1/config/import", json={"items": {A: 2, "engine.nope": 1}})
    assert response.status_code == 422 and "engine.nope" in response.content.decode()
    response = api.post("/v1/config/import", json={"items": {A: None}})
    assert response.status_code == 422 and A in response.content.decode()
    assert api.post("/v1/config/import", json={"items": [1, 2]}).status_code == 422
    assert api.get("/v1/config/export").json()["items"] == {}


def test_the_management_commands_round_trip_a_workspace(tenant, api, tmp_path, capsys):
    api.put(f"/v1/config/{A}", json={"value": 2, "workspace": "default"})
    path = tmp_path / "tree.json"
    call_command("config_export", "--org", "acme", "--workspace", "default", "--output", str(path))
    assert json.loads(path.read_text())["items"] == {A: 2}

    api.delete(f"/v1/config/{A}?workspace=default")
    call_command("config_import", str(path), "--org", "acme", "--workspace", "default", "--reason", "restore")
    assert api.get(f"/v1/config/{A}?workspace=default").json()["value"] == 2
    entry = api.get("/v1/config/history?action=import").json()["items"][0]
    assert entry["author"].startswith("operator ") and entry["reason"] == "restore"

    capsys.readouterr()
    call_command("config_export", "--org", "acme")
    assert json.loads(capsys.readouterr().out)["items"] == {}


def test_the_import_command_refuses_bad_files_naming_the_key(tenant, tmp_path):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"items": {"engine.pipeline.soul_draft.temperature": 5}}))
    with pytest.raises(CommandError, match="engine.pipeline.soul_draft.temperature"):
        call_command("config_import", str(path), "--org", "acme")
    path.write_text("{oops")
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("config_import", str(path), "--org", "acme")
    with pytest.raises(CommandError, match="no organization"):
        call_command("config_export", "--org", "nobody")
