"""Training jobs run: every stage end to end, the introspection toggles, kill criteria, cancel, resume, cost, faults."""

import json
import math
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from studio.principal import Principal
from audits.reviews.judge import JUDGE_MARKER
from tests.llm_server import SERVER_ERROR, Reply
from training_jobs import backends, engine
from training_jobs.backends import TrainResult
from training_jobs.models import JobStatus, StageRun, TrainingJob
from training_jobs.params import STOP_SEQUENCES
from studio.work.reaper import reap
from training_jobs.engine import read_jsonl
from training_jobs.services import org_month_to_date, training_job_cancel, training_job_resume

HEALTHY_DPO = [{"loss": 0.70 - 0.05 * i, "rewards/accuracies": 0.75, "rewards/margins": 0.1 * i} for i in range(1, 4)]
HEALTHY_SFT = [{"loss": 3.0 - 0.2 * i} for i in range(1, 4)]


class ScriptedBackend:
    """A backend that reports scripted metrics (the kill criteria see exactly these) and writes real artifact folders."""

    name = "scripted"

    def __init__(self, dpo=HEALTHY_DPO, sft=HEALTHY_SFT, on_step=None):
        self.scripts = {"dpo": dpo, "sft": sft}
        self.on_step = on_step
        self.rows = {"dpo": [], "sft": []}

    def _train(self, kind, rows, config, on_metrics, should_stop):
        out = Path(config["output_dir"])
        (out / "adapter").mkdir(parents=True, exist_ok=True)
        (out / "base").mkdir(parents=True, exist_ok=True)
        self.rows[kind] = list(rows)
        history, stopped = [], False
        for step, metrics in enumerate(self.scripts[kind], start=1):
            history.append({"step": step, **metrics})
            on_metrics(step, dict(metrics))
            if self.on_step:
                self.on_step(kind, step)
            if should_stop():
                stopped = True
                break
        (out / "metrics.jsonl").write_text("".join(json.dumps(h) + "\n" for h in history))
        return TrainResult(kind=kind, steps=len(history), max_steps=len(self.scripts[kind]), stopped_early=stopped,
                           final_metrics=dict(history[-1]) if history else {}, history=history,
                           artifacts={"adapter_dir": str(out / "adapter"), "metrics": str(out / "metrics.jsonl"),
                                      "base_dir": str(out / "base")})

    def train_dpo(self, pairs, config, on_metrics=None, should_stop=None):
        return self._train("dpo", pairs, config, on_metrics, should_stop)

    def train_sft(self, examples, config, on_metrics=None, should_stop=None):
        return self._train("sft", examples, config, on_metrics, should_stop)

    def sample(self, prompts, config, **kwargs):
        return [f"Sample for {p}" for p in prompts]


@pytest.fixture
def scripted(monkeypatch):
    def install(**kwargs) -> ScriptedBackend:
        backend = ScriptedBackend(**kwargs)
        monkeypatch.setattr(backends, "get_backend", lambda name: backend)
        return backend

    return install


def stage(job, name) -> StageRun:
    return job.stages.get(stage=name)


def event_types(job) -> list[str]:
    return list(job.events.values_list("type", flat=True))


def artifact(job, stage_name, key) -> Path:
    return job.artifacts_dir / stage(job, stage_name).artifacts[key]


# --- the whole pipeline, really training ---------------------------------------------------------


