"""Each fingerprint calibrates its own drift bound: the spread of its answers' leave-one-out distances
(each answer to the mean of the others), stored with it; a reply drifts past max(threshold, mean + z·sd),
and a fingerprint without calibration (one answer, or an older one) is held to the configured threshold."""

import math
import statistics

import numpy as np
import pytest

from audits.drift import Calibration, calibrate, drift_bound
from audits.chat.models import ChatMessage
from audits.models import Fingerprint
from audits.scenarios import scenarios
from personas.models import Persona
from personas.prompting import persona_system_prompt
from studio.llm.offline.engine import chat_reply, offline_embedding
from studio.config.services import config_set
from studio.principal import Principal
from tests.generation_helpers import use_test_server
from tests.llm_server import Reply
from tests.test_drift import REPLY, blend

EMBEDDING_MODEL = "openai/text-embedding-test"
SPREAD = {"n": 40, "mean": 0.45, "sd": 0.05, "p95": 0.52, "max": 0.56}  # mean + 2·sd (the default z) = 0.55


def loo_by_hand(vectors) -> list[float]:
    """Each vector's cosine distance to the plain mean of the others, one at a time (no shared algebra with calibrate)."""
    distances = []
    for i, v in enumerate(vectors):
        others = [[x / math.sqrt(sum(y * y for y in w)) for x in w] for j, w in enumerate(vectors) if j != i]
        mean = [sum(column) / len(others) for column in zip(*others)]
        dot = sum(a * b for a, b in zip(v, mean))
        distances.append(1 - dot / (math.sqrt(sum(a * a for a in v)) * math.sqrt(sum(b * b for b in mean))))
    return distances


def set_config(tenant, key, value):
    config_set(actor=Principal.from_membership(tenant.membership("owner")), key=key, value=value)


@pytest.fixture
def online(persona, tenant, llm_server):
    use_test_server(tenant, llm_server, steps=["mask_build"], fallbacks=[])
    llm_server.script(*[Reply(REPLY)] * 5, model="gpt-test")
    return llm_server


def fingerprint(persona, vector, calibration=None):
    return Fingerprint.objects.create(
        organization=persona.organization, persona=persona, version=persona.current_version, status="ready",
        vector=vector, embedding_model=EMBEDDING_MODEL, engine="providers", scenarios=50, calibration=calibration,
    )


# --- the maths ---------------------------------------------------------------------------------


def test_the_calibration_is_the_leave_one_out_spread_computed_by_hand():
    rng = np.random.default_rng(7)
    vectors = (rng.normal(size=(23, 16)) + 1.5) * rng.uniform(0.5, 3, size=(23, 1))  # not unit length
    distances = loo_by_hand(vectors.tolist())
    calibration = calibrate(vectors)
    assert calibration.n == 23
    assert calibration.mean == pytest.approx(statistics.fmean(distances), abs=1e-12)
    assert calibration.sd == pytest.approx(statistics.stdev(distances), abs=1e-12)
    # statistics' inclusive method is numpy's default (linear) percentile
    assert calibration.p95 == pytest.approx(statistics.quantiles(distances, n=20, method="inclusive")[18], abs=1e-12)
    assert calibration.max == pytest.approx(max(distances), abs=1e-12)
    # leaving the answer out sets it further away than the mean that counts it
    with_itself = np.mean([1 - float(v @ vectors.mean(axis=0)) / np.linalg.norm(v) / np.linalg.norm(vectors.mean(axis=0)) for v in vectors])
    assert calibration.mean > with_itself


def test_one_answer_has_no_calibration_and_two_have_one():
    assert calibrate([[0.3, 0.4]]) is None
    assert calibrate([]) is None
    two = calibrate([[1.0, 0.0], [0.0, 2.0]])
    assert (two.n, two.mean, two.sd) == (2, pytest.approx(1.0), pytest.approx(0.0))


def test_identical_answers_have_no_spread_and_the_threshold_is_the_floor():
    calibration = calibrate([[0.2, 0.5, 0.1]] * 6)
    assert (calibration.mean, calibration.sd, calibration.p95) == (pytest.approx(0, abs=1e-12),) * 3
    bound = drift_bound(calibration, threshold=0.3, z=3)
    assert (bound.value, bound.source) == (0.3, "floor")


def test_answers_that_cancel_out_have_no_calibration():
    assert calibrate([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]]) is None  # the others of answer 0 sum to zero
    assert calibrate([[0.0, 0.0], [1.0, 0.0]]) is None  # an all-zero embedding


