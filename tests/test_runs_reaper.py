"""A worker killed mid-run never leaves a run (or its persona) generating forever."""

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.utils import timezone

from personas.models import Persona
from pipeline.models import PipelineRun, StepRun
from pipeline.runner import reap_stale_runs, run_execute
from tests.generation_helpers import BRIEF


def _started_run(owner_api):
    """A run as a worker leaves it when killed mid-step: running, two steps done, one in flight."""
    body = owner_api.post("/v1/personas", json={"brief": BRIEF}).json()  # enqueued, not executed
    run = PipelineRun.objects.get(public_id=body["run_id"])
    return run, body


def _kill_after_soul(run):
    """Execute intent and soul, then 'die' during self_enrich (heartbeat stops)."""
    from pipeline.runner import RunExecution, run_claim

    claimed = run_claim(run.pk)
    execution = RunExecution(claimed)
    with ThreadPoolExecutor(1) as execution.calls:
        execution.context["intent"] = execution.run_step("intent_parse", attempt=1)
        execution.context["soul"] = execution.run_step("soul_draft", attempt=1)
        execution.flush()  # soul's outcome is written while self_enrich's request is in flight
    StepRun.objects.create(run=claimed, step="self_enrich", attempt=1, model_requested="offline/studio")
    PipelineRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))


def test_the_reaper_fails_a_run_whose_worker_died(owner_api):
    run, body = _started_run(owner_api)
    _kill_after_soul(run)
    assert reap_stale_runs() == 1
    run.refresh_from_db()
    assert run.status == "failed" and "worker stopped responding" in run.error
    assert Persona.objects.get(public_id=body["id"]).status == "failed"
    assert run.events.last().type == "pipeline.failed"
    assert reap_stale_runs() == 0  # idempotent


def test_reading_a_stale_run_reaps_it(owner_api):
    run, _ = _started_run(owner_api)
    _kill_after_soul(run)
    assert owner_api.get(f"/v1/runs/{run.public_id}").json()["status"] == "failed"


def test_a_redelivered_run_resumes_from_the_completed_steps(owner_api):
    run, body = _started_run(owner_api)
    _kill_after_soul(run)
    run_execute(run.pk)  # the broker redelivers the unacknowledged task to another worker
    run.refresh_from_db()
    assert run.status in ("ready", "flagged")
    assert run.steps.filter(step="soul_draft", attempt=1).count() == 1  # not redone
    interrupted = run.steps.filter(step="self_enrich", attempt=1).order_by("id").first()
    assert interrupted.status == "failed" and "worker stopped" in interrupted.error


def test_a_running_run_with_a_live_worker_is_not_taken_twice(owner_api):
    run, _ = _started_run(owner_api)
    PipelineRun.objects.filter(pk=run.pk).update(status="running", heartbeat_at=timezone.now())
    run_execute(run.pk)  # a duplicate delivery
    assert run.steps.count() == 0


def test_a_slow_worker_whose_run_was_reaped_stops_without_overwriting_the_outcome(owner_api):
    """The reaper failed the run while its worker was stuck in a call; the worker wakes up and writes nothing."""
    from pipeline.events import RunTakenOver
    from pipeline.runner import RunExecution, run_claim

    run, body = _started_run(owner_api)
    claimed = run_claim(run.pk)
    execution = RunExecution(claimed)
    execution.calls = ThreadPoolExecutor(1)
    execution.context["intent"] = execution.run_step("intent_parse", attempt=1)
    execution.flush()
    PipelineRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert reap_stale_runs() == 1
    events_before = run.events.count()
    try:
        execution.run_step("soul_draft", attempt=1)
    except RunTakenOver:
        pass
    else:
        raise AssertionError("the worker kept writing to a reaped run")
    finally:
        execution.calls.shutdown()
    run.refresh_from_db()
    assert run.status == "failed" and run.events.count() == events_before
    assert not run.steps.filter(step="soul_draft").exists()  # its step row went with the refused event
    assert Persona.objects.get(public_id=body["id"]).status == "failed"
