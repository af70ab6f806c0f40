"""Training jobs as Celery work. The job runs on the `gpu` queue (a GPU worker when one exists)."""

import logging

from celery import shared_task

from training_jobs.engine import job_execute

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def run_training_job(job_id: int) -> None:
    """Late ack: a worker killed mid-job leaves the message for redelivery, which resumes at the stage it was in."""
    job_execute(job_id)

