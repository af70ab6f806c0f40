from celery import shared_task

from audits.traits.runner import trait_profile_execute


@shared_task(acks_late=True, reject_on_worker_lost=True)
def execute_trait_profile(profile_id: int) -> None:
    """Late ack: a worker killed mid-run leaves the message for redelivery, which goes on from the saved judgments (the
    reaper, audits.traits.work, queues it again if the message is gone too)."""
    trait_profile_execute(profile_id)
