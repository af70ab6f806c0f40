"""Bad values are refused with 422 naming the key; nothing is written."""

import pytest

from studio import services as tenancy

MODEL = "engine.pipeline.mask_build.model"
FALLBACKS = "engine.pipeline.mask_build.fallbacks"


def put(api, key, value, **extra):
    return api.put(f"/v1/config/{key}", json={"value": value, **extra})


def assert_names_key(response, key, status=422):
    assert response.status_code == status, response.content
    assert key in response.content.decode()


@pytest.mark.parametrize(
    "key, value",
    [
        ("engine.pipeline.soul_draft.temperature", 2.5),
        ("engine.pipeline.soul_draft.temperature", -0.1),
        ("engine.pipeline.soul_draft.temperature", "hot"),
        ("engine.pipeline.soul_draft.temperature", True),
        ("engine.pipeline.soul_draft.max_tokens", 0),
        ("engine.pipeline.soul_draft.max_tokens", 12.5),
        ("engine.pipeline.soul_draft.enabled", "yes"),
        ("engine.pipeline.drift_detection.action_on_alert", "shout"),
        ("engine.pipeline.audit.min_overall_score", 6),
        ("training.defaults.learning_rate", 0),
        ("training.defaults.student_model", "not a repo"),
        ("reviews.axis_weights", {"in_character": 1.0}),
        ("reviews.axis_weights", {"in_character": 0.5, "protocol_adherent": 0.5, "closure_complete": 0.5}),
        ("engine.pipeline.soul_draft.model", None),
    ],
)
def test_a_wrong_type_or_out_of_range_value_is_refused_naming_the_key(tenant, api_for, key, value):
    api = api_for(tenant.org)
    assert_names_key(put(api, key, value), key)
    assert api.get(f"/v1/config/{key}").json()["source"] == "default"


def test_an_unknown_key_is_refused_naming_it(tenant, api_for):
    assert_names_key(put(api_for(tenant.org), "engine.pipeline.soul_draft.temprature", 1.0), "engine.pipeline.soul_draft.temprature")
    assert_names_key(put(api_for(tenant.org), "reviews.persona.not-a-uuid.axis_weights", {}), "reviews.persona.not-a-uuid.axis_weights")


def test_an_unknown_model_is_refused(tenant, api_for):
    response = put(api_for(tenant.org), MODEL, "anthropic/claude-imaginary-9")
    assert_names_key(response, MODEL)
    assert "unknown model" in response.content.decode()


def test_a_model_of_the_wrong_provider_or_kind_is_refused(tenant, api_for):
    api = api_for(tenant.org)
    assert_names_key(put(api, MODEL, "openai/claude-sonnet-4-6"), MODEL)
    assert_names_key(put(api, MODEL, "openai/text-embedding-3-small"), MODEL)
    assert_names_key(put(api, "engine.pipeline.fingerprint.embedding_model", "anthropic/claude-sonnet-4-6"), "embedding_model")


def test_litellm_names_with_and_without_a_provider_prefix_are_accepted(tenant, api_for):
    api = api_for(tenant.org)
    for name in ["claude-haiku-4-5", "anthropic/claude-haiku-4-5", "openai/gpt-5-mini", "gemini/gemini-2.5-flash", "offline/echo"]:
        assert put(api, MODEL, name).status_code == 200, name


def test_openai_prefixed_custom_models_need_the_orgs_openai_compatible_endpoint(tenant, api_for, monkeypatch):
    monkeypatch.delenv("OPENAI_COMPATIBLE_API_KEY", raising=False)
    api = api_for(tenant.org)
    assert_names_key(put(api, MODEL, "openai/my-local-llama"), MODEL)
    tenancy.credential_set(
        organization=tenant.org, provider="openai_compatible", api_key="sk-local-123456", api_base="http://llm.internal/v1"
    )
    assert put(api, MODEL, "openai/my-local-llama").status_code == 200


@pytest.mark.parametrize(
    "value, message",
    [
        ("anthropic/claude-haiku-4-5", "must be a list"),
        (["anthropic/claude-haiku-4-5", "nobody/knows-this"], "unknown model"),
        (["anthropic/claude-haiku-4-5", "anthropic/claude-haiku-4-5"], "twice"),
        ([1, 2], "model name"),
        (["offline/a", "offline/b", "offline/c", "offline/d", "offline/e", "offline/f"], "at most"),
    ],
)
def test_fallbacks_must_be_an_ordered_list_of_known_models(tenant, api_for, value, message):
    response = put(api_for(tenant.org), FALLBACKS, value)
    assert_names_key(response, FALLBACKS)
    assert message in response.content.decode()


def test_fallbacks_keep_their_order(tenant, api_for):
    chain = ["openai/gpt-5-mini", "anthropic/claude-haiku-4-5", "offline/echo"]
    response = put(api_for(tenant.org), FALLBACKS, chain)
    assert response.json()["item"]["value"] == chain


def test_a_missing_value_or_malformed_body_is_a_422_not_a_500(tenant, api_for):
    api = api_for(tenant.org)
    assert api.put(f"/v1/config/{MODEL}", json={}).status_code == 422
    assert api.put(f"/v1/config/{MODEL}", json={"value": "offline/x", "version": -1}).status_code == 422
    response = api.client.put(f"/v1/config/{MODEL}", data="{not json", content_type="application/json")
    assert response.status_code in (400, 422)


def test_a_bad_item_in_a_bulk_change_is_named_and_nothing_is_applied(tenant, api_for):
    api = api_for(tenant.org)
    response = api.post("/v1/config/bulk", json={"items": [
        {"key": "engine.pipeline.audit.max_retries", "value": 5},
        {"key": "engine.pipeline.audit.min_overall_score", "value": 9},
    ]})
    assert_names_key(response, "engine.pipeline.audit.min_overall_score")
    assert api.get("/v1/config/engine.pipeline.audit.max_retries").json()["value"] == 3
    assert api.get("/v1/config/history").json()["count"] == 0
