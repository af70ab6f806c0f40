"""Queueing a training job's run. The task is named, not imported (studio.work.queue): the task module imports the
engine, and the engine, services and kinds queue jobs, so naming it keeps the imports one way."""

from django.db import transaction

from studio.work.queue import enqueue


def job_enqueue(job) -> None:
    """Run the training job (training_jobs.tasks.run_training_job, on the gpu queue) once the transaction commits."""
    job_id = job.pk
    transaction.on_commit(lambda: enqueue("training_jobs.tasks.run_training_job", job_id))
