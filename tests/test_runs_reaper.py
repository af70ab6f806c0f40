"""A worker killed mid-run: the reaper queues the run again and a worker resumes it from its completed steps;
after WORK_MAX_ATTEMPTS claims it fails naming the step. Reads never reap."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.utils import timezone

from personas.models import Persona
from pipeline.models import PipelineRun, StepRun
from pipeline.runner import LAYER_STEPS, RunExecution, run_claim, run_execute
from pipeline.views import run_panel_context
from studio.config.services import config_set
from studio.principal import Principal
from studio.work.lifecycle import TakenOver
from studio.work.reaper import reap
from tests.generation_helpers import BRIEF


def _started_run(owner_api):
    body = owner_api.post("/v1/personas", json={"brief": BRIEF}).json()  # enqueued, not executed
    run = PipelineRun.objects.get(public_id=body["run_id"])
    return run, body


def _kill_after_soul(run):
    """Execute intent and soul, then 'die' during self_enrich (the heartbeat stops)."""
    claimed = run_claim(run.pk)
    execution = RunExecution(claimed)
    with ThreadPoolExecutor(1) as execution.calls:
        execution.context["intent"] = execution.run_step("intent_parse", attempt=1)
        execution.context["soul"] = execution.run_step("soul_draft", attempt=1)
        execution.flush()  # soul's outcome is written while self_enrich's request is in flight
    StepRun.objects.create(run=claimed, step="self_enrich", attempt=1, model_requested="offline/studio")
    _silence(run)


def _silence(run, seconds: int = 3600):
    PipelineRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=seconds))


def test_the_reaper_queues_a_run_whose_worker_died_and_a_worker_resumes_it_from_its_completed_steps(
        owner_api, django_capture_on_commit_callbacks):
    run, body = _started_run(owner_api)
    _kill_after_soul(run)
    with django_capture_on_commit_callbacks(execute=True):  # the requeued task runs (eagerly) on commit
        assert reap() == {"persona run": {"resumed": 1, "failed": 0}}
    run.refresh_from_db()
    assert run.status in ("ready", "flagged") and run.attempt == 2
    types = list(run.events.values_list("type", flat=True))
    assert "pipeline.requeued" in types and types[-1] == "pipeline.completed"
    assert run.steps.filter(step="soul_draft", attempt=1).count() == 1  # not redone
    interrupted = run.steps.filter(step="self_enrich", attempt=1).order_by("id").first()
    assert interrupted.status == "failed" and "worker stopped" in interrupted.error
    assert not run.steps.filter(status="running").exists()
    assert Persona.objects.get(public_id=body["id"]).status in ("ready", "flagged")


def test_a_run_whose_workers_keep_dying_fails_naming_the_step_after_the_last_attempt(owner_api, settings):
    run, body = _started_run(owner_api)
    _kill_after_soul(run)
    PipelineRun.objects.filter(pk=run.pk).update(attempt=settings.WORK_MAX_ATTEMPTS)
    assert reap() == {"persona run": {"resumed": 0, "failed": 1}}
    run.refresh_from_db()
    assert run.status == "failed"
    assert run.error.startswith("the worker stopped during self_enrich (no heartbeat for 30 s after 3 tries)")
    assert not run.steps.filter(status="running").exists()  # no step stays running inside a finished run
    assert Persona.objects.get(public_id=body["id"]).status == "failed"
    assert run.events.last().type == "pipeline.failed"
    assert reap() == {}  # idempotent


def test_a_queued_run_no_worker_picked_up_is_failed_after_the_queue_limit(owner_api, settings):
    run, _ = _started_run(owner_api)
    _silence(run, settings.WORK_STALE_AFTER_S + 1)
    assert reap() == {}  # queued is not running: a busy queue is not a dead worker
    _silence(run, settings.WORK_QUEUED_STALE_S + 1)
    assert reap() == {"persona run": {"resumed": 0, "failed": 1}}
    run.refresh_from_db()
    assert run.status == "failed" and "no worker picked it up" in run.error


def test_reading_a_stale_run_does_not_reap_it(owner_api, tenant, client_for):
    run, _ = _started_run(owner_api)
    _kill_after_soul(run)
    events = run.events.count()
    assert owner_api.get(f"/v1/runs/{run.public_id}").json()["status"] == "running"
    assert client_for(tenant.users["owner"]).get(f"/o/acme/runs/{run.public_id}/").status_code == 200
    run.refresh_from_db()
    assert run.status == "running" and run.events.count() == events


def test_a_redelivered_run_with_a_stale_heartbeat_is_taken_over_and_resumed(owner_api):
    run, _ = _started_run(owner_api)
    _kill_after_soul(run)
    run_execute(run.pk)  # the broker redelivers the unacknowledged task to another worker
    run.refresh_from_db()
    assert run.status in ("ready", "flagged") and run.attempt == 2
    assert run.steps.filter(step="soul_draft", attempt=1).count() == 1  # not redone


def test_a_running_run_with_a_live_worker_is_not_taken_twice(owner_api):
    run, _ = _started_run(owner_api)
    PipelineRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=timezone.now(), started_at=timezone.now())
    run_execute(run.pk)  # a duplicate delivery
    assert run.steps.count() == 0


@pytest.mark.parametrize("attempts_left", [True, False], ids=["requeued", "failed"])
def test_a_slow_worker_whose_run_was_reaped_stops_without_overwriting_the_outcome(owner_api, settings, attempts_left):
    """The reaper took the run while its worker was stuck in a call; the worker wakes up and writes nothing."""
    run, body = _started_run(owner_api)
    claimed = run_claim(run.pk)
    execution = RunExecution(claimed)
    execution.calls = ThreadPoolExecutor(1)
    execution.context["intent"] = execution.run_step("intent_parse", attempt=1)
    execution.flush()
    _silence(run)
    if not attempts_left:
        PipelineRun.objects.filter(pk=run.pk).update(attempt=settings.WORK_MAX_ATTEMPTS)
    reap()
    events_before = run.events.count()
    try:
        with pytest.raises(TakenOver):
            execution.run_step("soul_draft", attempt=1)
    finally:
        execution.calls.shutdown()
    run.refresh_from_db()
    assert run.status == ("queued" if attempts_left else "failed") and run.events.count() == events_before
    assert not run.steps.filter(step="soul_draft").exists()  # its step row went with the refused event


def _kill_after_round_1(run, *, then=None) -> dict:
    """Round 1 runs, its audit included (which sends the layers back); `then(execution, audit)` goes on; then the
    worker 'dies' (the heartbeat stops). Returns round 1's audit."""
    execution = RunExecution(run_claim(run.pk))
    with ThreadPoolExecutor(1) as execution.calls:
        execution.context["intent"] = execution.run_step("intent_parse", attempt=1)
        execution.generate_layers(attempt=1)
        audit = execution.run_step("audit", attempt=1)
        execution.flush()
        if then is not None:
            then(execution, audit)
    _silence(run)
    return audit


