from celery import shared_task

from pipeline.runner import run_execute


@shared_task(acks_late=True, reject_on_worker_lost=True)
def execute_run(run_id: int) -> None:
    """Late ack: a worker killed mid-run leaves the message for redelivery, which resumes the run."""
    run_execute(run_id)
