from celery import shared_task

from audits.evals.runner import eval_run_execute


@shared_task(acks_late=True, reject_on_worker_lost=True)
def execute_eval_run(run_id: int) -> None:
    """Late ack: a worker killed mid-run leaves the message for redelivery, which carries on from the saved trials."""
    eval_run_execute(run_id)


@shared_task
def reap_eval_runs() -> int:
    """Fail eval runs whose worker stopped reporting (beat, every minute): none stays running forever."""
    from audits.evals.models import EvalRun

    return EvalRun.objects.fail_stale()