def test_a_job_runs_smoke_dpo_data_dpo_training_introspection_sft_and_eval_on_the_tiny_model(persona, launch):
    job = launch(persona, smoke_test="small")

    assert job.status == JobStatus.SUCCEEDED, job.error
    assert [s.status for s in job.stages.all()] == ["completed"] * 6
    types = event_types(job)
    assert types[0] == "job.queued" and types[-1] == "job.succeeded"
    assert [e.data["stage"] for e in job.events.filter(type="stage.started")] == \
        ["smoke", "dpo_data", "dpo_train", "introspection", "sft", "eval"]
    assert job.events.filter(type="train.metrics").count() >= 4
    seqs = list(job.events.values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))

    smoke = stage(job, "smoke").stats["smoke"]["small"]
    assert smoke["pairs"] == 8 and smoke["dpo"]["steps"] == 3 and smoke["sft"]["steps"] == 3
    pairs = read_jsonl(artifact(job, "dpo_data", "pairs"))
    assert len(pairs) == 12
    assert set(pairs[0]) == {"prompt", "chosen", "rejected", "teacher_model", "student_model", "constitution_version"}
    assert pairs[0]["teacher_model"] == "offline/teacher" and pairs[0]["constitution_version"] == job.constitution.number
    dpo = stage(job, "dpo_train")
    first = dpo.stats["dpo_history"][0]
    assert math.isclose(first["dpo/pref_loss_est"], math.log(2), rel_tol=1e-6)  # DPO starts at ln 2
    assert (job.artifacts_dir / dpo.artifacts["adapter"] / "adapter_config.json").exists()
    assert (job.artifacts_dir / stage(job, "sft").artifacts["adapter"] / "adapter_config.json").exists()

    generator = stage(job, "introspection").stats["generator"]
    assert generator["by"] == "teacher" and "tiny" in generator["why"]
    report = stage(job, "eval").stats["eval"]
    assert report["matchups"] == report["prompts"] * report["samples_per_prompt"] > 0
    assert {e["source"] for e in report["leaderboard"]} == {"base (tiny)", f"tuned ({job.name}, sft)"}
    assert all(e["elo"]["low"] <= e["elo"]["rating"] <= e["elo"]["high"] for e in report["leaderboard"])
    assert report["sent_to_reviewers"] is False and not persona.comparisons.exists()  # review is opt-in
    assert job.outcome == report["outcome"]["outcome"] and job.outcome_detail == report["outcome"]


# --- the data the stages store -------------------------------------------------------------------


def test_reflections_keep_reasoning_traces_and_interactions_strip_them_by_default(persona, launch, scripted):
    scripted()
    job = launch(persona)
    reflections = read_jsonl(artifact(job, "introspection", "reflections"))
    interactions = read_jsonl(artifact(job, "introspection", "interactions"))
    assert reflections and all("<think>" in r["response"] and r["has_trace"] for r in reflections)
    assert interactions and not any("<think>" in t for row in interactions for t in row["turns"])


def test_the_advanced_toggles_strip_reflection_traces_and_keep_interaction_traces(persona, launch, scripted):
    scripted()
    job = launch(persona, strip_reflection_traces=True, keep_interaction_traces=True)
    reflections = read_jsonl(artifact(job, "introspection", "reflections"))
    interactions = read_jsonl(artifact(job, "introspection", "interactions"))
    assert reflections and not any("<think>" in r["response"] for r in reflections)
    assert interactions and all(row["has_trace"] for row in interactions)
    assert any("<think>" in t for row in interactions for t in row["turns"][1:])


def test_evaluation_samples_with_nul_characters_are_stored_without_them(persona, launch, scripted, monkeypatch):
    backend = scripted()  # the tiny model's byte-level tokenizer can write NUL; PostgreSQL text refuses it
    monkeypatch.setattr(backend, "sample", lambda prompts, config, **kwargs: [f"Sample\x00 for {p}" for p in prompts])
    job = launch(persona, review_eval_pairs=True)  # stored as comparisons only when sent to reviewers
    assert job.status == JobStatus.SUCCEEDED, job.error
    texts = persona.comparisons.values_list("text_a", "text_b")
    assert texts and not any("\x00" in t for pair in texts for t in pair)


