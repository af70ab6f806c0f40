"""Loading webhook objects: by public id, within the org (outsiders get the same 404 as a missing id)."""

from studio.access import get_in_org
from studio.models import Organization
from studio.webhooks.models import WebhookDelivery, WebhookEndpoint


def access_endpoint(organization: Organization, endpoint_id) -> WebhookEndpoint:
    return get_in_org(WebhookEndpoint.objects.select_related("organization"), organization, endpoint_id, what="webhook endpoint")


def access_delivery(organization: Organization, delivery_id) -> WebhookDelivery:
    queryset = WebhookDelivery.objects.select_related("organization", "endpoint")
    return get_in_org(queryset, organization, delivery_id, what="webhook delivery")
