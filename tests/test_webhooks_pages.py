"""The webhook pages: list + create, an endpoint with its delivery log, redeliver, rotate, test, delete."""

import pytest

from studio.webhooks.models import WebhookEndpoint
from studio.webhooks.services import webhook_endpoint_create, webhook_ping
from tests import webhook_receiver

PUBLIC_URL = "https://93.184.216.34/hooks/studio"
receiver = webhook_receiver.receiver  # the local receiver fixture


@pytest.fixture
def admin(tenant, client_for):
    return client_for(tenant.user("admin"))


@pytest.fixture
def endpoint(tenant):
    return webhook_endpoint_create(organization=tenant.org, url=PUBLIC_URL, events=["persona.generated"]).endpoint


def test_admins_see_the_webhooks_link_and_page(admin, endpoint):
    page = admin.get("/o/acme/webhooks/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/o/acme/webhooks/"' in html and PUBLIC_URL in html and "persona.fingerprint.ready" in html


def test_it_creates_an_endpoint_and_shows_the_secret_once(admin):
    response = admin.post("/o/acme/webhooks/new/", {"url": PUBLIC_URL, "events": ["persona.generated", "eval.completed"]}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["persona.generated", "eval.completed"]
    assert endpoint.secret in response.content.decode()
    assert endpoint.secret not in admin.get(f"/o/acme/webhooks/{endpoint.public_id}/").content.decode()


def test_a_refused_url_is_shown_beside_the_form_with_the_input_kept(admin):
    response = admin.post("/o/acme/webhooks/new/", {"url": "http://169.254.169.254/latest", "description": "metadata", "events": ["eval.completed"]})
    assert response.status_code == 422
    html = response.content.decode()
    assert 'data-field="url"' in html and "link-local" in html
    assert 'value="http://169.254.169.254/latest"' in html and 'value="metadata"' in html
    assert 'value="eval.completed"\n    checked' in html or 'value="eval.completed"' in html
    assert not WebhookEndpoint.objects.exists()


def test_the_endpoint_page_shows_its_delivery_log_with_a_redeliver_button(admin, endpoint):
    delivery = webhook_ping(endpoint=endpoint)
    html = admin.get(f"/o/acme/webhooks/{endpoint.public_id}/").content.decode()
    assert str(delivery.public_id) in html and "Pending" in html and "<details>" in html
    assert f"/o/acme/webhooks/deliveries/{delivery.public_id}/redeliver/" in html


def test_redeliver_from_the_page_sends_it_again(admin, tenant, receiver, django_capture_on_commit_callbacks):
    endpoint = webhook_endpoint_create(organization=tenant.org, url=receiver.url, events=["persona.generated"]).endpoint
    receiver.fail_next = 99
    with django_capture_on_commit_callbacks(execute=True):
        delivery = webhook_ping(endpoint=endpoint)
    receiver.fail_next = 0
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/o/acme/webhooks/deliveries/{delivery.public_id}/redeliver/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Redelivery queued" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == "succeeded" and len(receiver.requests) == 6
    assert "Succeeded" in admin.get(f"/o/acme/webhooks/{endpoint.public_id}/").content.decode()


def test_send_test_event_from_the_page(admin, tenant, receiver, django_capture_on_commit_callbacks):
    endpoint = webhook_endpoint_create(organization=tenant.org, url=receiver.url, events=["persona.generated"]).endpoint
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(f"/o/acme/webhooks/{endpoint.public_id}/test/")
    assert response.status_code == 200 and "Test event queued" in response.content.decode()
    assert receiver.last.headers["X-Studio-Event"] == "ping"


def test_it_rotates_the_secret(admin, endpoint):
    old = endpoint.secret
    response = admin.post(f"/o/acme/webhooks/{endpoint.public_id}/rotate-secret/")
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.secret in response.content.decode()


def test_it_updates_the_endpoint_and_keeps_input_on_error(admin, endpoint):
    response = admin.post(f"/o/acme/webhooks/{endpoint.public_id}/edit/", {"url": PUBLIC_URL, "events": ["eval.completed"], "description": "evals"})
    assert response.status_code == 200
    endpoint.refresh_from_db()
    assert endpoint.events == ["eval.completed"] and endpoint.active is False and endpoint.description == "evals"
    response = admin.post(f"/o/acme/webhooks/{endpoint.public_id}/edit/", {"url": "ftp://x.test/", "events": ["eval.completed"], "active": "on"})
    assert response.status_code == 422 and 'value="ftp://x.test/"' in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == PUBLIC_URL


def test_it_deletes_the_endpoint(admin, endpoint):
    response = admin.post(f"/o/acme/webhooks/{endpoint.public_id}/delete/", HTTP_HX_REQUEST="true")
    assert response["HX-Redirect"] == "/o/acme/webhooks/"
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.parametrize("role", ["editor", "reviewer", "viewer"])
def test_it_requires_the_admin_role(tenant, client_for, endpoint, role):
    client = client_for(tenant.user(role))
    assert client.get("/o/acme/webhooks/").status_code == 403
    assert client.get(f"/o/acme/webhooks/{endpoint.public_id}/").status_code == 403
    assert client.post(f"/o/acme/webhooks/{endpoint.public_id}/delete/").status_code == 403
    assert client.post("/o/acme/webhooks/new/", {"url": PUBLIC_URL, "events": ["eval.completed"]}).status_code == 403
    assert 'href="/o/acme/webhooks/"' not in client.get("/o/acme/").content.decode()
    assert WebhookEndpoint.objects.count() == 1


def test_an_outsider_gets_404(outsider, client_for, endpoint):
    client = client_for(outsider)
    assert client.get("/o/acme/webhooks/").status_code == 404
    assert client.get(f"/o/acme/webhooks/{endpoint.public_id}/").status_code == 404
    assert client.post(f"/o/acme/webhooks/{endpoint.public_id}/delete/").status_code == 404
    assert client.post("/o/globex/webhooks/" + str(endpoint.public_id) + "/delete/").status_code == 404  # own org, not its endpoint
    assert WebhookEndpoint.objects.count() == 1
