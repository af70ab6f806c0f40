"""Training jobs on the work engine: a job whose worker died goes on from its last completed stage."""

from django.conf import settings

from studio.work.reaper import Kind, register
from training_jobs.models import TrainingJob


def _fail(job, error: str) -> None:
    from training_jobs.engine import job_fail_abandoned  # the engine pulls in the LLM gateway and training code

    job_fail_abandoned(job, error)


def _resume(job) -> None:
    from training_jobs.engine import job_requeue

    job_requeue(job)


register(Kind(name="training job", model=TrainingJob, fail=_fail, resume=_resume,
              stale_reason=lambda job: f" during {job.status}",
              advice=lambda job: "resume it from its first stage" if job.status == "queued" else f"resume from {job.status}",
              queued_stale_s=lambda: settings.TRAINING_QUEUED_STALE_S))
