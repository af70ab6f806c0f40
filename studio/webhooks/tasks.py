"""Background delivery of webhooks: one attempt per task run, the retry re-enqueued with a countdown."""

import time

from celery import shared_task

from studio.access import get_in_org
from studio.errors import NotFound
from studio.models import Organization
from studio.webhooks.models import WebhookDelivery
from studio.webhooks.services import webhook_attempt


@shared_task(bind=True)
def deliver_webhook(self, *, organization_id: str, delivery_id: str, cycle: int) -> None:
    organization = Organization.objects.get(public_id=organization_id)
    try:
        delivery = get_in_org(WebhookDelivery.objects.select_related("endpoint", "organization"), organization, delivery_id, what="delivery")
    except NotFound:
        return  # deleted with its endpoint meanwhile
    retry_in = webhook_attempt(delivery=delivery, cycle=cycle)
    if retry_in is None:
        return
    if self.request.is_eager:
        # Eager mode (tests, CELERY_TASK_ALWAYS_EAGER) ignores countdown: wait the backoff here, then go on inline.
        time.sleep(retry_in)
        deliver_webhook.apply(kwargs={"organization_id": organization_id, "delivery_id": delivery_id, "cycle": cycle})
        return
    deliver_webhook.apply_async(kwargs={"organization_id": organization_id, "delivery_id": delivery_id, "cycle": cycle}, countdown=retry_in)


OVERDUE_GRACE_S = 120  # a retry this late lost its task (a broker restart, an embedded worker that stopped)


@shared_task
def requeue_overdue_deliveries() -> int:
    """Re-enqueue pending deliveries whose next attempt is overdue, so none waits forever.

    Delivery is at least once: a slow task and its replacement may both send; receivers dedupe on
    the payload id (README, "Verifying webhook signatures").
    """
    from datetime import timedelta

    from django.utils import timezone

    from studio.webhooks.models import DeliveryStatus

    cutoff = timezone.now() - timedelta(seconds=OVERDUE_GRACE_S)
    overdue = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lt=cutoff).select_related("organization")
    count = 0
    for delivery in overdue[:500]:
        deliver_webhook.delay(organization_id=str(delivery.organization.public_id), delivery_id=str(delivery.public_id), cycle=delivery.cycle)
        count += 1
    return count