@pytest.mark.parametrize("z, threshold, expected, source", [
    (3.0, 0.30, 0.60, "calibrated"),
    (2.0, 0.30, 0.55, "calibrated"),
    (0.0, 0.30, 0.45, "calibrated"),
    (2.0, 0.65, 0.65, "floor"),
])
def test_the_bound_is_the_mean_plus_z_sd_never_under_the_threshold(z, threshold, expected, source):
    bound = drift_bound(Calibration.from_json(SPREAD), threshold=threshold, z=z)
    assert (bound.value, bound.source) == (pytest.approx(expected), source)


def test_without_calibration_the_configured_threshold_is_the_bound():
    bound = drift_bound(None, threshold=0.3, z=3)
    assert (bound.value, bound.source, bound.label) == (0.3, "configured", "the configured threshold")


@pytest.mark.parametrize("stored", [None, {}, {"n": 3}, {"n": 3, "mean": "x", "sd": 0, "p95": 0, "max": 0}, [1, 2]])
def test_a_missing_or_damaged_calibration_reads_as_none(stored):
    assert Calibration.from_json(stored) is None


# --- the job stores it -------------------------------------------------------------------------


def test_the_fingerprint_job_stores_the_spread_of_its_own_answers(generate, tenant, owner_api, settings):
    settings.POST_GENERATION_JOBS = True
    set_config(tenant, "engine.pipeline.fingerprint.scenarios", 9)
    persona = Persona.objects.get(public_id=generate().json()["id"])
    fp = Fingerprint.objects.get(persona=persona)
    system = persona_system_prompt(persona.current_version.layers)
    answers = [chat_reply([{"role": "system", "content": system}, {"role": "user", "content": q}]) for q in scenarios(9)]
    distances = loo_by_hand([offline_embedding(a) for a in answers])  # the offline engine answered, n-grams embedded
    assert fp.own_spread.n == 9 and fp.own_spread.mean == pytest.approx(statistics.fmean(distances), abs=1e-9)
    assert fp.own_spread.sd == pytest.approx(statistics.stdev(distances), abs=1e-9)
    body = owner_api.get(f"/v1/personas/{persona.public_id}/fingerprint").json()
    assert body["calibration"] == {k: pytest.approx(v) for k, v in fp.calibration.items()}
    spread = statistics.fmean(distances) + 2 * statistics.stdev(distances)
    assert body["drift_threshold"] == pytest.approx(max(0.3, spread), abs=1e-4)
    assert body["drift_threshold_source"] == ("calibrated" if spread > 0.3 else "floor")


def test_a_fingerprint_of_one_answer_is_held_to_the_configured_threshold(generate, tenant, owner_api, settings):
    settings.POST_GENERATION_JOBS = True
    set_config(tenant, "engine.pipeline.fingerprint.scenarios", 1)
    persona = Persona.objects.get(public_id=generate().json()["id"])
    fp = Fingerprint.objects.get(persona=persona)
    assert fp.status == "ready" and fp.scenarios == 1 and fp.calibration is None
    body = owner_api.get(f"/v1/personas/{persona.public_id}/fingerprint").json()
    assert (body["calibration"], body["drift_threshold"], body["drift_threshold_source"]) == (None, 0.3, "configured")
    reply = owner_api.post(f"/v1/personas/{persona.public_id}/chat", json={"message": "Write me a Python function."}).json()
    assert reply["drift"]["threshold"] == 0.3 and reply["drift"]["threshold_source"] == "configured"


# --- replies are held to it --------------------------------------------------------------------


def test_a_reply_inside_the_personas_own_spread_is_not_flagged_though_past_the_threshold(persona, online, owner_api, tenant, client_for):
    fingerprint(persona, blend(online.vector(REPLY), 0.5), SPREAD)
    body = owner_api.post(f"/v1/personas/{persona.public_id}/chat", json={"message": "How are you?"}).json()
    assert body["drift"] == {"score": pytest.approx(0.5, abs=1e-3), "threshold": 0.55, "threshold_source": "calibrated",
                             "threshold_label": "this persona's own spread", "action": "warn", "flagged": False}
    message = ChatMessage.objects.get(role="assistant")
    assert (message.drift_threshold, message.drift_threshold_source, message.flagged) == (0.55, "calibrated", False)
    history = owner_api.get(f"/v1/chat-sessions/{body['session_id']}").json()["messages"][1]
    assert (history["drift_threshold"], history["drift_threshold_source"]) == (0.55, "calibrated")
    editor = client_for(tenant.user("editor"))
    editor.post(f"/o/acme/personas/{persona.public_id}/chat/send/", {"message": "Hi"}, HTTP_HX_REQUEST="true")
    html = editor.get(f"/o/acme/personas/{persona.public_id}/chat/?session={persona.chat_sessions.latest('id').public_id}").content.decode()
    assert "drift 0.50 ≤ 0.55 (this persona&#x27;s own spread)" in html
    assert "above 0.55 (dashed)" in html and "0.45 ± 0.05 from the rest (mean + 2 sd, 40 answers)" in html
    assert "threshold 0.55" in html and 'class="dot"' in html


