"""API keys: shown once, stored hashed, revocable, last-used time; the scope and role matrices of /v1/."""

import json
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from studio import services
from studio.models import ApiKey, Invitation
from studio.principal import Principal
from studio.roles import SCOPES
from studio.tenancy_api import router
from tests.conftest import SessionApi, ApiClient, login_client, make_user

ADMIN_SCOPE = "config:admin"
ALL_BUT_ADMIN = sorted(set(SCOPES) - {ADMIN_SCOPE})




# Every operation of studio/tenancy_api.py: (method, path, body, expected success status).
# Paths name objects of the `targets` fixture; the matrix test below fails when an operation is missing here.
ADMIN_ONLY = [
    ("post", "/v1/workspaces", {"name": "Lab"}, 201),
    ("patch", "/v1/members/{editor}", {"role": "reviewer"}, 200),
    ("delete", "/v1/members/{bystander}", None, 204),
    ("get", "/v1/invitations", None, 200),
    ("post", "/v1/invitations", {"email": "new@acme.test", "role": "viewer"}, 201),
    ("delete", "/v1/invitations/{invitation}", None, 204),
    ("get", "/v1/api-keys", None, 200),
    ("post", "/v1/api-keys", {"name": "ci", "scopes": ["personas:read"]}, 201),
    ("delete", "/v1/api-keys/{api_key}", None, 200),
    ("get", "/v1/credentials", None, 200),
    ("put", "/v1/credentials/{provider}", {"api_key": "sk-ant-0123456789"}, 200),
    ("delete", "/v1/credentials/{provider}", None, 204),
]
OPEN_TO_EVERY_KEY = [
    ("get", "/v1/org", None, 200),
    ("get", "/v1/workspaces", None, 200),
    ("get", "/v1/workspaces/{workspace}", None, 200),
    ("get", "/v1/members", None, 200),
]


def _route(method, path):
    """'/v1/members/{editor}' → ('PATCH', '/members/{}') so the table can be compared with the router."""
    return method.upper(), re.sub(r"\{[^}]+\}", "{}", path.removeprefix("/v1"))


@pytest.fixture
def targets(tenant):
    """Objects of acme that the matrix paths name."""
    owner = Principal.from_membership(tenant.membership("owner"))
    invitation = services.member_invite(actor=owner, email="pending@acme.test", role="viewer").invitation
    spare_key = services.api_key_create(organization=tenant.org, name="spare", scopes=["personas:read"], granted_by=frozenset(SCOPES))
    return {
        "editor": tenant.membership("editor").public_id,
        "bystander": services.member_add(organization=tenant.org, user=make_user("bystander@acme.test"), role="viewer").public_id,
        "provider": "anthropic",
        "invitation": invitation.public_id,
        "api_key": spare_key.api_key.public_id,
        "workspace": tenant.org.workspaces.get().public_id,
    }


def call(api, method, path, body, targets):
    path = path.format(**targets)
    if method in ("get", "delete"):
        return getattr(api, method)(path)
    return getattr(api, method)(path, json=body)


def created_key(response) -> dict:
    assert response.status_code == 201, response.content
    return response.json()


# --- creating keys ------------------------------------------------------------------


