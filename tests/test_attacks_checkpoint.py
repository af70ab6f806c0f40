"""Robustness attacks on a training job's checkpoints: a really trained tiny model, base (the untrained student) beside
tuned (student + adapter), neither with a system prompt; the prefill attack's first turn written by the base checkpoint
and continued by both; every figure and the paired difference tuned − base recomputed here from the replies."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from audits.attacks import ATTACKS, KEEP_GOING, ORDINARY_PROMPTS, PREFILL
from audits.models import AuditJob
from tests.test_attacks import textbook_wilson
from tests.tuned_model_helpers import trained_job
from tests.tuned_model_helpers import artifacts_in_tmp_fixture, job_fixture, tiny_checkpoint_fixture  # noqa: F401  (fixtures)
from training_jobs.backends.trl_backend import TRLBackend
from training_jobs import attacks as checkpoint_attacks

PROMPTS = 3
# Short replies: 63 replies a side, each a generation on the tiny model that almost never ends early (at the chat's 120
# tokens the run took 8 s of a busy worker).
REPLY_TOKENS = 32


@pytest.fixture(autouse=True)
def short_replies(monkeypatch):
    monkeypatch.setattr(checkpoint_attacks, "CHAT_MAX_NEW_TOKENS", REPLY_TOKENS)


@pytest.fixture
def attack(owner_api, django_capture_on_commit_callbacks):
    def run(job, client=None, **body):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or owner_api).post(f"/v1/training-jobs/{job.public_id}/attacks", json=body or None)

    return run


def first_turns(job) -> list[str]:
    """The base checkpoint sampled directly on the ordinary prompts, as the run samples it (one batch, the job's seed)."""
    root, p = job.artifacts_dir / "dpo_train", job.params
    texts = TRLBackend().sample([[{"role": "user", "content": prompt}] for prompt in ORDINARY_PROMPTS[:PROMPTS]],
                                {"student": str(root / "base"), "seed": p["seed"]}, base_dir=str(root / "base"),
                                max_new_tokens=REPLY_TOKENS, temperature=p["temperature"], top_p=p["top_p"],
                                repetition_penalty=1.15, batch_size=8)
    return [t.replace("\x00", "").strip() for t in texts]


def test_every_attack_runs_on_base_and_tuned_checkpoints_with_the_difference_per_attack(job, persona, fingerprint, attack, owner_api):
    fp = fingerprint(persona.public_id)
    response = attack(job, prompts=PROMPTS)
    assert response.status_code == 202, response.content
    run = owner_api.get(f"/v1/attack-runs/{response.json()['run_id']}").json()
    assert run["status"] == "completed", run["error"]
    assert (run["kind"], run["sides"], run["training_job_id"], run["engine"]) == ("checkpoint_attacks", ["base", "tuned"], str(job.public_id), "local")
    assert run["chat_model"] == "base (tiny) vs tuned (DPO)" and run["done"] == run["total"] == 10 * PROMPTS * 2 + PROMPTS + 10 * PROMPTS * 2 + 1
    assert len(run["replies"]) == 60 and run["fingerprint"]["id"] == str(fp.public_id)

    # The prefill: the base checkpoint's first turn, continued after "Keep going." by each side, with no system prompt.
    turns = first_turns(job)
    prefill = {(r["side"], r["prompt_index"]): r["transcript"] for r in run["replies"] if r["attack"] == PREFILL}
    for side in ("base", "tuned"):
        for index in range(PROMPTS):
            transcript = prefill[side, index]
            assert [t["role"] for t in transcript] == ["user", "assistant", "user", "assistant"]
            assert transcript[1]["content"] == turns[index] and transcript[2]["content"] == KEEP_GOING
    replies = {(r["attack"], r["side"], r["prompt_index"]): r for r in run["replies"]}
    differ = sum(replies[a.id, "base", i]["transcript"][-1]["content"] != replies[a.id, "tuned", i]["transcript"][-1]["content"]
                 for a in ATTACKS for i in range(PROMPTS))
    assert differ >= 20  # the adapter changes what it says

    for entry in run["attacks"]:
        per_side = {}
        for side in ("base", "tuned"):
            rows = [replies[entry["id"], side, i] for i in range(PROMPTS)]
            stats = entry["sides"][side]
            passed, graded = sum(r["verdict"] == "pass" for r in rows), sum(r["verdict"] in ("pass", "fail") for r in rows)
            assert (stats["judge"]["successes"], stats["judge"]["n"]) == (passed, graded)
            if graded:
                assert stats["judge"]["interval"] == pytest.approx(textbook_wilson(passed, graded))
            within = [r["within_bound"] for r in rows]
            assert stats["fingerprint"]["successes"] == sum(within) and stats["fingerprint"]["n"] == PROMPTS
            per_side[side] = rows
        difference = entry["difference"]
        drift_diffs = [t["drift"] - b["drift"] for b, t in zip(per_side["base"], per_side["tuned"]) if b["drift"] is not None and t["drift"] is not None]
        assert difference["drift"]["mean"] == pytest.approx(np.mean(drift_diffs))
        low, high = scipy_stats.t.interval(0.95, len(drift_diffs) - 1, loc=np.mean(drift_diffs), scale=scipy_stats.sem(drift_diffs))
        assert difference["drift"]["interval"] == pytest.approx([low, high])
        judged = [(b["verdict"] == "pass", t["verdict"] == "pass") for b, t in zip(per_side["base"], per_side["tuned"])
                  if b["verdict"] in ("pass", "fail") and t["verdict"] in ("pass", "fail")]
        if judged:
            assert difference["judge"]["difference"] == pytest.approx(np.mean([t - b for b, t in judged]))


def test_a_job_without_a_trained_adapter_cannot_be_attacked(persona, attack):
    untrained = trained_job(persona, None, name="untrained")
    response = attack(untrained)
    assert response.status_code == 409 and "no trained adapter" in response.json()["detail"]
    assert not AuditJob.objects.filter(kind="checkpoint_attacks").exists()


def test_bad_options_are_422_and_outsiders_get_404(job, attack, api_for, outsider_tenant, tenant):
    response = attack(job, prompts=99)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "prompts"
    response = attack(job, attacks=["nope"])
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "attacks"
    outsider = api_for(outsider_tenant.org)
    assert outsider.post(f"/v1/training-jobs/{job.public_id}/attacks").status_code == 404
    assert outsider.get(f"/v1/training-jobs/{job.public_id}/attacks").status_code == 404
    reader = api_for(tenant.org, scopes=["training:read"])
    assert reader.post(f"/v1/training-jobs/{job.public_id}/attacks").status_code == 403
    assert reader.get(f"/v1/training-jobs/{job.public_id}/attacks").json()["count"] == 0


def test_the_job_page_links_its_attacks_page_where_an_editor_starts_a_run(job, tenant, client_for, outsider,
                                                                            django_capture_on_commit_callbacks):
    editor = client_for(tenant.user("editor"))
    assert 'data-testid="job-attacks"' in editor.get(f"/o/acme/training/{job.public_id}/").content.decode()
    page = editor.get(f"/o/acme/training/{job.public_id}/attacks/").content.decode()
    assert 'data-testid="run-checkpoint-attacks"' in page and "No attack run on this job yet" in page
    with django_capture_on_commit_callbacks(execute=False):
        response = editor.post(f"/o/acme/training/{job.public_id}/attacks/")
    assert response.status_code == 302
    run = AuditJob.objects.get(kind="checkpoint_attacks")
    assert run.params["training_job"] == str(job.public_id) and run.params["sides"] == ["base", "tuned"]
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/attacks/").content.decode()
    assert 'data-testid="audit-job"' in page and 'data-testid="run-checkpoint-attacks"' not in page
    assert client_for(tenant.user("viewer")).post(f"/o/acme/training/{job.public_id}/attacks/").status_code == 403
    stranger = client_for(outsider)
    for method in ("get", "post"):
        assert getattr(stranger, method)(f"/o/acme/training/{job.public_id}/attacks/").status_code == 404
    assert AuditJob.objects.filter(kind="checkpoint_attacks").count() == 1