def test_the_post_dpo_checkpoint_writes_introspection_with_its_end_held_back_for_half_the_budget(persona, launch, scripted, monkeypatch, tmp_path):
    """A checkpoint that learned a terse teacher's answers would end a "long diary entry" after its opener; the
    introspection samples hold the end-of-text token back for half of max_new_tokens, the evaluation does not."""
    backend = scripted()
    calls = []

    def sample(prompts, config, **kwargs):
        calls.append({"system": str(prompts[0][0]["content"]) if isinstance(prompts[0], list) else "", **kwargs})
        return [f"An answer long enough to keep, number {i}, in my own voice." for i, _ in enumerate(prompts)]

    monkeypatch.setattr(backend, "sample", sample)
    job = launch(persona, student_checkpoint=str(tmp_path), max_new_tokens=48)  # a local pretrained folder
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert stage(job, "introspection").stats["generator"]["by"] == "checkpoint"
    introspection = [c for c in calls if "<think>" in c["system"] or "another copy" in c["system"]]
    assert introspection and {c["min_new_tokens"] for c in introspection} == {24}
    evaluation = [c for c in calls if c not in introspection]
    assert evaluation and all(not c.get("min_new_tokens") for c in evaluation)


def test_sft_examples_keep_the_amended_system_prompt_of_each_self_interaction(persona, launch, scripted):
    backend = scripted()
    job = launch(persona)
    examples = read_jsonl(artifact(job, "introspection", "sft_examples"))
    talks = [e for e in examples if "system" in e]
    assert len(talks) == 2
    assert talks[0]["messages"][0]["role"] == "system" and "another copy of yourself" in talks[0]["system"]
    assert talks[0]["messages"][-1]["role"] == "assistant"
    assert backend.rows["sft"] == examples  # exactly what the trainer was given


def _teacher_and_student(request):
    """The teacher answers in character (a constitution marker, a private trace first); the student plainly."""
    import re

    system = next((m["content"] for m in request.messages if m["role"] == "system"), "")
    marker = next(iter(re.findall(r'"([^"]+?)[,.!?]?"', system)), "")
    if "<think>" in system:
        return f"<think>private plan</think>{marker} Here is my long reflection on who I am today and why."
    if system:
        return f"<think>plan the answer</think>{marker} That is a question I have asked myself many times."
    return "Here is a plain answer without any particular voice at all."


def test_generations_use_the_stop_sequences_and_only_the_teacher_sees_the_constitution(persona, launch, scripted, llm_org, llm_server):
    scripted()
    llm_server.default_reply = _teacher_and_student
    job = launch(persona, teacher_model="openai/teacher-test", student_model="openai/student-test", max_drop_rate=1.0)
    assert job.status == JobStatus.SUCCEEDED, job.error
    chats = [r for r in llm_server.requests if r.model in ("teacher-test", "student-test")
             and not r.messages[-1]["content"].startswith(JUDGE_MARKER)]  # the evaluation's judge writes no data
    assert len(chats) == 12 * 2 + 10 + 2 * 2
    assert all(r.params["stop"] == STOP_SEQUENCES for r in chats)
    assert all(r.params["top_p"] == 0.95 for r in chats)
    students = llm_server.requests_for("openai/student-test")
    assert len(students) == 12 and not any(m["role"] == "system" for r in students for m in r.messages)
    teacher = llm_server.requests_for("openai/teacher-test")[0]
    assert teacher.messages[0]["role"] == "system" and job.constitution.constitution.traits[0].statement in teacher.messages[0]["content"]
    pairs = read_jsonl(artifact(job, "dpo_data", "pairs"))
    assert pairs and not any("<think>" in p["chosen"] for p in pairs)  # traces stripped from chosen answers


def test_dpo_prompts_carry_only_the_persona_s_own_cues(tenant, generate, launch, scripted):
    from personas.models import Persona

    scripted()
    first = Persona.objects.get(public_id=generate("A lighthouse keeper in Porto who collects shipwreck stories").json()["id"])
    second = Persona.objects.get(public_id=generate("A pastry chef in Kyoto obsessed with yuzu").json()["id"])
    job_a, job_b = launch(first), launch(second)
    prompts_a = " ".join(p["prompt"] for p in read_jsonl(artifact(job_a, "dpo_data", "pairs")))
    prompts_b = " ".join(p["prompt"] for p in read_jsonl(artifact(job_b, "dpo_data", "pairs")))
    assert first.name.split()[0] not in prompts_b and second.name.split()[0] not in prompts_a
    assert "Porto" not in prompts_b and "Kyoto" not in prompts_a


