"""REST API for webhook endpoints and their deliveries (admins: the `config:admin` scope)."""

from uuid import UUID

from ninja import Query, Router, Status

from studio.errors import Invalid
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


def _endpoint_out(e: WebhookEndpoint) -> dict:
    return {
        "id": e.public_id, "url": e.url, "description": e.description, "events": e.events, "active": e.active,
        "created_at": e.created_at, "secret_rotated_at": e.secret_rotated_at,
    }


def _delivery_out(d: WebhookDelivery) -> dict:
    return {
        "id": d.public_id, "endpoint_id": d.endpoint.public_id, "event": d.event, "status": d.status, "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at, "last_status_code": d.last_status_code, "last_error": d.last_error,
        "last_response_excerpt": d.last_response_excerpt, "created_at": d.created_at, "delivered_at": d.delivered_at,
    }


def _delivery_detail(d: WebhookDelivery) -> dict:
    return {**_delivery_out(d), "payload": d.payload, "attempt_log": list(d.attempt_log.all())}


def _endpoint(request, endpoint_id) -> WebhookEndpoint:
    request.auth.require_scope(SCOPE)
    return access_endpoint(request.auth.organization, endpoint_id)


def _delivery(request, delivery_id) -> WebhookDelivery:
    request.auth.require_scope(SCOPE)
    return access_delivery(request.auth.organization, delivery_id)


@router.get("", response=list[EndpointOut])
def list_endpoints(request):
    request.auth.require_scope(SCOPE)
    return [_endpoint_out(e) for e in request.auth.organization.webhook_endpoints.all()]


@router.post("", response={201: EndpointSecretOut})
def create_endpoint(request, payload: EndpointIn):
    request.auth.require_scope(SCOPE)
    issued = services.webhook_endpoint_create(organization=request.auth.organization, **payload.dict())
    return Status(201, {**_endpoint_out(issued.endpoint), "secret": issued.secret})


@router.get("/events", response=list[EventOut])
def list_events(request):
    """The events an endpoint can subscribe to (`training_job.*` covers every training job event)."""
    return [{"name": name, "description": text} for name, text in EVENTS.items()]


@router.get("/{endpoint_id}", response=EndpointOut)
def get_endpoint(request, endpoint_id: UUID):
    return _endpoint_out(_endpoint(request, endpoint_id))


@router.patch("/{endpoint_id}", response=EndpointOut)
def update_endpoint(request, endpoint_id: UUID, payload: EndpointPatchIn):
    endpoint = _endpoint(request, endpoint_id)
    return _endpoint_out(services.webhook_endpoint_update(endpoint=endpoint, **payload.dict()))


@router.delete("/{endpoint_id}", response={204: None})
def delete_endpoint(request, endpoint_id: UUID):
    _endpoint(request, endpoint_id).delete()
    return Status(204, None)


@router.post("/{endpoint_id}/rotate-secret", response=EndpointSecretOut)
def rotate_secret(request, endpoint_id: UUID):
    endpoint = _endpoint(request, endpoint_id)
    secret = services.webhook_endpoint_rotate_secret(endpoint=endpoint)
    return {**_endpoint_out(endpoint), "secret": secret}


@router.post("/{endpoint_id}/test", response={202: DeliveryOut})
def send_test_event(request, endpoint_id: UUID):
    """Queue a `ping` to this endpoint; follow it with GET /webhooks/deliveries/{id}."""
    return Status(202, _delivery_out(services.webhook_ping(endpoint=_endpoint(request, endpoint_id))))


@router.get("/{endpoint_id}/deliveries", response=list[DeliveryOut])
def list_deliveries(request, endpoint_id: UUID, status: str | None = None, limit: int = Query(50, ge=1, le=200)):
    """Newest first."""
    deliveries = _endpoint(request, endpoint_id).deliveries.select_related("endpoint")
    if status:
        if status not in DeliveryStatus.values:
            raise Invalid(f"status must be one of {', '.join(DeliveryStatus.values)}", field="status")
        deliveries = deliveries.filter(status=status)
    return [_delivery_out(d) for d in deliveries[:limit]]


@router.get("/deliveries/{delivery_id}", response=DeliveryDetailOut)
def get_delivery(request, delivery_id: UUID):
    return _delivery_detail(_delivery(request, delivery_id))


@router.post("/deliveries/{delivery_id}/redeliver", response={202: DeliveryOut})
def redeliver(request, delivery_id: UUID):
    """Start a fresh cycle of attempts for this delivery's payload (signed anew)."""
    return Status(202, _delivery_out(services.webhook_redeliver(delivery=_delivery(request, delivery_id))))
