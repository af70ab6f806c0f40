"""Generation against the OpenAI-compatible test server through the real litellm path: the
constraint chain, faults of every kind, fallbacks, and missing credentials."""

from collections import Counter

import pytest

from pipeline.models import PipelineRun
from studio.llm.offline.engine import offline_reply
from tests.generation_helpers import BRIEF, section, step_of, use_test_server
from tests.llm_server import MALFORMED_JSON, RATE_LIMIT, SERVER_ERROR, TIMEOUT, UNAUTHORIZED


@pytest.fixture(autouse=True)
def fast_retries(settings):
    settings.LLM_RETRY_BACKOFF_S = 0.001


@pytest.fixture
def provider(llm_server, tenant):
    """The test server answers like a real model would (the offline engine's text), over HTTP."""
    llm_server.default_reply = lambda request: offline_reply(request.messages)
    use_test_server(tenant, llm_server)
    return llm_server


def test_every_step_sees_the_brief_and_every_earlier_layer(generate, provider):
    body = generate(BRIEF).json()
    assert PipelineRun.objects.get(public_id=body["run_id"]).status in ("ready", "flagged")
    first = {step_of(r): r for r in reversed(provider.requests)}  # the first request of each step
    assert BRIEF in first["intent_parse"].messages[-1]["content"]
    assert section(first["soul_draft"], "intent") is not None
    assert section(first["self_enrich"], "soul") is not None
    mask = first["mask_build"]
    assert section(mask, "soul") and section(mask, "self") and section(mask, "intent")
    surface = first["surface_ground"]
    assert all(section(surface, name) for name in ("intent", "soul", "self", "mask"))
    audit = first["audit"]
    assert all(section(audit, name) for name in ("intent", "soul", "self", "mask", "surface"))
    # Stop sequences and the step's knobs reach the provider.
    assert "\nUser:" in first["soul_draft"].params["stop"]
    assert first["soul_draft"].params["temperature"] is not None


def test_self_that_contradicts_the_soul_is_rejected_and_retried(generate, provider):
    unseen_soul = (
        '{"desire": "to be seen as ordinary and left alone", "fear": "being looked at", '
        '"wound": "a childhood spent on stage", "growth_arc": "learns that being seen is not being consumed"}'
    )
    loud_self = (
        '{"big_five": {"openness": 0.5, "conscientiousness": 0.5, "extraversion": 0.95, "agreeableness": 0.5, '
        '"neuroticism": 0.5}, "archetype": "the performer", "values": ["privacy", "craft"], "attachment_style": "avoidant"}'
    )
    calls = Counter()

    def reply(request):
        step = step_of(request)
        calls[step] += 1
        if step == "soul_draft":
            return unseen_soul
        if step == "self_enrich" and calls[step] == 1:
            return loud_self
        return offline_reply(request.messages)

    provider.default_reply = reply
    body = generate(BRIEF).json()
    run = PipelineRun.objects.get(public_id=body["run_id"])
    self_step = run.steps.get(step="self_enrich", attempt=1)
    assert self_step.llm_attempts[0]["kind"] == "invalid_output"
    assert "extraversion 0.95" in self_step.llm_attempts[0]["error"]
    assert self_step.output["big_five"]["extraversion"] <= 0.7


@pytest.mark.parametrize("fault", [RATE_LIMIT, SERVER_ERROR, TIMEOUT, MALFORMED_JSON], ids=["429", "500", "timeout", "malformed"])
def test_a_transient_fault_is_retried_and_the_run_succeeds(generate, provider, fault, settings):
    settings.LLM_TIMEOUT_S = 1.0
    if fault is TIMEOUT:
        fault = type(fault)(kind="timeout", delay_s=3.0)
    provider.script(fault)
    body = generate(BRIEF).json()
    run = PipelineRun.objects.get(public_id=body["run_id"])
    assert run.status in ("ready", "flagged"), run.error
    intent = run.steps.get(step="intent_parse")
    assert [a["ok"] for a in intent.llm_attempts] == [False, True]


def test_schema_invalid_content_is_retried_then_the_fallback_model_answers(generate, llm_server, tenant):
    llm_server.default_reply = lambda request: offline_reply(request.messages)
    use_test_server(tenant, llm_server, model="openai/gpt-primary", fallbacks=["openai/gpt-backup"])
    llm_server.script('{"genre_hints": "not a list"}', '{"nope": 1}', "plain prose, no JSON", model="gpt-primary")
    body = generate(BRIEF).json()
    run = PipelineRun.objects.get(public_id=body["run_id"])
    intent = run.steps.get(step="intent_parse")
    assert [a["kind"] for a in intent.llm_attempts] == ["invalid_output"] * 3 + ["ok"]
    assert intent.model_requested == "openai/gpt-primary" and intent.model_used == "openai/gpt-backup"


def test_when_every_model_fails_the_run_fails_with_every_attempt_listed(generate, provider, tenant):
    provider.script(*[SERVER_ERROR] * 10)
    body = generate(BRIEF).json()
    run = PipelineRun.objects.get(public_id=body["run_id"])
    assert run.status == "failed"
    assert "intent_parse" in run.error and "500" in run.error
    persona = run.persona
    persona.refresh_from_db()
    assert persona.status == "failed" and persona.current_version is None  # nothing half-written
    assert run.events.last().type == "pipeline.failed"


def test_an_auth_error_is_not_retried(generate, provider):
    provider.script(UNAUTHORIZED, *[UNAUTHORIZED] * 5)
    body = generate(BRIEF).json()
    run = PipelineRun.objects.get(public_id=body["run_id"])
    assert run.status == "failed"
    attempts = run.steps.get(step="intent_parse").llm_attempts
    on_primary = [a["kind"] for a in attempts if a["model"] == "openai/gpt-test"]
    assert on_primary == ["auth"]  # not retried; the chain moved on to the configured fallbacks


def test_a_provider_without_credentials_is_named_before_anything_starts(generate, tenant):
    from studio.services import credential_set

    # The org has a key for OpenAI only; the default steps use Anthropic models.
    credential_set(organization=tenant.org, provider="openai", api_key="sk-openai-12345678")
    response = generate(BRIEF)
    assert response.status_code == 422
    assert "anthropic" in str(response.json()["detail"])
    assert PipelineRun.objects.count() == 0