def _kill_in_round_2(run) -> dict:
    """Round 2 redoes the soul, then the worker 'dies' in self_enrich."""
    def redo_the_soul(execution, audit):
        execution.context["soul"] = execution.run_step("soul_draft", attempt=2, feedback=audit["notes"])
        execution.flush()
        StepRun.objects.create(run=execution.run, step="self_enrich", attempt=2, model_requested="offline/studio")

    return _kill_after_round_1(run, then=redo_the_soul)


def _failing_audits(tenant, max_retries: int = 2):
    owner = Principal.from_membership(tenant.membership("owner"))
    config_set(actor=owner, key="engine.pipeline.audit.min_overall_score", value=5.0)  # no audit passes
    config_set(actor=owner, key="engine.pipeline.audit.max_retries", value=max_retries)


def _watch_progress(monkeypatch):
    """The run page's progress bar after every event the worker writes, in order."""
    from pipeline import runner

    seen, emit = [], runner.emit

    def watched(item, *args, **kwargs):
        event = emit(item, *args, **kwargs)
        seen.append(run_panel_context(PipelineRun.objects.get(pk=item.pk))["progress"])
        return event

    monkeypatch.setattr(runner, "emit", watched)
    return seen


def _watch_prompts(monkeypatch):
    """(step, attempt, feedback) of every request the worker builds."""
    from pipeline import runner

    asked, build = [], runner.build_messages

    def watched(step, **kwargs):
        asked.append((step, kwargs["attempt"], kwargs["feedback"]))
        return build(step, **kwargs)

    monkeypatch.setattr(runner, "build_messages", watched)
    return asked


def test_a_run_resumed_in_a_later_audit_round_keeps_that_rounds_finished_layers_and_its_audit_notes(
        owner_api, tenant, monkeypatch):
    """A worker that died in round 2 after redoing the soul: the next one redoes only the rest of round 2, with the
    round-1 audit's notes, and the progress bar the page shows never moves back."""
    _failing_audits(tenant)
    run, _ = _started_run(owner_api)
    audit = _kill_in_round_2(run)
    progress, asked = _watch_progress(monkeypatch), _watch_prompts(monkeypatch)
    before = run_panel_context(PipelineRun.objects.get(pk=run.pk))["progress"]
    run_execute(run.pk)  # redelivered to another worker
    run.refresh_from_db()
    assert run.status == "flagged" and run.attempt == 2 and run.audit_rounds == 3
    assert run.steps.filter(step="soul_draft", attempt=2).count() == 1  # not redone
    assert run.steps.filter(step="audit", attempt=1).count() == 1
    assert asked[:4] == [("self_enrich", 2, audit["notes"]), ("mask_build", 2, audit["notes"]),
                         ("surface_ground", 2, audit["notes"]), ("audit", 2, "")]
    assert [step for step, attempt, _ in asked[4:]] == ["soul_draft", "self_enrich", "mask_build", "surface_ground", "audit"]
    assert all(attempt == 3 for _, attempt, _ in asked[4:])
    assert [before, *progress] == sorted([before, *progress]) and progress[-1] == 100, (before, progress)


def test_a_run_resumed_after_its_rounds_audit_finished_keeps_the_verdict_and_starts_the_next_round(owner_api, tenant, monkeypatch):
    _failing_audits(tenant, max_retries=1)
    run, _ = _started_run(owner_api)
    audit = _kill_after_round_1(run)
    asked = _watch_prompts(monkeypatch)
    run_execute(run.pk)
    run.refresh_from_db()
    assert run.status == "flagged" and run.audit_rounds == 2
    assert run.steps.filter(step="audit", attempt=1).count() == 1  # its verdict stands: not asked again
    assert asked == [(step, 2, audit["notes"]) for step in LAYER_STEPS] + [("audit", 2, "")]
