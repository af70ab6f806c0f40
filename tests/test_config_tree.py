"""The effective tree: default → org → workspace, with each value's source and lock state."""

import uuid

import pytest

from studio.config import schema
from studio.config.model_names import catalogue_entry
from studio.config.selectors import effective_tree
from studio.config.services import BulkItem, config_bulk_set
from studio.principal import Principal

TEMP = "engine.pipeline.soul_draft.temperature"


def items_by_key(response) -> dict:
    assert response.status_code == 200, response.content
    return {item["key"]: item for item in response.json()["items"]}


def test_the_tree_shows_every_schema_key_with_its_default(tenant, api_for):
    tree = items_by_key(api_for(tenant.org).get("/v1/config"))
    assert set(schema.SCHEMA) <= set(tree)
    assert tree[TEMP] == {
        **tree[TEMP], "value": 0.9, "default": 0.9, "source": "default", "locked": False, "lock": None, "version": 0,
        "bounds": "0–2", "group": "engine.pipeline.soul_draft",
    }
    assert tree["engine.pipeline.audit.min_overall_score"]["value"] == 3.5
    assert tree["engine.pipeline.audit.max_retries"]["value"] == 3
    assert tree["engine.pipeline.fingerprint.scenarios"]["value"] == 50
    assert tree["engine.pipeline.drift_detection.threshold"]["value"] == 0.30
    assert tree["engine.pipeline.drift_detection.action_on_alert"]["value"] == "warn"


def test_deep_steps_default_to_opus_and_the_others_to_sonnet(tenant, api_for):
    tree = items_by_key(api_for(tenant.org).get("/v1/config"))
    models = {step: tree[f"engine.pipeline.{step}.model"]["value"] for step in schema.STEPS}
    assert models["soul_draft"] == models["audit"] == "anthropic/claude-opus-4-7"
    assert {models[s] for s in ("intent_parse", "self_enrich", "mask_build", "surface_ground")} == {"anthropic/claude-sonnet-4-6"}


def test_every_default_model_is_an_entry_of_litellms_cost_map():
    for spec in schema.SCHEMA.values():
        names = spec.default if spec.kind == "models" else [spec.default] if spec.kind == "model" else []
        for name in names:
            assert catalogue_entry(name) is not None, f"{spec.key}: {name}"


def test_an_org_value_overrides_the_default_and_a_workspace_value_overrides_the_org(tenant, api_for):
    api = api_for(tenant.org)
    assert api.put(f"/v1/config/{TEMP}", json={"value": 1.1}).status_code == 200
    org_tree = items_by_key(api.get("/v1/config"))
    assert (org_tree[TEMP]["value"], org_tree[TEMP]["source"]) == (1.1, "org")

    ws_tree = items_by_key(api.get("/v1/config?workspace=default"))
    assert (ws_tree[TEMP]["value"], ws_tree[TEMP]["source"], ws_tree[TEMP]["version"]) == (1.1, "org", 0)

    assert api.put(f"/v1/config/{TEMP}", json={"value": 0.4, "workspace": "default"}).status_code == 200
    ws_tree = items_by_key(api.get("/v1/config?workspace=default"))
    assert (ws_tree[TEMP]["value"], ws_tree[TEMP]["source"]) == (0.4, "workspace")
    # The org scope itself is untouched.
    assert items_by_key(api.get("/v1/config"))[TEMP]["value"] == 1.1


def test_a_workspace_can_be_named_by_uuid_or_slug(tenant, api_for):
    api = api_for(tenant.org)
    workspace = tenant.org.workspaces.get(slug="default")
    api.put(f"/v1/config/{TEMP}", json={"value": 0.3, "workspace": str(workspace.public_id)})
    body = api.get(f"/v1/config?workspace={workspace.public_id}").json()
    assert body["workspace"]["slug"] == "default"
    assert items_by_key(api.get("/v1/config?workspace=default"))[TEMP]["value"] == 0.3


def test_unsetting_falls_back_to_the_next_scope(tenant, api_for):
    api = api_for(tenant.org)
    api.put(f"/v1/config/{TEMP}", json={"value": 1.1})
    api.put(f"/v1/config/{TEMP}", json={"value": 0.4, "workspace": "default"})
    response = api.delete(f"/v1/config/{TEMP}?workspace=default")
    assert response.status_code == 200
    assert (response.json()["item"]["value"], response.json()["item"]["source"]) == (1.1, "org")
    response = api.delete(f"/v1/config/{TEMP}")
    assert (response.json()["item"]["value"], response.json()["item"]["source"]) == (0.9, "default")


def test_a_locked_key_shows_its_lock_and_the_org_value_wins_in_workspaces(tenant, api_for):
    api = api_for(tenant.org)
    api.put(f"/v1/config/{TEMP}", json={"value": 0.4, "workspace": "default"})
    api.put(f"/v1/config/{TEMP}", json={"value": 1.2})
    assert api.post(f"/v1/config/{TEMP}/lock", json={"reason": "house style"}).status_code == 201
    item = items_by_key(api.get("/v1/config?workspace=default"))[TEMP]
    assert (item["value"], item["source"], item["locked"], item["shadowed"]) == (1.2, "org", True, True)
    assert item["lock"]["reason"] == "house style"
    assert item["lock"]["locked_by"].startswith("API key")


def test_one_key_can_be_read_alone(tenant, api_for):
    api = api_for(tenant.org)
    assert api.get(f"/v1/config/{TEMP}").json()["value"] == 0.9
    assert api.get("/v1/config/engine.pipeline.nope").status_code == 404


def test_per_persona_axis_weights_inherit_the_general_weights_until_set(tenant, api_for):
    api = api_for(tenant.org)
    persona = uuid.uuid4()
    key = schema.persona_weights_key(persona)
    general = api.get("/v1/config/reviews.axis_weights").json()["value"]
    assert api.get(f"/v1/config/{key}").json()["value"] == general
    weights = {"in_character": 0.7, "protocol_adherent": 0.2, "closure_complete": 0.1}
    assert api.put(f"/v1/config/{key}", json={"value": weights}).status_code == 200
    tree = effective_tree(tenant.org)
    assert tree.axis_weights(persona) == weights
    assert tree.axis_weights(uuid.uuid4()) == general


def test_the_pipeline_reads_a_step_as_one_dict(tenant, api_for):
    api_for(tenant.org).put("/v1/config/engine.pipeline.audit.max_tokens", json={"value": 999})
    assert effective_tree(tenant.org).step("audit") == {
        "model": "anthropic/claude-opus-4-7", "temperature": 0.0, "max_tokens": 999,
        "fallbacks": ["anthropic/claude-sonnet-4-6"], "enabled": True, "min_overall_score": 3.5, "max_retries": 3, "on_edit": False,
    }


def _override_weights(tenant, count: int, workspace=None):
    actor = Principal.from_membership(tenant.membership("owner"))
    weights = {"in_character": 0.5, "protocol_adherent": 0.25, "closure_complete": 0.25}
    items = [BulkItem(schema.persona_weights_key(uuid.uuid4()), weights) for _ in range(count)]
    config_bulk_set(actor=actor, items=items, workspace=workspace)


@pytest.mark.parametrize("count", [3, 300])
def test_resolving_the_tree_takes_three_queries_whatever_the_number_of_overrides(tenant, count, django_assert_num_queries):
    workspace = tenant.org.workspaces.get(slug="default")
    _override_weights(tenant, count)
    _override_weights(tenant, count, workspace)
    with django_assert_num_queries(3):
        tree = effective_tree(tenant.org, workspace)
    assert len(tree.items) == len(schema.SCHEMA) + 2 * count
