"""Delivering webhooks to a real local receiver: signatures, retries with backoff, dead letters, redelivery, SSRF."""

import json
import socket

import pytest

from studio.webhooks.models import WebhookDelivery
from studio.webhooks.services import webhook_emit, webhook_endpoint_create
from studio.webhooks.signing import verify
from tests.conftest import SessionApi
from tests import webhook_receiver


receiver = webhook_receiver.receiver  # the local receiver fixture


@pytest.fixture
def endpoint_for(tenant):
    def make(url, events=("persona.generated",)):
        return webhook_endpoint_create(organization=tenant.org, url=url, events=list(events))

    return make


@pytest.fixture
def emit(tenant, django_capture_on_commit_callbacks):
    """emit(event, data) with the delivery tasks run (eagerly) once the transaction commits."""

    def run(event="persona.generated", data=None, organization=None):
        with django_capture_on_commit_callbacks(execute=True):
            deliveries = webhook_emit(organization=organization or tenant.org, event=event, data=data or {"persona_id": "p1"})
        return [WebhookDelivery.objects.get(pk=d.pk) for d in deliveries]

    return run


def test_a_delivery_is_a_signed_json_post_the_receiver_can_verify(receiver, endpoint_for, emit):
    issued = endpoint_for(receiver.url)
    [delivery] = emit(data={"persona_id": "p1", "name": "Inês"})
    assert delivery.status == "succeeded" and delivery.attempts == 1 and delivery.last_status_code == 200
    assert delivery.delivered_at and delivery.last_response_excerpt == "thanks"
    request = receiver.last
    assert request.path == "/hooks/studio"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["User-Agent"] == "PersonaStudio-Webhooks/1"
    assert request.headers["X-Studio-Event"] == "persona.generated"
    assert request.headers["X-Studio-Delivery"] == str(delivery.public_id)
    assert verify(issued.secret, request.body, request.headers["X-Studio-Signature"])
    assert not verify("whsec_wrong", request.body, request.headers["X-Studio-Signature"])
    payload = json.loads(request.body)
    assert payload["event"] == "persona.generated" and payload["data"] == {"persona_id": "p1", "name": "Inês"}
    assert payload["organization"]["slug"] == "acme" and payload["id"] and payload["created_at"]


def test_only_active_endpoints_subscribed_to_the_event_receive_it(receiver, endpoint_for, emit, tenant):
    endpoint_for(receiver.url, events=["persona.flagged"])
    disabled = endpoint_for(receiver.url).endpoint
    disabled.active = False
    disabled.save()
    assert emit("persona.generated") == []
    assert receiver.requests == []
    wildcard = endpoint_for(receiver.url, events=["training_job.*"]).endpoint
    [delivery] = emit("training_job.completed")
    assert delivery.endpoint == wildcard and delivery.status == "succeeded"


def test_unknown_events_are_a_programming_error(tenant):
    with pytest.raises(ValueError):
        webhook_emit(organization=tenant.org, event="persona.exploded", data={})


def test_a_failing_receiver_is_retried_with_backoff_until_it_succeeds(receiver, endpoint_for, emit):
    endpoint_for(receiver.url)
    receiver.fail_next = 2
    [delivery] = emit()
    assert delivery.status == "succeeded" and delivery.attempts == 3
    log = list(delivery.attempt_log.all())
    assert [a.status_code for a in log] == [500, 500, 200]
    assert log[0].error == "HTTP 500"
    # WEBHOOK_BACKOFF_S is 0.01 in tests: the gaps grow 0.01 s, then 0.02 s.
    gaps = [(b.at - a.at).total_seconds() for a, b in zip(log, log[1:])]
    assert gaps[0] >= 0.01 and gaps[1] >= 0.02
    # Each attempt is signed anew, and every signature verifies.
    assert len(receiver.requests) == 3


def test_five_failures_dead_letter_the_delivery(receiver, endpoint_for, emit):
    endpoint_for(receiver.url)
    receiver.fail_next = 99
    [delivery] = emit()
    assert delivery.status == "dead" and delivery.attempts == 5
    assert len(receiver.requests) == 5
    assert delivery.last_status_code == 500 and delivery.last_response_excerpt == "receiver is down"
    assert delivery.next_attempt_at is None and delivery.delivered_at is None


def test_connection_errors_are_retried_and_logged(settings, endpoint_for, emit):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint_for(f"http://127.0.0.1:{port}/hook")
    [delivery] = emit()
    assert delivery.status == "dead" and delivery.attempts == 2
    assert delivery.last_status_code is None and "ConnectionRefused" in delivery.last_error
    assert all("ConnectionRefused" in a.error for a in delivery.attempt_log.all())