def test_z_comes_from_the_config_and_a_reply_past_the_bound_is_flagged(persona, online, owner_api, tenant):
    set_config(tenant, "engine.pipeline.drift_detection.z", 0.5)
    fingerprint(persona, blend(online.vector(REPLY), 0.5), SPREAD)
    drift = owner_api.post(f"/v1/personas/{persona.public_id}/chat", json={"message": "How are you?"}).json()["drift"]
    assert (drift["threshold"], drift["threshold_source"], drift["flagged"]) == (0.475, "calibrated", True)


def test_a_withheld_reply_names_the_bound_it_passed(persona, online, owner_api, tenant):
    set_config(tenant, "engine.pipeline.drift_detection.action_on_alert", "block")
    fingerprint(persona, blend(online.vector(REPLY), 0.6), SPREAD)
    response = owner_api.post(f"/v1/personas/{persona.public_id}/chat", json={"message": "How are you?"})
    assert response.status_code == 409
    assert "0.60 is above the threshold 0.55 (this persona's own spread;" in response.json()["detail"]


def test_an_older_fingerprint_without_calibration_keeps_the_configured_threshold(persona, online, owner_api):
    fingerprint(persona, blend(online.vector(REPLY), 0.5))
    drift = owner_api.post(f"/v1/personas/{persona.public_id}/chat", json={"message": "How are you?"}).json()["drift"]
    assert (drift["threshold"], drift["threshold_source"], drift["flagged"]) == (0.3, "configured", True)


def test_a_recomputed_fingerprint_moves_the_line_but_not_earlier_verdicts(persona, online, tenant, client_for):
    fingerprint(persona, blend(online.vector(REPLY), 0.5))  # no calibration: 0.50 > 0.30, flagged
    client = client_for(tenant.user("editor"))
    url = f"/o/acme/personas/{persona.public_id}/chat/send/"
    first = client.post(url, {"message": "Hi"}, HTTP_HX_REQUEST="true").content.decode()
    assert "drift 0.50 &gt; 0.30 (the configured threshold) · flagged" in first
    fingerprint(persona, blend(online.vector(REPLY), 0.5), SPREAD)
    session_id = persona.chat_sessions.get().public_id
    second = client.post(url, {"message": "Again", "session_id": session_id}, HTTP_HX_REQUEST="true").content.decode()
    assert "drift 0.50 ≤ 0.55 (this persona&#x27;s own spread)" in second
    assert second.count('class="dot over"') == 1 and second.count('class="dot"') == 1 and "threshold 0.55" in second


def test_the_tests_page_shows_the_fingerprints_spread_and_bound(persona, tenant, client_for):
    fingerprint(persona, [1.0, 0.0], SPREAD)
    html = client_for(tenant.user("viewer")).get(f"/o/acme/personas/{persona.public_id}/tests/").content.decode()
    assert "each answer 0.45 ± 0.05 from the others' mean (p95 0.52, 40 answers)" in html
    assert "0.55 — this persona&#x27;s own spread" in html


@pytest.mark.parametrize("value", [-0.5, 11, "wide", True])
def test_a_bad_z_is_refused_naming_the_key(tenant, api_for, value):
    api = api_for(tenant.org)
    response = api.put("/v1/config/engine.pipeline.drift_detection.z", json={"value": value})
    assert response.status_code == 422 and "engine.pipeline.drift_detection.z" in response.content.decode()
    assert api.get("/v1/config/engine.pipeline.drift_detection.z").json() == {**api.get(
        "/v1/config/engine.pipeline.drift_detection.z").json(), "value": 2.0, "source": "default"}


def test_an_outsider_cannot_read_the_calibration(persona, outsider_tenant, api_for):
    fingerprint(persona, [1.0, 0.0], SPREAD)
    assert api_for(outsider_tenant.org).get(f"/v1/personas/{persona.public_id}/fingerprint").status_code == 404
