"""A long conversation with a training job's checkpoint: the tuned model and the untrained student (base) answer the
simulated user with no system prompt, and both curves come back; the subject is checked (another persona's job: 422,
another org's: 404, no adapter: 409). Replies are checked against the backend sampling the checkpoint directly."""

from tests.tuned_model_helpers import trained_job
from tests.tuned_model_helpers import artifacts_in_tmp_fixture, job_fixture, tiny_checkpoint_fixture  # noqa: F401  (fixtures)
import pytest

from training_jobs import tuned_chat
from training_jobs.backends.trl_backend import TRLBackend

CASE = {"layer": "persona", "title": "The tuned model holds its voice",
        "check": {"kind": "long_conversation", "turns": 20, "threshold": 0.5, "before_turn": 10, "repeats": 2}}


# Short replies: the conversation is 20 turns (the case's minimum) × 2 repeats × 2 models, each reply a generation on
# the tiny model that almost never ends early (at the chat's 120 tokens, 0.27 s a reply and 18 s for the test).
REPLY_TOKENS = 24


@pytest.fixture(autouse=True)
def short_replies(monkeypatch):
    monkeypatch.setattr(tuned_chat, "CHAT_MAX_NEW_TOKENS", REPLY_TOKENS)


def sampled(job, conversation, *, adapter: bool, seed: int) -> str:
    root, p = job.artifacts_dir / "dpo_train", job.params
    text = TRLBackend().sample([conversation], {"student": str(root / "base"), "seed": seed},
                               adapter_dir=str(root / "adapter") if adapter else None, base_dir=str(root / "base"),
                               max_new_tokens=REPLY_TOKENS, temperature=p["temperature"], top_p=p["top_p"],
                               repetition_penalty=1.15)[0]
    return text.replace("\x00", "").strip()


def test_a_checkpoint_talks_for_twenty_turns_tuned_and_base_each_with_a_drift_curve(owner_api, persona, job, fingerprint,
                                                                                    django_capture_on_commit_callbacks):
    fingerprint(persona.public_id)
    assert owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=CASE).status_code == 201
    with django_capture_on_commit_callbacks(execute=True):
        started = owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs",
                                 json={"epochs": 1, "subject": {"kind": "checkpoint", "training_job": str(job.public_id)}})
    assert started.status_code == 202, started.content
    assert started.json()["progress_total"] == 40 and started.json()["subject"]["kind"] == "checkpoint"  # only the long conversation: 20 turns × 2 repeats
    run = owner_api.get(f"/v1/eval-runs/{started.json()['id']}").json()
    assert run["status"] == "completed", run["error"]
    assert run["config"]["subject"] == {"kind": "checkpoint", "training_job": str(job.public_id), "stage": "dpo_train"}
    (conv,) = run["long_conversations"]
    assert conv["subject"] == "checkpoint" and len(conv["repeats"]) == 2, conv["errors"]
    first = conv["repeats"][0]
    assert len(first["drift"]) == len(first["base_drift"]) == 20
    assert conv["base"]["repeats_scored"] == 2 and len(conv["base"]["band"]) == 20
    # turn 1 and turn 2 as the checkpoint said them: the conversation only, no system prompt, the turn's seed
    rows = first["transcript"]
    seed = first["seed"]
    assert rows[0]["reply"] == sampled(job, [{"role": "user", "content": rows[0]["user"]}], adapter=True, seed=seed + 1)
    assert rows[0]["base"] == sampled(job, [{"role": "user", "content": rows[0]["user"]}], adapter=False, seed=seed + 1)
    second = [{"role": "user", "content": rows[0]["user"]}, {"role": "assistant", "content": rows[0]["reply"]},
              {"role": "user", "content": rows[1]["user"]}]
    assert rows[1]["reply"] == sampled(job, second, adapter=True, seed=seed + 2)
    page = owner_api.get(f"/v1/eval-runs/{run['id']}")
    assert page.status_code == 200


def test_the_checkpoint_subject_is_checked(owner_api, persona, job, generate, tenant, outsider_tenant, api_for):
    owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=CASE)
    other = generate().json()["id"]
    owner_api.post(f"/v1/personas/{other}/eval-cases", json=CASE)
    body = {"subject": {"kind": "checkpoint", "training_job": str(job.public_id)}}
    response = owner_api.post(f"/v1/personas/{other}/eval-runs", json=body)
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["subject.training_job"]
    response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs", json={"subject": {"kind": "checkpoint"}})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["subject.training_job"]
    untrained = trained_job(persona, None, name="untrained")
    response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs",
                              json={"subject": {"kind": "checkpoint", "training_job": str(untrained.public_id)}})
    assert response.status_code == 409
    outsider = api_for(outsider_tenant.org)
    assert outsider.post(f"/v1/personas/{persona.public_id}/eval-runs", json=body).status_code == 404


def test_a_checkpoint_run_needs_a_long_conversation_case(owner_api, persona, job):
    response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs",
                              json={"subject": {"kind": "checkpoint", "training_job": str(job.public_id)}})
    assert response.status_code == 409 and "long-conversation case" in response.json()["detail"]