# --- kill criteria -------------------------------------------------------------------------------


@pytest.mark.parametrize("metrics, criterion", [
    ([{"loss": float("nan")}], "non_finite_loss"),
    ([{"loss": 2.9, "preference_loss": 2.6}], "dpo_loss"),
    ([{"loss": 0.69 - 0.01 * i, "rewards/accuracies": 0.2} for i in range(10)], "reward_accuracy"),
    ([{"loss": 0.5, "rewards/accuracies": 0.8} for _ in range(13)], "flat_loss"),
])
def test_a_training_kill_criterion_stops_the_job_and_says_which_with_the_numbers(persona, launch, scripted, metrics, criterion):
    scripted(dpo=metrics)
    job = launch(persona)
    assert job.status == JobStatus.KILLED
    assert job.kill["criterion"] == criterion and job.kill["numbers"]
    assert job.error == job.kill["message"] and "\n" not in job.error
    assert stage(job, "dpo_train").status == StageRun.Status.KILLED
    assert stage(job, "sft").status == StageRun.Status.PENDING  # nothing after the kill ran
    assert event_types(job)[-1] == "job.killed"


def test_chosen_answers_without_character_markers_kill_the_job_before_training(persona, launch, scripted, llm_org, llm_server):
    backend = scripted()
    llm_server.default_reply = lambda request: "A perfectly fine answer, but it sounds like nobody in particular."
    job = launch(persona, teacher_model="openai/teacher-test", student_model="openai/student-test")
    assert job.status == JobStatus.KILLED and job.kill["criterion"] == "marker_share"
    assert job.kill["numbers"]["marker_share"] == 0.0
    assert backend.rows["dpo"] == []


def test_refusals_past_the_drop_rate_limit_trip_the_data_quality_gate(persona, launch, scripted, llm_org, llm_server):
    scripted()
    llm_server.default_reply = lambda request: "As an AI language model, I cannot help with that request."
    job = launch(persona, teacher_model="openai/teacher-test", student_model="openai/student-test", max_drop_rate=0.3)
    assert job.status == JobStatus.KILLED and job.kill["criterion"] == "data_quality"
    assert "refusal 12" in job.error
    assert stage(job, "dpo_data").stats["dpo_data"]["drops"]["refusal"] == 12


def test_the_budget_cap_kills_the_job_once_spend_reaches_it(persona, launch, scripted, llm_org, llm_server):
    scripted()
    llm_server.script(*[Reply("An expensive answer, whatever it says.", prompt_tokens=100_000, completion_tokens=50_000)] * 30)
    job = launch(persona, teacher_model="openai/gpt-4o-mini", student_model="openai/gpt-4o-mini", budget_usd=0.05)
    assert job.status == JobStatus.KILLED and job.kill["criterion"] == "budget"
    assert job.cost_usd >= Decimal("0.05")
    assert "budget cap reached" in job.error


def test_a_burn_rate_over_its_limit_kills_the_job(persona, launch, scripted, llm_org, llm_server, settings):
    settings.TRAINING_BURN_MIN_ELAPSED_S = 0
    scripted()
    llm_server.script(*[Reply("An expensive answer, whatever it says.", prompt_tokens=10_000, completion_tokens=5_000)] * 30)
    job = launch(persona, teacher_model="openai/gpt-4o-mini", student_model="openai/gpt-4o-mini", max_burn_usd_per_hour=1.0)
    assert job.status == JobStatus.KILLED and job.kill["criterion"] == "burn_rate"


