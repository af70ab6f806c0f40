"""REST API for webhook endpoints and their deliveries (admins: the `config:admin` scope)."""

from uuid import UUID

from ninja import Router, Status

from studio.errors import Invalid
from studio.pagination import paginated
from studio.webhooks import services
from studio.webhooks.access import access_delivery, access_endpoint
from studio.webhooks.events import EVENTS
from studio.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from studio.webhooks.schemas import (
    DeliveryDetailOut,
    DeliveryOut,
    EndpointIn,
    EndpointOut,
    EndpointPatchIn,
    EndpointSecretOut,
    EventOut,
)

router = Router(tags=["webhooks"])
SCOPE = "config:admin"


def _endpoint(request, endpoint_id) -> WebhookEndpoint:
    request.auth.require_scope(SCOPE)
    return access_endpoint(request.auth.organization, endpoint_id)


def _delivery(request, delivery_id) -> WebhookDelivery:
    request.auth.require_scope(SCOPE)
    return access_delivery(request.auth.organization, delivery_id)


@router.get("", response=list[EndpointOut])
@paginated
def list_endpoints(request):
    request.auth.require_scope(SCOPE)
    return request.auth.organization.webhook_endpoints.all()


@router.post("", response={201: EndpointSecretOut})
def create_endpoint(request, payload: EndpointIn):
    request.auth.require_scope(SCOPE)
    issued = services.webhook_endpoint_create(organization=request.auth.organization, **payload.dict())
    issued.endpoint.issued_secret = issued.secret  # shown this once
    return Status(201, issued.endpoint)


@router.get("/events", response=list[EventOut])
@paginated
def list_events(request):
    """The events an endpoint can subscribe to (`training_job.*` covers every training job event)."""
    return [{"name": name, "description": text} for name, text in EVENTS.items()]


@router.get("/{endpoint_id}", response=EndpointOut)
def get_endpoint(request, endpoint_id: UUID):
    return _endpoint(request, endpoint_id)


@router.patch("/{endpoint_id}", response=EndpointOut)
def update_endpoint(request, endpoint_id: UUID, payload: EndpointPatchIn):
    endpoint = _endpoint(request, endpoint_id)
    return services.webhook_endpoint_update(endpoint=endpoint, **payload.dict())


@router.delete("/{endpoint_id}", response={204: None})
def delete_endpoint(request, endpoint_id: UUID):
    _endpoint(request, endpoint_id).delete()
    return Status(204, None)


@router.post("/{endpoint_id}/rotate-secret", response=EndpointSecretOut)
def rotate_secret(request, endpoint_id: UUID):
    endpoint = _endpoint(request, endpoint_id)
    endpoint.issued_secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint)  # shown this once
    return endpoint


@router.post("/{endpoint_id}/test", response={202: DeliveryOut})
def send_test_event(request, endpoint_id: UUID):
    """Queue a `ping` to this endpoint; follow it with GET /webhooks/deliveries/{id}."""
    return Status(202, services.webhook_ping(endpoint=_endpoint(request, endpoint_id)))


@router.get("/{endpoint_id}/deliveries", response=list[DeliveryOut])
@paginated
def list_deliveries(request, endpoint_id: UUID, status: str | None = None):
    """Newest first."""
    deliveries = _endpoint(request, endpoint_id).deliveries.select_related("endpoint")
    if status:
        if status not in DeliveryStatus.values:
            raise Invalid(f"status must be one of {', '.join(DeliveryStatus.values)}", field="status")
        deliveries = deliveries.filter(status=status)
    return deliveries


@router.get("/deliveries/{delivery_id}", response=DeliveryDetailOut)
def get_delivery(request, delivery_id: UUID):
    return _delivery(request, delivery_id)


@router.post("/deliveries/{delivery_id}/redeliver", response={202: DeliveryOut})
def redeliver(request, delivery_id: UUID):
    """Start a fresh cycle of attempts for this delivery's payload (signed anew)."""
    return Status(202, services.webhook_redeliver(delivery=_delivery(request, delivery_id)))
