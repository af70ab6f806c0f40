"""Helpers for generation tests: run a generation through the API with tasks executed inline."""

import json

import pytest

from pipeline.prompts import STEPS
from studio.config.services import config_set
from studio.principal import Principal
from studio.services import credential_set

BRIEF = "A retired lighthouse keeper in Porto who collects other people's unsent letters and reads the tides."


@pytest.fixture
def owner_api(tenant, api_for):
    return api_for(tenant.org)


@pytest.fixture
def generate(owner_api, django_capture_on_commit_callbacks):
    """generate(brief, **fields) → response of POST /v1/personas, with the run executed inline."""

    def run(brief=BRIEF, client=None, **fields):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or owner_api).post("/v1/personas", json={"brief": brief, **fields})

    return run


def use_test_server(tenant, server, *, model="openai/gpt-test", fallbacks=None, steps=STEPS):
    """Point the org's pipeline at the OpenAI-compatible test server (a real provider, over HTTP)."""
    credential_set(organization=tenant.org, provider="openai_compatible", api_key="sk-test-12345678", api_base=server.url + "/v1")
    owner = Principal.from_membership(tenant.membership("owner"))
    for step in steps:
        config_set(actor=owner, key=f"engine.pipeline.{step}.model", value=model)
        if fallbacks is not None:
            config_set(actor=owner, key=f"engine.pipeline.{step}.fallbacks", value=fallbacks)


def section(request, name: str) -> dict | None:
    """A labelled JSON section of a pipeline prompt the test server received."""
    from pipeline.prompts import parse_sections

    raw = parse_sections(request.messages[-1]["content"]).get(name)
    return json.loads(raw) if raw else None


def step_of(request) -> str:
    from pipeline.prompts import parse_sections

    return parse_sections(request.messages[-1]["content"]).get("step", "")
