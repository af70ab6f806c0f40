"""/v1/webhooks: endpoint management for admins, URL and event validation, outsiders see nothing."""

import pytest

from studio.webhooks.models import WebhookEndpoint
from studio.webhooks.services import webhook_endpoint_create
from tests.conftest import SessionApi

PUBLIC_URL = "https://93.184.216.34/hooks/studio"  # an address literal: no DNS needed


def create(api, **fields):
    return api.post("/v1/webhooks", json={"url": PUBLIC_URL, "events": ["persona.generated"], **fields})


def detail_of(response) -> list:
    return [entry["loc"][0] for entry in response.json()["detail"]]


@pytest.fixture
def admin_api(tenant):
    return SessionApi(tenant.user("admin"))


def test_an_admin_creates_an_endpoint_and_sees_its_secret_once(admin_api):
    response = create(admin_api, description="CRM sync", events=["persona.generated", "persona.flagged"])
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and body["events"] == ["persona.generated", "persona.flagged"]
    endpoint = WebhookEndpoint.objects.get(public_id=body["id"])
    assert body["secret"].encode() not in bytes(endpoint.encrypted_secret)  # encrypted at rest
    assert endpoint.secret == body["secret"]
    listed = admin_api.get("/v1/webhooks").json()["items"]
    assert [e["id"] for e in listed] == [body["id"]] and "secret" not in listed[0]
    assert "secret" not in admin_api.get(f"/v1/webhooks/{body['id']}").json()


def test_an_api_key_with_config_admin_manages_webhooks(tenant, api_for):
    api = api_for(tenant.org, scopes=["config:admin"])
    assert create(api).status_code == 201


@pytest.mark.parametrize("role", ["editor", "reviewer", "viewer"])
def test_it_requires_the_admin_role(tenant, role):
    endpoint = webhook_endpoint_create(organization=tenant.org, url=PUBLIC_URL, events=["persona.generated"]).endpoint
    api = SessionApi(tenant.user(role))
    assert create(api).status_code == 403
    assert api.get("/v1/webhooks").status_code == 403
    assert api.get(f"/v1/webhooks/{endpoint.public_id}").status_code == 403
    assert api.delete(f"/v1/webhooks/{endpoint.public_id}").status_code == 403
    assert api.post(f"/v1/webhooks/{endpoint.public_id}/rotate-secret").status_code == 403


def test_an_api_key_without_config_admin_is_refused(tenant, api_for):
    assert create(api_for(tenant.org, scopes=["personas:read", "personas:write"])).status_code == 403


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook", "http://10.0.0.7/hook", "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook", "http://localhost/hook", "file:///etc/passwd", "ftp://93.184.216.34/hook", "https://",
    ],
)
def test_urls_to_internal_addresses_or_other_schemes_are_refused_with_422_naming_url(admin_api, url):
    response = create(admin_api, url=url)
    assert response.status_code == 422, url
    assert detail_of(response) == ["url"]
    assert not WebhookEndpoint.objects.exists()


def test_private_urls_are_accepted_when_the_setting_allows_them(admin_api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True
    assert create(admin_api, url="http://127.0.0.1:8000/hook").status_code == 201


@pytest.mark.parametrize("events", [["persona.exploded"], [], ["training_job.completed"], ["persona.*"]])
def test_unknown_events_are_refused_with_422_naming_events(admin_api, events):
    response = create(admin_api, events=events)
    assert response.status_code == 422
    assert detail_of(response) == ["events"]


def test_the_training_job_wildcard_can_be_subscribed(admin_api):
    assert create(admin_api, events=["training_job.*"]).status_code == 201


def test_the_event_catalog_is_listed(admin_api):
    names = [e["name"] for e in admin_api.get("/v1/webhooks/events").json()["items"]]
    assert {"persona.generated", "persona.flagged", "persona.fingerprint.ready", "persona.test_suite_complete",
            "eval.completed", "training_job.*"} == set(names)


def test_an_admin_updates_an_endpoint(admin_api):
    endpoint_id = create(admin_api).json()["id"]
    response = admin_api.patch(f"/v1/webhooks/{endpoint_id}", json={"events": ["eval.completed"], "active": False, "description": "paused"})
    assert response.status_code == 200
    assert response.json() | {} == response.json() and response.json()["events"] == ["eval.completed"]
    assert response.json()["active"] is False and response.json()["url"] == PUBLIC_URL


def test_an_update_to_an_internal_url_is_refused(admin_api):
    endpoint_id = create(admin_api).json()["id"]
    response = admin_api.patch(f"/v1/webhooks/{endpoint_id}", json={"url": "http://10.1.1.1/"})
    assert response.status_code == 422 and detail_of(response) == ["url"]
    assert WebhookEndpoint.objects.get(public_id=endpoint_id).url == PUBLIC_URL


def test_rotating_the_secret_shows_a_new_one_once(admin_api):
    created = create(admin_api).json()
    rotated = admin_api.post(f"/v1/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created["secret"]
    assert WebhookEndpoint.objects.get(public_id=created["id"]).secret == rotated.json()["secret"]
    assert rotated.json()["secret_rotated_at"]


def test_an_admin_deletes_an_endpoint(admin_api):
    endpoint_id = create(admin_api).json()["id"]
    assert admin_api.delete(f"/v1/webhooks/{endpoint_id}").status_code == 204
    assert admin_api.get(f"/v1/webhooks/{endpoint_id}").status_code == 404


def test_an_outsider_gets_404_for_every_operation_on_another_orgs_webhooks(tenant, outsider_tenant, api_for, django_capture_on_commit_callbacks):
    endpoint = webhook_endpoint_create(organization=tenant.org, url=PUBLIC_URL, events=["persona.generated"]).endpoint
    from studio.webhooks.services import webhook_ping

    delivery = webhook_ping(endpoint=endpoint)  # stays pending: its on-commit task never runs here
    api = api_for(outsider_tenant.org)
    e, d = endpoint.public_id, delivery.public_id
    assert api.get(f"/v1/webhooks/{e}").status_code == 404
    assert api.patch(f"/v1/webhooks/{e}", json={"active": False}).status_code == 404
    assert api.delete(f"/v1/webhooks/{e}").status_code == 404
    assert api.post(f"/v1/webhooks/{e}/rotate-secret").status_code == 404
    assert api.post(f"/v1/webhooks/{e}/test").status_code == 404
    assert api.get(f"/v1/webhooks/{e}/deliveries").status_code == 404
    assert api.get(f"/v1/webhooks/deliveries/{d}").status_code == 404
    assert api.post(f"/v1/webhooks/deliveries/{d}/redeliver").status_code == 404
    assert api.get("/v1/webhooks").json()["items"] == []
    endpoint.refresh_from_db()
    assert endpoint.active
