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