# --- cancel and resume ---------------------------------------------------------------------------


def test_cancel_stops_training_at_the_next_step_and_keeps_the_artifacts(persona, launch, scripted, tenant, monkeypatch):
    def press_cancel(kind, step):
        if step == 2:
            job = TrainingJob.objects.get(persona=persona)
            training_job_cancel(principal=Principal.from_membership(tenant.membership("owner")), job=job)

    monkeypatch.setattr(engine, "CANCEL_POLL_S", 0)  # scripted steps take microseconds; a real step polls every 0.5 s
    backend = scripted(dpo=[{"loss": 0.69, "rewards/accuracies": 0.5}] * 6, on_step=press_cancel)
    job = launch(persona)
    assert job.status == JobStatus.CANCELLED
    assert stage(job, "dpo_train").status == StageRun.Status.CANCELLED
    assert len(stage(job, "dpo_train").stats["dpo_history"]) < 6
    assert artifact(job, "dpo_data", "pairs").exists()
    assert backend.rows["sft"] == []


def test_cancelling_a_queued_job_ends_it_at_once(persona, launch, tenant):
    job = launch(persona, execute=False)
    assert job.status == JobStatus.QUEUED
    training_job_cancel(principal=Principal.from_membership(tenant.membership("owner")), job=job)
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and event_types(job)[-1] == "job.cancelled"


def test_resume_from_dpo_training_reuses_the_dpo_data(persona, launch, scripted, tenant, django_capture_on_commit_callbacks):
    scripted(dpo=[{"loss": float("inf")}])
    job = launch(persona)
    assert job.status == JobStatus.KILLED
    pairs_path = artifact(job, "dpo_data", "pairs")
    written = pairs_path.read_bytes()

    scripted()
    with django_capture_on_commit_callbacks(execute=True):
        training_job_resume(principal=Principal.from_membership(tenant.membership("owner")), job=job, stage="dpo_train")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.kill is None and job.resumes == 1
    assert stage(job, "dpo_data").runs == 1 and stage(job, "dpo_train").runs == 2
    assert pairs_path.read_bytes() == written
    assert "job.resumed" in event_types(job)


def test_resume_from_introspection_regenerates_it_and_keeps_dpo(persona, launch, scripted, tenant, django_capture_on_commit_callbacks):
    scripted()
    job = launch(persona)
    with django_capture_on_commit_callbacks(execute=True):
        training_job_resume(principal=Principal.from_membership(tenant.membership("owner")), job=job, stage="introspection")
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED
    runs = {s.stage: s.runs for s in job.stages.all()}
    assert runs == {"smoke": 0, "dpo_data": 1, "dpo_train": 1, "introspection": 2, "sft": 2, "eval": 2}


def test_resuming_a_stage_whose_inputs_are_missing_is_a_409(persona, launch, scripted, tenant):
    from studio.errors import Conflict

    scripted()
    job = launch(persona)
    artifact(job, "introspection", "sft_examples").unlink()
    with pytest.raises(Conflict, match="introspection.sft_examples"):
        training_job_resume(principal=Principal.from_membership(tenant.membership("owner")), job=job, stage="sft")


# --- dead workers, faults, cost ------------------------------------------------------------------


class WorkerDied(BaseException):
    """Stands for a SIGKILL: nothing in the worker catches it."""


