"""Training jobs on a real Celery worker process: cancel mid-stage, and a worker killed (SIGKILL) mid-job.

Needs a broker shared between processes, so it runs in services mode (REDIS_URL set, as in CI's second
pass), like test_killed_worker.py. Each test starts its own worker on a queue of its own, pointed at the
test database and at this test's artifact folder, with the offline engine paced so that a stage lasts long
enough to act on. The inline cases (cancel at a training step, the reaper on a stale row) are in
test_training_jobs_run.py and run in both modes.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from pipeline import tasks as pipeline_tasks
from pipeline.runner import run_execute
from pipeline.services import persona_generate
from studio.principal import Principal
from tests.generation_helpers import BRIEF
from tests.training_helpers import launch_values
from tests.worker_processes import private_redis, publish, start_worker, wait_for
from training_jobs.models import JobStatus, StageRun, TrainingJob
from training_jobs.services import resumable_stages, training_job_cancel, training_job_launch
from training_jobs.tasks import run_training_job

ROOT = Path(__file__).resolve().parents[1]
PACE_S = 0.2  # the worker's offline engine: 64 calls at concurrency 16 take ~0.8 s, and cancel is checked between them
CANCEL_BOUND_S = 20  # correctness, not performance: a cancelled job must not run on to the end of its stage

pytestmark = [
    pytest.mark.services,
    pytest.mark.real_worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs a cross-process broker: runs in services mode (CI's second pass)"),
]


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for(predicate, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; worker log:\n{log.read_text()[-3000:]}")


@contextmanager
def training_worker(tmp_path: Path):
    """A `celery worker` process on a queue no other worker reads; yields (process, queue, log)."""
    queue = f"training-worker-test-{uuid.uuid4().hex[:8]}"
    log = tmp_path / "worker.log"
    env = {**os.environ, "DATABASE_URL": _database_url(), "TRAINING_ARTIFACTS_DIR": str(tmp_path / "artifacts"),
           "OFFLINE_LLM_LATENCY_S": str(PACE_S), "PYTHONUNBUFFERED": "1"}
    with open(log, "w") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "studio", "worker", "-Q", queue, "--pool=solo", "--loglevel=WARNING"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        yield worker, queue, log
    finally:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()


@pytest.fixture
def owner(tenant):
    return Principal.from_membership(tenant.membership("owner"))


@pytest.fixture
def ready_persona(owner, monkeypatch):
    """A persona generated inline by the offline engine (the suite's own worker never sees it)."""
    monkeypatch.setattr(pipeline_tasks.execute_run, "delay", run_execute)
    persona, _ = persona_generate(principal=owner, brief=BRIEF)
    persona.refresh_from_db()
    assert persona.status in ("ready", "flagged")
    return persona


@pytest.fixture
def launch_on(owner, ready_persona, settings, tmp_path, monkeypatch):
    """launch_on(queue, **sizes) → a job sent to that queue only (not the `gpu` queue CI's worker reads)."""
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "artifacts"  # where the worker writes (see training_worker)
    monkeypatch.setattr(run_training_job, "delay", lambda *args, **kwargs: None)

    def launch(queue: str, **overrides) -> TrainingJob:
        job = training_job_launch(principal=owner, data=launch_values(ready_persona, **overrides))
        run_training_job.apply_async(args=[job.pk], queue=queue)
        return job

    return launch


def _running_in(job: TrainingJob, stage: str) -> bool:
    """The stage has started and finished at least one batch of calls (so it is mid-stage, heartbeat fresh)."""
    return StageRun.objects.filter(job=job, stage=stage, status=StageRun.Status.RUNNING, done__gt=0).exists()


def test_a_job_cancelled_on_the_worker_ends_cancelled_within_seconds_and_keeps_its_artifacts(owner, launch_on, tmp_path):
    with training_worker(tmp_path) as (worker, queue, log):
        # 1,280 reflections: ~16 s of introspection in batches of 64, after DPO data and training are written.
        job = launch_on(queue, reflections=1280)
        _wait_for(lambda: _running_in(job, "introspection"), 180, "the worker to be inside introspection", log)
        pressed = time.monotonic()
        training_job_cancel(principal=owner, job=job)
        _wait_for(lambda: TrainingJob.objects.get(pk=job.pk).is_finished, CANCEL_BOUND_S, "the job to end after cancel", log)
        elapsed = time.monotonic() - pressed
        assert worker.poll() is None  # the worker lives on; only the job stopped

    job.refresh_from_db()
    print(f"\ncancel → cancelled in {elapsed:.2f} s")
    assert job.status == JobStatus.CANCELLED and elapsed < CANCEL_BOUND_S
    stages = {s.stage: s for s in job.stages.all()}
    assert stages["introspection"].status == StageRun.Status.CANCELLED
    assert 0 < stages["introspection"].done < stages["introspection"].total  # stopped mid-stage, not at its end
    assert stages["sft"].status == StageRun.Status.PENDING and stages["eval"].status == StageRun.Status.PENDING
    assert (job.artifacts_dir / stages["dpo_data"].artifacts["pairs"]).is_file()
    assert (job.artifacts_dir / stages["dpo_train"].artifacts["adapter"] / "adapter_config.json").is_file()
    assert job.events.order_by("seq").last().type == "job.cancelled"
    assert "introspection" in resumable_stages(job)


def test_a_worker_killed_mid_job_is_resumed_by_another_from_the_stage_it_was_in(owner, ready_persona, tmp_path, settings):
    """kill -9 of the worker inside introspection: the reaper (the second worker's beat) queues the job again once its
    heartbeat is stale, and the second worker goes on from introspection; DPO data and training are not redone."""
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "artifacts"
    log = tmp_path / "workers.log"
    env = {"TRAINING_ARTIFACTS_DIR": tmp_path / "artifacts", "OFFLINE_LLM_LATENCY_S": PACE_S}
    with private_redis(tmp_path) as (redis, started):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(run_training_job, "delay", lambda job_id: publish(run_training_job, job_id, redis=redis))
            job = training_job_launch(principal=owner, data=launch_values(ready_persona, reflections=640))  # ~8 s of introspection
        started.append(first := start_worker(redis, log, **env))
        wait_for(lambda: _running_in(job, "introspection"), 180, "the worker to be inside introspection", log)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed = time.monotonic()
        started.append(start_worker(redis, log, beat=True, **env))
        wait_for(lambda: TrainingJob.objects.filter(pk=job.pk, attempt=2).exclude(status="queued").exists(), 60,
                 "another worker to resume the job", log)
        resumed = time.monotonic() - killed
        wait_for(lambda: TrainingJob.objects.get(pk=job.pk).is_finished, 180, "the resumed job to end", log)
        ended = time.monotonic() - killed

    job.refresh_from_db()
    print(f"\ntraining job: kill -9 → resumed in {resumed:.1f} s, → {job.status} in {ended:.1f} s")
    # The job went on to its own end: succeeded, or killed by a kill criterion in SFT (the tiny random model's loss
    # can stay flat over this many reflections) — not failed by the worker's death.
    assert job.status in (JobStatus.SUCCEEDED, JobStatus.KILLED), job.error
    stages = {s.stage: s for s in job.stages.all()}
    assert stages["dpo_data"].runs == 1 and stages["dpo_train"].runs == 1  # completed before the kill: kept
    assert stages["introspection"].runs == 2 and stages["introspection"].status == StageRun.Status.COMPLETED
    types = list(job.events.values_list("type", flat=True))
    assert "job.requeued" in types and types[-1] in ("job.succeeded", "job.killed")
    assert not job.stages.filter(status=StageRun.Status.RUNNING).exists()
