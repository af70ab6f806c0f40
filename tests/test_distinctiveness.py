"""Distinctiveness: a persona's fingerprint distance from a generic assistant's on the same scenarios (a baseline
computed once per org, models and count), shown beside the audit, usable in the eval ship gate; near-clones in an
org listed on the personas page."""

import json

import pytest

from audits.evals.stats import FAIL, INCONCLUSIVE, PASS, distinctiveness_gate
from audits.models import BaselineFingerprint
from audits.services import BASELINE_SYSTEM_PROMPT
from studio.config.services import config_set
from studio.principal import Principal
from tests.fingerprint_helpers import cosine_distance


def test_the_first_fingerprint_computes_the_baseline_and_the_distinctiveness_is_the_distance_from_it(generate, fingerprint, owner_api):
    first = fingerprint(generate().json()["id"])
    baseline = BaselineFingerprint.objects.get()
    assert (baseline.chat_model, baseline.embedding_model, baseline.scenarios, baseline.answers) == (
        "offline/studio", "offline/studio-embed", 50, 50)
    assert baseline.system_prompt == BASELINE_SYSTEM_PROMPT and first.baseline == baseline
    assert first.distinctiveness == pytest.approx(cosine_distance(first.vector, baseline.vector), abs=1e-6)
    assert (first.job.done, first.job.total) == (102, 102)  # the persona's 50 answers + embedding, then the baseline's
    second = fingerprint(generate("A beekeeper in Umbria who talks to her hives.").json()["id"])
    assert BaselineFingerprint.objects.count() == 1 and second.baseline == baseline
    assert (second.job.done, second.job.total) == (51, 51)
    body = owner_api.get(f"/v1/personas/{second.persona.public_id}/distinctiveness").json()
    assert body["score"] == pytest.approx(cosine_distance(second.vector, baseline.vector), abs=1e-6)
    assert (body["scenarios"], body["baseline_prompt"]) == (50, BASELINE_SYSTEM_PROMPT)
    assert owner_api.get(f"/v1/personas/{second.persona.public_id}/fingerprint").json()["distinctiveness"] == body["score"]


def test_the_distinctiveness_is_shown_beside_the_audit(generate, fingerprint, tenant, client_for):
    persona_id = generate().json()["id"]
    client = client_for(tenant.owner)
    assert "after the voice fingerprint" in client.get(f"/o/acme/personas/{persona_id}/").content.decode()
    found = fingerprint(persona_id)
    page = client.get(f"/o/acme/personas/{persona_id}/").content.decode()
    assert f"<strong>{found.distinctiveness:.4f}</strong>" in page


def test_near_clones_of_one_org_are_listed(generate, fingerprint, import_card, owner_api, tenant, client_for):
    original = generate().json()["id"]
    other = generate("A beekeeper in Umbria who talks to her hives and distrusts the mayor.").json()["id"]
    card = owner_api.get(f"/v1/personas/{original}/card?spec=v2").content
    clone = import_card(card, "clone.json").json()["id"]  # the same layers under another name
    vectors = {pid: fingerprint(pid).vector for pid in (original, other, clone)}
    close = cosine_distance(vectors[original], vectors[clone])
    far = cosine_distance(vectors[original], vectors[other])
    assert close < 0.05 < far, (close, far)
    body = owner_api.get("/v1/persona-clones").json()
    assert body["clone_floor"] == 0.05
    assert [{p["a"]["id"], p["b"]["id"]} for p in body["pairs"]] == [{original, clone}]
    assert body["pairs"][0]["distance"] == pytest.approx(close, abs=1e-6)
    page = client_for(tenant.owner).get("/o/acme/personas/").content.decode()
    assert 'data-testid="near-clones"' in page
    config_set(actor=Principal.from_membership(tenant.membership("owner")), key="engine.pipeline.distinctiveness.clone_floor", value=0.0)
    assert owner_api.get("/v1/persona-clones").json()["pairs"] == []
    assert 'data-testid="near-clones"' not in client_for(tenant.owner).get("/o/acme/personas/").content.decode()


@pytest.mark.parametrize("state, score, threshold, expected", [
    (PASS, 0.30, 0.0, PASS), (PASS, 0.30, 0.2, PASS), (PASS, 0.10, 0.2, FAIL), (PASS, None, 0.2, INCONCLUSIVE),
    (FAIL, 0.30, 0.2, FAIL), (INCONCLUSIVE, 0.10, 0.2, FAIL), (PASS, 0.2, 0.2, PASS),
])
def test_the_distinctiveness_threshold_in_the_ship_gate(state, score, threshold, expected):
    gated, reasons = distinctiveness_gate(state, [], score, threshold)
    assert gated == expected and bool(reasons) == (threshold > 0 and (score is None or score < threshold))


def test_an_eval_run_below_the_distinctiveness_threshold_does_not_ship(generate, fingerprint, owner_api, tenant, django_capture_on_commit_callbacks):
    persona_id = generate().json()["id"]
    score = fingerprint(persona_id).distinctiveness
    config_set(actor=Principal.from_membership(tenant.membership("owner")), key="engine.pipeline.distinctiveness.min_score",
               value=round(min(2.0, score + 0.01), 4))
    with django_capture_on_commit_callbacks(execute=True):
        run_id = owner_api.post(f"/v1/personas/{persona_id}/eval-runs", json={"epochs": 1}).json()["id"]
    run = owner_api.get(f"/v1/eval-runs/{run_id}").json()
    assert run["gate_state"] == "fail"
    assert any(reason.startswith(f"distinctiveness {score:.4f} is below") for reason in run["gate_reasons"]), json.dumps(run["gate_reasons"])