def test_the_page_shows_a_new_secret_once_and_only_its_prefix_after_a_reload(tenant, client_for):
    client = client_for(tenant.user("admin"))

    response = client.post("/o/acme/api-keys/new/", {"name": "CI pipeline", "scopes": ["personas:read", "config:read"]}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    api_key = ApiKey.objects.get(name="CI pipeline")
    body = response.content.decode()
    secret = body.split('data-testid="new-key-secret">')[1].split("</pre>")[0]
    assert secret.startswith(api_key.prefix)
    assert ApiKey.hash_secret(secret) == api_key.key_hash
    assert api_key.scopes == ["config:read", "personas:read"]
    assert api_key.created_by == tenant.user("admin")

    reloaded = client.get("/o/acme/api-keys/").content.decode()
    assert secret not in reloaded
    assert f"{api_key.prefix}…" in reloaded
    assert "new-key-secret" not in reloaded


def test_the_page_shows_why_a_key_was_refused(tenant, client_for):
    response = client_for(tenant.user("admin")).post("/o/acme/api-keys/new/", {"name": "no scopes"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 422
    assert 'data-field="scopes"' in response.content.decode()
    assert not ApiKey.objects.filter(name="no scopes").exists()


def test_the_api_returns_the_secret_once_and_lists_only_the_prefix(tenant, api_for):
    api = api_for(tenant.org, scopes=[ADMIN_SCOPE, "personas:read"])

    key = created_key(api.post("/v1/api-keys", json={"name": "worker", "scopes": ["personas:read"]}))

    assert key["secret"].startswith(ApiKey.PREFIX)
    assert key["secret"].startswith(key["prefix"])
    assert key["scopes"] == ["personas:read"]
    listing = api.get("/v1/api-keys")
    assert key["secret"] not in listing.content.decode()
    assert all("secret" not in item for item in listing.json()["items"])
    assert key["prefix"] in [item["prefix"] for item in listing.json()["items"]]


def test_a_key_created_through_the_api_works(tenant, api_for):
    key = created_key(api_for(tenant.org).post("/v1/api-keys", json={"name": "new", "scopes": ["personas:read"]}))

    response = ApiClient(key["secret"]).get("/v1/org")

    assert response.status_code == 200
    assert response.json()["scopes"] == ["personas:read"]
    assert response.json()["acting_as"] == f"API key new ({key['prefix']}…)"


def test_only_a_hash_of_the_secret_is_stored(tenant, api_for):
    key = created_key(api_for(tenant.org).post("/v1/api-keys", json={"name": "stored", "scopes": ["personas:read"]}))

    row = ApiKey.objects.filter(public_id=key["id"]).values().get()

    assert key["secret"] not in json.dumps(row, default=str)
    assert row["key_hash"] == ApiKey.hash_secret(key["secret"])
    assert len(row["prefix"]) < len(key["secret"]) // 3


def test_an_admin_cannot_grant_scopes_they_do_not_hold(tenant, api_for):
    api = api_for(tenant.org, scopes=[ADMIN_SCOPE])

    response = api.post("/v1/api-keys", json={"name": "escalate", "scopes": ["personas:write"]})

    assert response.status_code == 403
    assert "personas:write" in response.json()["detail"]
    assert not ApiKey.objects.filter(name="escalate").exists()


def test_an_unknown_scope_is_refused_naming_the_scopes_field(tenant, api_for):
    response = api_for(tenant.org).post("/v1/api-keys", json={"name": "bad", "scopes": ["personas:read", "root"]})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["scopes"]
    assert "root" in response.json()["detail"][0]["msg"]


def test_a_key_needs_at_least_one_scope(tenant, api_for):
    response = api_for(tenant.org).post("/v1/api-keys", json={"name": "empty", "scopes": []})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["scopes"]


# --- authenticating -----------------------------------------------------------------


def test_a_revoked_key_is_refused_with_401(tenant, api_for):
    api = api_for(tenant.org)
    victim = created_key(api.post("/v1/api-keys", json={"name": "victim", "scopes": ["personas:read"]}))
    assert ApiClient(victim["secret"]).get("/v1/org").status_code == 200

    revoked = api.delete(f"/v1/api-keys/{victim['id']}")

    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    response = ApiClient(victim["secret"]).get("/v1/org")
    assert response.status_code == 401
    assert response.json()["detail"] == "invalid or revoked API key"


def test_a_key_revoked_from_the_page_is_refused_with_401(tenant, api_for, client_for):
    api = api_for(tenant.org)
    api_key = ApiKey.objects.get(key_hash=ApiKey.hash_secret(api.secret))

    response = client_for(tenant.user("admin")).post(f"/o/acme/api-keys/{api_key.public_id}/revoke/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "revoked" in response.content.decode()
    assert api.get("/v1/org").status_code == 401


@pytest.mark.parametrize("secret", ["ps_wrong", "not-even-prefixed", "ps_" + "x" * 300, ""])
def test_a_wrong_key_is_refused_with_401(tenant, secret):
    response = ApiClient(secret).get("/v1/org")

    assert response.status_code == 401
    assert "detail" in response.json()


def test_a_wrong_key_is_refused_even_with_a_valid_session(tenant):
    client = login_client(tenant.owner)

    response = client.get("/v1/org", HTTP_AUTHORIZATION="Bearer ps_wrong")

    assert response.status_code == 401


def test_using_a_key_records_when_it_was_last_used(tenant, api_for):
    api = api_for(tenant.org, scopes=["personas:read"])
    api_key = ApiKey.objects.get(key_hash=ApiKey.hash_secret(api.secret))
    assert api_key.last_used_at is None

    api.get("/v1/org")
    api_key.refresh_from_db()
    first_use = api_key.last_used_at
    assert first_use is not None and timezone.now() - first_use < timedelta(seconds=5)

    an_hour_ago = timezone.now() - timedelta(hours=1)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=an_hour_ago)
    api.get("/v1/org")
    api_key.refresh_from_db()
    assert api_key.last_used_at > an_hour_ago + timedelta(minutes=59)


def test_the_api_keys_page_shows_the_last_use(tenant, api_for, client_for):
    api = api_for(tenant.org, scopes=["personas:read"])
    page = client_for(tenant.user("admin"))
    assert "never" in page.get("/o/acme/api-keys/").content.decode()

    api.get("/v1/org")

    assert "0\xa0minutes ago" in page.get("/o/acme/api-keys/").content.decode()


def test_a_key_of_another_org_cannot_be_revoked(tenant, outsider_tenant, api_for, client_for):
    foreign = api_for(outsider_tenant.org)
    foreign_key = ApiKey.objects.get(key_hash=ApiKey.hash_secret(foreign.secret))

    assert api_for(tenant.org).delete(f"/v1/api-keys/{foreign_key.public_id}").status_code == 404
    assert client_for(tenant.user("admin")).post(f"/o/acme/api-keys/{foreign_key.public_id}/revoke/").status_code == 404
    assert foreign.get("/v1/org").status_code == 200


# --- the scope matrix ---------------------------------------------------------------


def test_the_matrix_covers_every_operation_of_the_tenancy_api():
    operations = {
        _route(method, path)
        for path, view in router.path_operations.items()
        for operation in view.operations
        for method in operation.methods
    }
    covered = {_route(method, path) for method, path, *_ in ADMIN_ONLY + OPEN_TO_EVERY_KEY}

    assert operations == covered


@pytest.mark.parametrize(("method", "path", "body", "status"), ADMIN_ONLY, ids=[f"{m} {p}" for m, p, *_ in ADMIN_ONLY])
def test_a_key_without_config_admin_is_refused_naming_the_scope(tenant, targets, api_for, method, path, body, status):
    response = call(api_for(tenant.org, scopes=ALL_BUT_ADMIN), method, path, body, targets)

    assert response.status_code == 403
    assert response.json()["detail"] == "this action needs the 'config:admin' scope, which this API key does not have"


@pytest.mark.parametrize(("method", "path", "body", "status"), ADMIN_ONLY, ids=[f"{m} {p}" for m, p, *_ in ADMIN_ONLY])
def test_a_key_with_config_admin_succeeds(tenant, targets, api_for, method, path, body, status):
    response = call(api_for(tenant.org, scopes=[ADMIN_SCOPE, "personas:read"]), method, path, body, targets)

    assert response.status_code == status, response.content


@pytest.mark.parametrize(("method", "path", "body", "status"), OPEN_TO_EVERY_KEY, ids=[f"{m} {p}" for m, p, *_ in OPEN_TO_EVERY_KEY])
@pytest.mark.parametrize("scope", ["audits:read", "reviews:write"])
def test_a_key_with_any_one_scope_reads_the_org_itself(tenant, targets, api_for, method, path, body, status, scope):
    response = call(api_for(tenant.org, scopes=[scope]), method, path, body, targets)

    assert response.status_code == status


# --- the session role matrix ----------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body", "status"), ADMIN_ONLY, ids=[f"{m} {p}" for m, p, *_ in ADMIN_ONLY])
@pytest.mark.parametrize("role", ["viewer", "reviewer", "editor"])
def test_members_below_admin_are_refused_naming_their_role_and_the_scope(tenant, targets, method, path, body, status, role):
    response = call(SessionApi(tenant.user(role)), method, path, body, targets)

    assert response.status_code == 403
    assert response.json()["detail"] == f"this action needs the 'config:admin' scope, which the {role} role does not have"


@pytest.mark.parametrize(("method", "path", "body", "status"), ADMIN_ONLY, ids=[f"{m} {p}" for m, p, *_ in ADMIN_ONLY])
@pytest.mark.parametrize("role", ["admin", "owner"])
def test_admins_and_owners_succeed(tenant, targets, method, path, body, status, role):
    response = call(SessionApi(tenant.user(role)), method, path, body, targets)

    assert response.status_code == status, response.content


@pytest.mark.parametrize("role", ["viewer", "reviewer", "editor"])
def test_members_below_admin_cannot_open_the_api_keys_page(tenant, client_for, role):
    client = client_for(tenant.user(role))

    page = client.get("/o/acme/api-keys/")
    create = client.post("/o/acme/api-keys/new/", {"name": "sneaky", "scopes": ["personas:read"]})

    assert page.status_code == 403
    assert create.status_code == 403
    assert f"the {role} role" in create.content.decode()
    assert not ApiKey.objects.filter(name="sneaky").exists()


def test_a_session_key_carries_only_the_scopes_of_its_creator(tenant, targets):
    """An admin holds every scope, so the page offers them all; a key can never exceed its creator."""
    response = SessionApi(tenant.user("admin")).post("/v1/api-keys", json={"name": "all", "scopes": sorted(SCOPES)})

    assert created_key(response)["scopes"] == sorted(SCOPES)


# --- session auth for the API ---------------------------------------------------------


def test_session_auth_works_with_the_cookie_and_the_org_header(tenant, outsider_tenant):
    services.member_add(organization=outsider_tenant.org, user=tenant.user("editor"), role="viewer")
    client = login_client(tenant.user("editor"))

    acme = client.get("/v1/org", HTTP_X_STUDIO_ORG="acme")
    globex = client.get("/v1/org", HTTP_X_STUDIO_ORG="globex")

    assert (acme.status_code, acme.json()["slug"], acme.json()["role"]) == (200, "acme", "editor")
    assert (globex.status_code, globex.json()["slug"], globex.json()["role"]) == (200, "globex", "viewer")
    assert acme.json()["acting_as"] == "editor@acme.test"


def test_session_auth_names_the_header_when_the_org_is_ambiguous(tenant, outsider_tenant):
    services.member_add(organization=outsider_tenant.org, user=tenant.user("editor"), role="viewer")

    response = login_client(tenant.user("editor")).get("/v1/org")

    assert response.status_code == 400
    assert "X-Studio-Org" in response.json()["detail"]


def test_session_auth_for_an_org_you_are_not_in_is_not_found(tenant, outsider_tenant):
    response = login_client(tenant.owner).get("/v1/org", HTTP_X_STUDIO_ORG="globex")

    assert response.status_code == 404


def test_a_session_post_without_a_csrf_token_is_forbidden(tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.user("admin"), backend="django.contrib.auth.backends.ModelBackend")

    response = client.post("/v1/workspaces", json.dumps({"name": "Lab"}), content_type="application/json", HTTP_X_STUDIO_ORG="acme")

    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not tenant.org.workspaces.filter(name="Lab").exists()


def test_a_session_post_with_the_csrf_token_from_the_page_succeeds(tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.user("admin"), backend="django.contrib.auth.backends.ModelBackend")
    client.get("/o/acme/")
    token = client.cookies["csrftoken"].value

    response = client.post(
        "/v1/workspaces", json.dumps({"name": "Lab"}), content_type="application/json",
        HTTP_X_STUDIO_ORG="acme", HTTP_X_CSRFTOKEN=token,
    )

    assert response.status_code == 201
    assert tenant.org.workspaces.filter(name="Lab").exists()


def test_a_bearer_key_needs_no_csrf_token(tenant, api_for):
    api = api_for(tenant.org)
    api.client = Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {api.secret}")

    assert api.post("/v1/workspaces", json={"name": "Lab"}).status_code == 201


@pytest.mark.parametrize(("method", "path", "body", "status"), ADMIN_ONLY + OPEN_TO_EVERY_KEY, ids=[f"{m} {p}" for m, p, *_ in ADMIN_ONLY + OPEN_TO_EVERY_KEY])
def test_an_anonymous_request_is_refused_with_401(tenant, targets, method, path, body, status):
    anonymous = ApiClient("")
    anonymous.client = Client(enforce_csrf_checks=True)

    response = call(anonymous, method, path, body, targets)

    assert response.status_code == 401
    assert "authentication required" in response.json()["detail"]
    assert Invitation.objects.count() == 1
