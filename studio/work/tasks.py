from celery import shared_task

from studio.work.reaper import reap


@shared_task
def reap_stale_work() -> dict:
    """The one reaper beat task: every kind's stale items resumed or failed."""
    return reap()
