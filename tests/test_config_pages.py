"""The config pages: tree with inline edits, locks, presets, snapshots with diff and rollback, history."""

import pytest

from studio.config.models import ConfigSnapshot
from studio.config.selectors import effective_tree
from studio.config.services import config_set, config_snapshot_create
from studio.principal import Principal

KEY = "engine.pipeline.soul_draft.temperature"
HX = {"HTTP_HX_REQUEST": "true"}


def actor(tenant, role="owner"):
    return Principal.from_membership(tenant.membership(role))


@pytest.fixture
def admin(tenant, client_for):
    return client_for(tenant.user("admin"))


def test_the_tree_is_grouped_by_step_with_source_and_lock_badges(tenant, admin):
    config_set(actor=actor(tenant), key=KEY, value=1.1)
    response = admin.get("/o/acme/config/")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-group="engine.pipeline.soul_draft"' in html and 'data-group="training.defaults"' in html
    assert 'id="cfg-engine-pipeline-soul_draft-temperature"' in html
    assert "source-org" in html and "source-default" in html
    assert 'href="/o/acme/config/"' in html  # the Config nav link


def test_an_admin_edits_a_value_inline(tenant, admin):
    version = effective_tree(tenant.org).items[KEY].version
    response = admin.post("/o/acme/config/set/", {"key": KEY, "value": "1.3", "version": version}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith("<tr") and "Saved" in html and "source-org" in html
    assert effective_tree(tenant.org)[KEY] == 1.3


def test_a_bad_value_comes_back_beside_the_field_with_422(tenant, admin):
    response = admin.post("/o/acme/config/set/", {"key": KEY, "value": "7"}, **HX)
    assert response.status_code == 422
    html = response.content.decode()
    assert 'role="alert"' in html and "out of range" in html and KEY in html
    assert 'value="7"' in html and 'aria-invalid="true"' in html
    response = admin.post("/o/acme/config/set/", {"key": "engine.pipeline.soul_draft.fallbacks", "value": "anthropic/nope-1"}, **HX)
    assert response.status_code == 422 and "unknown model" in response.content.decode()
    assert effective_tree(tenant.org)[KEY] == 0.9


def test_a_stale_form_gets_409_in_the_row(tenant, admin):
    config_set(actor=actor(tenant), key=KEY, value=1.1)
    response = admin.post("/o/acme/config/set/", {"key": KEY, "value": "1.2", "version": "0"}, **HX)
    assert response.status_code == 409 and "stale" in response.content.decode()


def test_the_workspace_selector_edits_the_workspace_scope(tenant, admin):
    html = admin.get("/o/acme/config/?workspace=default").content.decode()
    assert 'name="workspace" value="default"' in html
    admin.post("/o/acme/config/set/", {"key": KEY, "value": "0.2", "workspace": "default"}, **HX)
    workspace = tenant.org.workspaces.get(slug="default")
    assert effective_tree(tenant.org, workspace).items[KEY].source == "workspace"
    assert effective_tree(tenant.org).items[KEY].source == "default"
    assert "source-workspace" in admin.get("/o/acme/config/?workspace=default").content.decode()


def test_reset_unsets_the_scopes_value(tenant, admin):
    config_set(actor=actor(tenant), key=KEY, value=1.1)
    response = admin.post("/o/acme/config/unset/", {"key": KEY}, **HX)
    assert response.status_code == 200 and "source-default" in response.content.decode()


def test_an_admin_locks_and_unlocks_from_the_row(tenant, admin):
    response = admin.post("/o/acme/config/lock/", {"key": KEY, "reason": "house style"}, **HX)
    assert response.status_code == 200 and 'data-testid="lock"' in response.content.decode() and "house style" in response.content.decode()
    assert effective_tree(tenant.org).items[KEY].locked
    ws_html = admin.get("/o/acme/config/?workspace=default").content.decode()
    row = ws_html.split('id="cfg-engine-pipeline-soul_draft-temperature"')[1].split("</tr>")[0]
    assert "inline-edit" not in row  # read-only in workspaces while locked
    assert admin.post("/o/acme/config/lock/", {"key": KEY, "reason": ""}, **HX).status_code == 422
    assert admin.post("/o/acme/config/lock/", {"key": KEY, "reason": "again"}, **HX).status_code == 409
    response = admin.post("/o/acme/config/unlock/", {"key": KEY}, **HX)
    assert response.status_code == 200 and not effective_tree(tenant.org).items[KEY].locked


def test_viewers_see_the_tree_read_only_and_cannot_post(tenant, client_for):
    viewer = client_for(tenant.user("viewer"))
    html = viewer.get("/o/acme/config/").content.decode()
    assert "cfg-readonly" in html and "inline-edit" not in html and "Lock…" not in html and "Apply preset" not in html
    response = viewer.post("/o/acme/config/set/", {"key": KEY, "value": "1.0"}, **HX)
    assert response.status_code == 403 and "config:write" in response.content.decode()
    assert viewer.post("/o/acme/config/lock/", {"key": KEY, "reason": "x"}, **HX).status_code == 403
    assert effective_tree(tenant.org)[KEY] == 0.9


def test_editors_edit_but_do_not_lock(tenant, client_for):
    editor = client_for(tenant.user("editor"))
    html = editor.get("/o/acme/config/").content.decode()
    assert "inline-edit" in html and "Lock…" not in html
    response = editor.post("/o/acme/config/lock/", {"key": KEY, "reason": "x"}, **HX)
    assert response.status_code == 403 and "config:admin" in response.content.decode()


def test_an_admin_applies_a_preset(tenant, admin):
    response = admin.post("/o/acme/config/preset/", {"preset": "openai", "reason": "switch"}, **HX)
    assert response.status_code == 200 and "Applied preset “OpenAI”" in response.content.decode()
    assert effective_tree(tenant.org)["engine.pipeline.audit.model"] == "openai/gpt-5"


def test_snapshots_page_takes_diffs_and_rolls_back_with_a_reason(tenant, admin):
    config_set(actor=actor(tenant), key=KEY, value=1.1)
    response = admin.post("/o/acme/config/snapshots/new/", {"label": "calm"}, **HX)
    assert response.status_code == 200 and "calm" in response.content.decode()
    snapshot = ConfigSnapshot.objects.get(label="calm")
    config_set(actor=actor(tenant), key=KEY, value=1.9)

    diff = admin.get(f"/o/acme/config/snapshots/{snapshot.public_id}/diff/?against=now", **HX).content.decode()
    assert "diff-changed" in diff and "1.1" in diff and "1.9" in diff
    assert admin.get(f"/o/acme/config/snapshots/{snapshot.public_id}/diff/").status_code == 200  # full page too

    refused = admin.post(f"/o/acme/config/snapshots/{snapshot.public_id}/rollback/", {"reason": ""}, **HX)
    assert refused.status_code == 422 and "reason is required" in refused.content.decode()
    assert effective_tree(tenant.org)[KEY] == 1.9

    response = admin.post(f"/o/acme/config/snapshots/{snapshot.public_id}/rollback/", {"reason": "too hot"}, **HX)
    assert response.status_code == 200 and "Rolled back to “calm”" in response.content.decode()
    assert effective_tree(tenant.org)[KEY] == 1.1
    assert "Before rollback" in admin.get("/o/acme/config/snapshots/").content.decode()


def test_history_page_filters(tenant, admin):
    config_set(actor=actor(tenant), key=KEY, value=1.1, reason="warmer")
    config_set(actor=actor(tenant), key="engine.pipeline.audit.max_retries", value=1)
    html = admin.get(f"/o/acme/config/history/?key={KEY}&scope=org&action=set").content.decode()
    assert "warmer" in html and "engine.pipeline.audit.max_retries" not in html.split("<tbody>")[1]


def test_outsiders_get_404_for_acmes_config_pages(tenant, outsider, client_for):
    snapshot = config_snapshot_create(actor=actor(tenant), label="acme")
    client = client_for(outsider)
    assert client.get("/o/acme/config/").status_code == 404
    assert client.get(f"/o/globex/config/snapshots/{snapshot.public_id}/diff/").status_code == 404
    assert client.post(f"/o/globex/config/snapshots/{snapshot.public_id}/rollback/", {"reason": "x"}).status_code == 404
    assert client.get("/o/globex/config/?workspace=no-such-ws").status_code == 404


def test_per_persona_weights_are_listed_together_under_one_group(tenant, admin):
    persona = "4f9c1c8e-2b7a-4d1e-9a57-0c2f5b1d3e6a"
    weights = {"in_character": 0.7, "protocol_adherent": 0.2, "closure_complete": 0.1}
    config_set(actor=actor(tenant), key=f"reviews.persona.{persona}.axis_weights", value=weights)
    html = admin.get("/o/acme/config/").content.decode()
    assert 'data-group="reviews.axis_weights per persona"' in html and f"persona {persona}" in html
