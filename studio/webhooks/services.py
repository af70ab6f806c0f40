"""Webhook workflows: manage endpoints, emit events, deliver them (signed, retried with backoff, dead-lettered)."""

import http.client
import json
import logging
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from studio.crypto import UnreadableSecret
from studio.errors import Invalid
from studio.models import Organization
from studio.webhooks import signing
from studio.webhooks.events import EVENTS, PING, is_known, unknown_events
from studio.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from studio.webhooks.urlcheck import Target, UnsafeUrl, check_url
from studio.work.queue import enqueue

logger = logging.getLogger(__name__)
USER_AGENT = "PersonaStudio-Webhooks/1"
EXCERPT_CHARS = 1000


# --- endpoints ----------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def _clean_url(url: str) -> str:
    url = (url or "").strip()
    if len(url) > 2000:
        raise Invalid("url is longer than 2000 characters", field="url")
    try:
        check_url(url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_URLS)
    except UnsafeUrl as exc:
        raise Invalid(str(exc), field="url") from None
    return url


def _clean_events(events: list[str]) -> list[str]:
    events = list(dict.fromkeys(e.strip() for e in events or [] if e and e.strip()))
    if not events:
        raise Invalid("subscribe to at least one event", field="events")
    if unknown := unknown_events(events):
        raise Invalid(f"unknown event(s): {', '.join(unknown)}; known: {', '.join(EVENTS)}", field="events")
    return events


def _clean_description(description: str) -> str:
    description = (description or "").strip()
    if len(description) > 200:
        raise Invalid("description is longer than 200 characters", field="description")
    return description


def webhook_endpoint_create(
    *, organization: Organization, url: str, events: list[str], description: str = "", active: bool = True
) -> IssuedEndpoint:
    endpoint = WebhookEndpoint(
        organization=organization, url=_clean_url(url), events=_clean_events(events),
        description=_clean_description(description), active=active,
    )
    secret = endpoint.set_new_secret()
    endpoint.save()
    return IssuedEndpoint(endpoint, secret)


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, url: str | None = None, events: list[str] | None = None,
    description: str | None = None, active: bool | None = None,
) -> WebhookEndpoint:
    if url is not None:
        endpoint.url = _clean_url(url)
    if events is not None:
        endpoint.events = _clean_events(events)
    if description is not None:
        endpoint.description = _clean_description(description)
    if active is not None:
        endpoint.active = active
    endpoint.save(update_fields=["url", "events", "description", "active"])
    return endpoint


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    """A new secret takes effect at once: deliveries signed from now on use it."""
    secret = endpoint.set_new_secret()
    endpoint.secret_rotated_at = timezone.now()
    endpoint.save(update_fields=["encrypted_secret", "secret_rotated_at"])
    return secret


# --- emitting -----------------------------------------------------------------------


def _jsonable(data: dict) -> dict:
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _enqueue(*, organization: Organization, event: str, data: dict, endpoints: list[WebhookEndpoint]) -> list[WebhookDelivery]:
    payload = {
        "id": str(uuid.uuid4()),  # the event's id: the same in every endpoint's delivery of it
        "event": event,
        "created_at": timezone.now().isoformat(),
        "organization": {"id": str(organization.public_id), "slug": organization.slug},
        "data": _jsonable(data),
    }
    with transaction.atomic():
        deliveries = [
            WebhookDelivery.objects.create(
                organization=organization, endpoint=endpoint, event=event, payload=payload, next_attempt_at=timezone.now()
            )
            for endpoint in endpoints
        ]
        for delivery in deliveries:
            _deliver_on_commit(delivery)
    return deliveries


def _deliver_on_commit(delivery: WebhookDelivery) -> None:
    kwargs = {"organization_id": str(delivery.organization.public_id), "delivery_id": str(delivery.public_id), "cycle": delivery.cycle}
    transaction.on_commit(lambda: enqueue("studio.webhooks.tasks.deliver_webhook", **kwargs))


def webhook_emit(*, organization: Organization, event: str, data: dict) -> list[WebhookDelivery]:
    """Queue `event` for every active endpoint of the org subscribed to it; sent once the transaction commits."""
    if not is_known(event):
        raise ValueError(f"unknown webhook event {event!r}: add it to studio/webhooks/events.py")
    endpoints = [e for e in organization.webhook_endpoints.filter(active=True) if e.subscribes_to(event)]
    if not endpoints:
        return []
    return _enqueue(organization=organization, event=event, data=data, endpoints=endpoints)