def test_redeliver_starts_a_fresh_cycle_of_attempts(receiver, endpoint_for, emit, tenant, django_capture_on_commit_callbacks):
    issued = endpoint_for(receiver.url)
    receiver.fail_next = 99
    [delivery] = emit()
    assert delivery.status == "dead"
    receiver.fail_next = 0
    api = SessionApi(tenant.user("admin"))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/v1/webhooks/deliveries/{delivery.public_id}/redeliver")
    assert response.status_code == 202
    detail = api.get(f"/v1/webhooks/deliveries/{delivery.public_id}").json()
    assert detail["status"] == "succeeded" and detail["attempts"] == 1
    assert [(a["cycle"], a["status_code"]) for a in detail["attempt_log"]] == [(1, 500)] * 5 + [(2, 200)]
    assert json.loads(receiver.last.body) == detail["payload"]
    assert verify(issued.secret, receiver.last.body, receiver.last.headers["X-Studio-Signature"])


def test_a_task_queued_for_an_old_cycle_does_nothing(receiver, endpoint_for, tenant):
    from studio.webhooks.services import webhook_redeliver
    from studio.webhooks.tasks import deliver_webhook

    endpoint_for(receiver.url)
    [delivery] = webhook_emit(organization=tenant.org, event="persona.generated", data={})  # task not run: no commit
    webhook_redeliver(delivery=delivery)
    deliver_webhook.apply(kwargs={"organization_id": str(tenant.org.public_id), "delivery_id": str(delivery.public_id), "cycle": 1})
    assert receiver.requests == []
    deliver_webhook.apply(kwargs={"organization_id": str(tenant.org.public_id), "delivery_id": str(delivery.public_id), "cycle": 2})
    assert len(receiver.requests) == 1


def test_an_endpoint_turned_internal_is_refused_at_delivery_and_not_retried(receiver, endpoint_for, emit, settings):
    endpoint_for(receiver.url)
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = False
    [delivery] = emit()
    assert delivery.status == "failed" and delivery.attempts == 1
    assert "loopback" in delivery.last_error and delivery.last_error.startswith("refused")
    assert receiver.requests == []


def test_a_hostname_whose_dns_changed_to_a_private_address_is_refused_at_delivery(endpoint_for, emit, monkeypatch):
    answers = {"hooks.example.com": "93.184.216.34"}
    real = socket.getaddrinfo

    def resolve(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    endpoint_for("https://hooks.example.com/studio")  # public at creation
    answers["hooks.example.com"] = "10.0.0.8"  # rebinding
    [delivery] = emit()
    assert delivery.status == "failed" and "10.0.0.8" in delivery.last_error and "private" in delivery.last_error


def test_the_test_event_pings_one_endpoint(receiver, endpoint_for, tenant, django_capture_on_commit_callbacks):
    issued = endpoint_for(receiver.url, events=["eval.completed"])
    api = SessionApi(tenant.user("admin"))
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"/v1/webhooks/{issued.endpoint.public_id}/test")
    assert response.status_code == 202 and response.json()["event"] == "ping"
    assert receiver.last.headers["X-Studio-Event"] == "ping"
    deliveries = api.get(f"/v1/webhooks/{issued.endpoint.public_id}/deliveries").json()["items"]
    assert [(d["event"], d["status"]) for d in deliveries] == [("ping", "succeeded")]
    assert api.get(f"/v1/webhooks/{issued.endpoint.public_id}/deliveries?status=dead").json()["items"] == []


def test_a_generation_emits_persona_generated(receiver, endpoint_for, generate, tenant):
    issued = endpoint_for(receiver.url, events=["persona.generated", "persona.flagged"])
    response = generate()
    assert response.status_code == 202
    [request] = receiver.requests
    payload = json.loads(request.body)
    assert payload["event"] in ("persona.generated", "persona.flagged")
    data = payload["data"]
    assert data["persona_id"] == response.json()["id"] and data["run_id"] == response.json()["run_id"]
    assert data["version"] == 1 and data["name"] and data["status"] in ("ready", "flagged")
    assert payload["event"] == ("persona.generated" if data["status"] == "ready" else "persona.flagged")
    assert verify(issued.secret, request.body, request.headers["X-Studio-Signature"])


def test_a_broken_webhooks_app_never_fails_the_generation(endpoint_for, generate, monkeypatch, receiver):
    endpoint_for(receiver.url)

    def explode(**kwargs):
        raise RuntimeError("webhooks are down")

    monkeypatch.setattr("studio.webhooks.services.webhook_emit", explode)
    response = generate()
    assert response.status_code == 202
    from personas.models import Persona

    assert Persona.objects.get(public_id=response.json()["id"]).status in ("ready", "flagged")
