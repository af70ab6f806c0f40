"""Helpers for the training-job benchmarks: run some stages of a launched job the way the worker runs them."""

import time

from training_jobs import engine
from training_jobs.models import JobStatus, StageRun, TrainingJob


def run_only(job: TrainingJob, *stages: str) -> float:
    """Seconds `job_execute` (what the Celery task runs) takes on `job` with every stage but `stages` marked
    skipped, as a resumed job skips what is done; the job must succeed."""
    job.stages.exclude(stage__in=stages).update(status=StageRun.Status.SKIPPED)
    started = time.perf_counter()
    engine.job_execute(job.pk)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert set(job.stages.filter(status=StageRun.Status.COMPLETED).values_list("stage", flat=True)) == set(stages)
    return elapsed
