"""With no credentials and the local models installed, the fingerprint's scenarios are answered by the model that
answers the chat (SmolLM2, with the chat's settings, as one batch) and embedded with MiniLM; its own spread sets the
drift bound, so SmolLM2's in-character replies pass where the fixed threshold flagged every one, and a Python answer
is still flagged. Few, short answers: each test runs in seconds."""

import statistics
import threading

import numpy as np
import pytest

from audits.services import BASELINE_SYSTEM_PROMPT

from audits.chat import services as chat_services
from audits.chat.services import drift_score
from audits.models import AuditJob, BaselineFingerprint, Fingerprint
from personas.models import Persona
from personas.prompting import persona_system_prompt
from studio.config.selectors import effective_tree
from studio.config.services import config_set
from studio.llm import local_embeddings
from studio.principal import Principal
from tests.fingerprint_helpers import seed_baseline
from tests.test_drift_calibration import loo_by_hand

pytestmark = pytest.mark.local_models

SCENARIOS = 4  # two batches of the two sequences, progress between them, and a spread (8 cost twice as long)
# A spread measured on 12 short answers sometimes reached 1.0, past the Python answer. On 16 answers of 32 tokens, seeds
# 11 to 15 gave thresholds of 0.79–0.89 with the in-character reply at 0.47–0.66 and the Python answer at 1.00–1.07
# (24 answers of 48 tokens: 0.88, 0.56 and 1.06 at seed 11, and a third longer: each answer is ~25 ms a token here).
DRIFT_SCENARIOS = 16
ANSWER_TOKENS = 32
SEED = 11  # sampled answers, but the same ones on every run
PYTHON = "Sure! Here is a Python function that sorts a list: def sort(x): return sorted(x)"


@pytest.fixture
def local_answers(monkeypatch, settings):
    """What SmolLM2 was asked and answered [(messages, params, text)], and the most calls it had in flight at once.
    Each call is seeded (SEED), so the test does not depend on one lucky draw."""
    from studio.llm import local_llm

    monkeypatch.setattr(chat_services, "LOCAL_CHAT_MAX_TOKENS", ANSWER_TOKENS)
    calls, real, lock = [], local_llm.generate, threading.Lock()
    state = {"in_flight": 0, "peak": 0}

    def spy(messages, params=None):
        with lock:
            state["in_flight"] += 1
            state["peak"] = max(state["peak"], state["in_flight"])
        try:
            text, usage, warnings = real(messages, {**(params or {}), "seed": SEED})
        finally:
            with lock:
                state["in_flight"] -= 1
        if messages[0]["content"] != BASELINE_SYSTEM_PROMPT:  # the persona's answers (not the org's generic baseline)
            calls.append((messages, params, text))
        return text, usage, warnings

    monkeypatch.setattr(local_llm, "generate", spy)
    return calls, state


@pytest.fixture
def fingerprinted(tenant, generate, settings, local_answers, monkeypatch):
    """fingerprinted(n) → a persona generated with the post-generation jobs on, its fingerprint answered by SmolLM2
    (n answers), and the audit.progress payloads sent meanwhile."""
    settings.POST_GENERATION_JOBS = True
    owner = Principal.from_membership(tenant.membership("owner"))
    config_set(actor=owner, key="engine.pipeline.provocation.enabled", value=False)
    sent = []
    monkeypatch.setattr("audits.services.send_event", lambda group, event, payload: sent.append(payload))

    def run(scenarios: int):
        config_set(actor=owner, key="engine.pipeline.fingerprint.scenarios", value=scenarios)
        persona = Persona.objects.get(public_id=generate().json()["id"])
        fingerprint = Fingerprint.objects.get(persona=persona)
        assert fingerprint.status == "ready", fingerprint.error
        return persona, fingerprint, [p["job"] for p in sent if "job" in p]

    return run


def test_an_in_character_reply_passes_and_a_python_answer_is_flagged(fingerprinted, owner_api, tenant):
    # The org's generic-assistant baseline on these scenarios is already there (the test below shows it computed): it
    # would otherwise be the first fingerprint's, 24 more SmolLM2 answers that play no part in the drift bound.
    seeded = seed_baseline(tenant.org, scenarios=DRIFT_SCENARIOS, dimensions=384, embedding_model="local/all-minilm-l6-v2")
    persona, fingerprint, _ = fingerprinted(DRIFT_SCENARIOS)
    assert fingerprint.baseline == seeded and BaselineFingerprint.objects.count() == 1  # reused, none computed
    reply = owner_api.post(f"/v1/personas/{persona.public_id}/chat", json={"message": "Tell me about your work."}).json()
    assert reply["model"] == "local/smollm2-135m-instruct", reply
    drift = reply["drift"]
    # the fixed threshold would have flagged it; the persona's own spread does not
    assert drift["threshold_source"] == "calibrated" and 0.3 < drift["score"] <= drift["threshold"], (reply["reply"], drift)
    assert drift["flagged"] is False
    python, note, _ = drift_score(persona=persona, text=PYTHON, tree=effective_tree(persona.organization, persona.workspace))
    assert note == "" and python.flagged and python.score > python.threshold == drift["threshold"]


def test_the_chats_own_model_answers_the_scenarios_in_one_batch_with_progress_and_its_spread_is_kept(fingerprinted, local_answers,
                                                                                                     owner_api, settings):
    # The tests' one sequence (conftest): the engine loads again with two. Last in the file, so the tests before it
    # keep the one sequence's cache of the persona prompt.
    settings.LOCAL_LLM_PARALLEL = 2
    persona, fingerprint, progress = fingerprinted(SCENARIOS)
    calls, state = local_answers
    assert fingerprint.chat_model == "local/smollm2-135m-instruct" and fingerprint.embedding_model == "local/all-minilm-l6-v2"
    assert AuditJob.objects.get(kind="fingerprint").chat_model == "local/smollm2-135m-instruct"
    system = persona_system_prompt(persona.current_version.layers)
    assert len(calls) == SCENARIOS and all(messages[0] == {"role": "system", "content": system} for messages, _, _ in calls)
    # the chat's settings: what the fingerprint hears is what a chat reply will sound like
    assert {(p["max_tokens"], p["temperature"]) for _, p, _ in calls} == {(ANSWER_TOKENS, chat_services.LOCAL_CHAT_TEMPERATURE)}
    assert state["peak"] >= 2  # answered concurrently, not one after another
    running = [job["done"] for job in progress if job["status"] == "running"]
    # The persona's answers and embedding, then the org's first baseline (as many again).
    assert running == sorted(running) and running[-1] == 2 * (SCENARIOS + 1) and any(0 < done <= SCENARIOS for done in running)
    # the calibration: SmolLM2's answers under MiniLM, each against the mean of the others
    vectors, _ = local_embeddings.encode([text for _, _, text in calls])
    distances = loo_by_hand(np.asarray(vectors).tolist())
    spread = fingerprint.own_spread
    assert spread.n == SCENARIOS
    assert spread.mean == pytest.approx(statistics.fmean(distances), abs=1e-6)
    assert spread.sd == pytest.approx(statistics.stdev(distances), abs=1e-6)
    body = owner_api.get(f"/v1/personas/{persona.public_id}/fingerprint").json()
    assert body["drift_threshold"] == pytest.approx(max(0.3, spread.mean + 2 * spread.sd), abs=1e-4)
