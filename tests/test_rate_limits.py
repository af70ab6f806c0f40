"""Rate limits (studio/ratelimit.py): 429 with Retry-After and the limit named, per IP, username, org, key or member."""

import pytest
from django.test import Client

from studio.config.services import config_set
from studio.principal import Principal
from tests.generation_helpers import BRIEF

pytestmark = pytest.mark.rate_limits


def _login(client, username, password="wrong-password"):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_sign_in_attempts_are_limited_per_username_then_429_with_retry_after(tenant, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_username": "3/m", "login_ip": "100/m"}
    for n in range(3):
        assert _login(Client(REMOTE_ADDR=f"10.0.0.{n}"), "owner@acme.test").status_code == 200  # the form again, with its error
    refused = _login(Client(REMOTE_ADDR="10.0.0.9"), "OWNER@acme.test")  # another address, the same username
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 60
    assert "the limit is 3/m" in refused.content.decode()
    assert _login(Client(REMOTE_ADDR="10.0.0.9"), "editor@acme.test").status_code == 200  # someone else is not held up


def test_sign_in_attempts_are_limited_per_address(tenant, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "login_ip": "2/m"}
    client = Client(REMOTE_ADDR="10.1.1.1")
    assert [_login(client, f"user{n}@acme.test").status_code for n in range(3)] == [200, 200, 429]
    assert _login(Client(REMOTE_ADDR="10.1.1.2"), "user9@acme.test").status_code == 200


def test_invitations_are_limited_per_organization_on_the_api(tenant, api_for, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "invitations": "2/h"}
    first, second = api_for(tenant.org), api_for(tenant.org)  # two keys of one org share the org's count
    assert first.post("/v1/invitations", json={"email": "a@acme.test", "role": "viewer"}).status_code == 201
    assert second.post("/v1/invitations", json={"email": "b@acme.test", "role": "viewer"}).status_code == 201
    refused = first.post("/v1/invitations", json={"email": "c@acme.test", "role": "viewer"})
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 3600  # the end of the hour window
    body = refused.json()
    assert body["limit"] == "2/h" and body["bucket"] == "invitations" and body["retry_after"] == int(refused["Retry-After"])
    assert "for this organization" in body["detail"]


def test_creating_organizations_is_limited_per_member(tenant, client_for, settings):
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "organizations": "2/h"}
    client = client_for(tenant.user("viewer"))
    made = [client.post("/orgs/", {"name": f"Side {n}", "slug": f"side-{n}"}).status_code for n in range(3)]
    assert made == [302, 302, 429]
    assert client_for(tenant.user("editor")).post("/orgs/", {"name": "Mine", "slug": "mine"}).status_code == 302


def test_operations_that_spend_llm_money_have_a_stricter_bucket_the_org_can_set(tenant, api_for):
    config_set(actor=Principal.from_membership(tenant.membership("owner")), key="limits.spend_per_minute", value=2)
    client = api_for(tenant.org)
    codes = [client.post("/v1/personas", json={"brief": BRIEF}).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert client.get("/v1/personas").status_code == 200  # reading is not spending
    assert api_for(tenant.org).post("/v1/personas", json={"brief": BRIEF}).status_code == 202  # per key


def test_api_requests_are_limited_per_key_at_the_orgs_own_rate(tenant, api_for):
    config_set(actor=Principal.from_membership(tenant.membership("owner")), key="limits.api_per_minute", value=3)
    client = api_for(tenant.org)
    codes = [client.get("/v1/personas").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = client.get("/v1/personas")
    assert refused.json()["limit"] == "3/m" and "for this API key" in refused.json()["detail"]


def test_the_limits_can_be_turned_off(tenant, api_for, settings):
    settings.RATELIMIT_ENABLE = False
    config_set(actor=Principal.from_membership(tenant.membership("owner")), key="limits.api_per_minute", value=1)
    client = api_for(tenant.org)
    assert [client.get("/v1/personas").status_code for _ in range(3)] == [200, 200, 200]
