from celery import shared_task

from audits.evals.runner import eval_run_execute


@shared_task(acks_late=True, reject_on_worker_lost=True)
def execute_eval_run(run_id: int) -> None:
    """Late ack: a worker killed mid-run leaves the message for redelivery, which carries on from the saved trials
    (the reaper, audits.evals.work, queues it again if the message is gone too)."""
    eval_run_execute(run_id)