def webhook_ping(*, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """The "send test event" button: a `ping` to this endpoint only, whatever it subscribes to."""
    data = {"endpoint_id": str(endpoint.public_id), "message": "Test event from Persona Studio"}
    return _enqueue(organization=endpoint.organization, event=PING, data=data, endpoints=[endpoint])[0]


def webhook_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """A fresh cycle of attempts for the same payload (a task still queued for the old cycle stops)."""
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("organization", "endpoint").get(pk=delivery.pk)
        delivery.cycle += 1
        delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, timezone.now()
        delivery.delivered_at = None
        delivery.save(update_fields=["cycle", "status", "attempts", "next_attempt_at", "delivered_at"])
        _deliver_on_commit(delivery)
    return delivery


# --- delivering ---------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None = None
    error: str = ""
    excerpt: str = ""
    duration_ms: int = 0
    refused: bool = False  # never sent, and retrying would not help

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _post(target: Target, body: bytes, headers: dict, timeout: float) -> tuple[int, str]:
    connection_class = http.client.HTTPSConnection if target.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(target.host, target.port, timeout=timeout)
    # Connect to the address check_url approved, not to a fresh DNS answer (DNS rebinding);
    # Host header and TLS server name still use the URL's host.
    connection._create_connection = lambda _address, *args, **kw: socket.create_connection((target.address, target.port), *args, **kw)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()  # redirects are not followed: a 3xx is a failed attempt
        return response.status, response.read(EXCERPT_CHARS * 4).decode("utf-8", "replace")[:EXCERPT_CHARS]
    finally:
        connection.close()


def _send(delivery: WebhookDelivery) -> Outcome:
    endpoint = delivery.endpoint
    if not endpoint.active and delivery.event != PING:
        return Outcome(error="endpoint is disabled", refused=True)
    try:
        target = check_url(endpoint.url, allow_private=settings.WEBHOOKS_ALLOW_PRIVATE_URLS)
        secret = endpoint.secret
    except UnsafeUrl as exc:
        return Outcome(error=f"refused: {exc}", refused=True)
    except UnreadableSecret as exc:
        return Outcome(error=f"refused: {exc}", refused=True)
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Studio-Event": delivery.event,
        "X-Studio-Delivery": str(delivery.public_id),
        signing.HEADER: signing.sign(secret, body, int(time.time())),
    }
    started = time.monotonic()
    try:
        status_code, excerpt = _post(target, body, headers, settings.WEBHOOK_TIMEOUT_S)
    except (OSError, http.client.HTTPException) as exc:  # timeouts, refused connections, TLS and protocol errors
        return Outcome(error=f"{type(exc).__name__}: {exc}"[:1000], duration_ms=_ms_since(started))
    error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
    return Outcome(status_code=status_code, error=error, excerpt=excerpt, duration_ms=_ms_since(started))


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def webhook_attempt(*, delivery: WebhookDelivery, cycle: int) -> float | None:
    """Make the next attempt of a pending delivery; the seconds until its retry, or None once it is settled."""
    if delivery.status != DeliveryStatus.PENDING or delivery.cycle != cycle:
        return None
    outcome = _send(delivery)  # outside any transaction: no row lock is held over the network
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        superseded = delivery.cycle != cycle or delivery.status != DeliveryStatus.PENDING
        number = delivery.attempts + 1 if not superseded else delivery.attempts
        WebhookAttempt.objects.create(
            delivery=delivery, cycle=cycle, number=number, status_code=outcome.status_code,
            error=outcome.error, duration_ms=outcome.duration_ms,
        )
        if superseded:  # redelivered meanwhile: the new cycle decides
            return None
        retry_in = _apply(delivery, outcome, number)
        delivery.save(update_fields=[
            "attempts", "status", "next_attempt_at", "last_status_code", "last_error", "last_response_excerpt", "delivered_at",
        ])
    return retry_in


def _apply(delivery: WebhookDelivery, outcome: Outcome, number: int) -> float | None:
    delivery.attempts = number
    delivery.last_status_code, delivery.last_error = outcome.status_code, outcome.error
    delivery.last_response_excerpt = outcome.excerpt
    delivery.next_attempt_at = None
    if outcome.ok:
        delivery.status, delivery.delivered_at = DeliveryStatus.SUCCEEDED, timezone.now()
        return None
    if outcome.refused:
        delivery.status = DeliveryStatus.FAILED
        return None
    if number >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = DeliveryStatus.DEAD
        return None
    retry_in = settings.WEBHOOK_BACKOFF_S * 2 ** (number - 1)
    delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
    return retry_in