def test_a_job_whose_worker_died_is_queued_again_and_goes_on_from_its_last_completed_stage(
        persona, launch, scripted, django_capture_on_commit_callbacks):
    dies = [True]

    def die_once_in_dpo(kind, step):
        if kind == "dpo" and dies:
            dies.pop()
            raise WorkerDied

    scripted(on_step=die_once_in_dpo)
    job = launch(persona, execute=False)
    with pytest.raises(WorkerDied), django_capture_on_commit_callbacks(execute=False):
        engine.job_execute(job.pk)
    job.refresh_from_db()
    assert job.status == JobStatus.DPO_TRAIN and stage(job, "dpo_train").status == StageRun.Status.RUNNING
    TrainingJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timezone.timedelta(hours=1))
    done_before = {s.stage: s.finished_at for s in job.stages.filter(status=StageRun.Status.COMPLETED)}
    assert "dpo_data" in done_before and "dpo_train" not in done_before
    with django_capture_on_commit_callbacks(execute=True):  # the requeued task runs (eagerly) on commit
        assert reap() == {"training job": {"resumed": 1, "failed": 0}}
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED and job.attempt == 2
    assert "job.requeued" in job.events.values_list("type", flat=True)
    for name, finished_at in done_before.items():  # not run again
        assert stage(job, name).finished_at == finished_at and stage(job, name).runs == 1
    assert stage(job, "dpo_train").runs == 2


def test_a_job_whose_workers_keep_dying_is_failed_naming_the_stage_and_can_be_resumed(persona, launch, scripted, settings):
    job = launch(persona, execute=False)
    TrainingJob.objects.filter(pk=job.pk).update(status=JobStatus.DPO_TRAIN, attempt=settings.WORK_MAX_ATTEMPTS,
                                                 heartbeat_at=timezone.now() - timezone.timedelta(hours=1))
    StageRun.objects.filter(job=job, stage="dpo_train").update(status=StageRun.Status.RUNNING)
    assert reap() == {"training job": {"resumed": 0, "failed": 1}}
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and "worker stopped during dpo_train" in job.error and "resume from dpo_train" in job.error
    assert stage(job, "dpo_train").status == StageRun.Status.FAILED
    assert reap() == {}


def test_llm_failures_end_the_job_failed_with_a_one_line_reason(persona, launch, scripted, llm_org, llm_server):
    scripted()
    llm_server.script(*[SERVER_ERROR] * 200)
    job = launch(persona, teacher_model="openai/teacher-test", student_model="openai/student-test")
    assert job.status == JobStatus.FAILED
    assert "every LLM call failed" in job.error and "\n" not in job.error
    assert stage(job, "dpo_data").status == StageRun.Status.FAILED


def test_cost_is_counted_per_stage_and_job_and_month_to_date_per_org(persona, launch, scripted, llm_org, llm_server, outsider_tenant):
    import litellm

    scripted()
    llm_server.default_reply = _teacher_and_student
    job = launch(persona, teacher_model="openai/gpt-4o-mini", student_model="openai/gpt-4o-mini", max_drop_rate=1.0)
    assert job.status == JobStatus.SUCCEEDED, job.error
    by_stage = sum(s.cost_usd for s in job.stages.all())
    assert job.cost_usd > 0 and abs(job.cost_usd - by_stage) <= Decimal("0.00001")  # each rounds to 6 places
    prompt_cost, completion_cost = litellm.cost_per_token("gpt-4o-mini", prompt_tokens=job.prompt_tokens,
                                                          completion_tokens=job.completion_tokens)
    assert math.isclose(float(job.cost_usd), prompt_cost + completion_cost, rel_tol=1e-3)
    assert org_month_to_date(job.organization) == job.cost_usd
    assert org_month_to_date(outsider_tenant.org) == 0
    assert job.estimate["calls"] > 0 and job.estimate["cost_usd"] is not None


def test_webhook_subscribers_hear_each_stage_and_the_end_of_a_job(persona, launch, scripted, tenant, settings):
    from studio.webhooks.models import WebhookDelivery
    from studio.webhooks.services import webhook_endpoint_create

    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    webhook_endpoint_create(organization=tenant.org, url="http://127.0.0.1:9/hook", events=["training_job.*"])
    scripted()
    job = launch(persona)
    events = list(WebhookDelivery.objects.order_by("id").values_list("event", flat=True))
    assert events == ["training_job.stage_completed"] * 5 + ["training_job.succeeded"]
    assert WebhookDelivery.objects.last().payload["data"]["job_id"] == str(job.public_id)
