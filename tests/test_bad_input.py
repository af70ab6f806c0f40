"""Bad input gets a clear 4xx, never a 500: unknown slugs, malformed ids and JSON, oversized bodies, missing CSRF."""

import json

import pytest
from django.test import Client

from studio.models import Membership



@pytest.fixture
def admin(tenant, client_for):
    return client_for(tenant.user("admin"))


def raw_post(api, path, body: bytes | str, content_type="application/json"):
    return api.client.post(path, body, content_type=content_type)


# --- pages --------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/o/nowhere/", "/o/nowhere/members/", "/o/nowhere/api-keys/", "/o/nowhere/credentials/"])
def test_an_unknown_org_slug_is_not_found(admin, path):
    response = admin.get(path)

    assert response.status_code == 404
    assert "Not found" in response.content.decode()


def test_another_orgs_slug_is_not_found_just_like_an_unknown_one(admin, outsider_tenant):
    assert admin.get("/o/globex/").status_code == 404
    assert admin.post("/o/globex/members/invite/", {"email": "x@globex.test"}).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/o/acme/members/not-a-uuid/role/",
        "/o/acme/members/12345/remove/",
        "/o/acme/invitations/0000/revoke/",
        "/o/acme/api-keys/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz/revoke/",
    ],
)
def test_a_malformed_uuid_in_a_page_url_is_not_found(admin, path):
    assert admin.post(path, {"role": "viewer"}).status_code == 404


def test_a_well_formed_but_unknown_uuid_in_a_page_url_is_not_found(admin):
    response = admin.post("/o/acme/members/00000000-0000-0000-0000-000000000000/role/", {"role": "viewer"})

    assert response.status_code == 404
    assert "member not found" in response.content.decode()


def test_a_page_post_without_a_csrf_token_is_forbidden(tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.user("admin"), backend="django.contrib.auth.backends.ModelBackend")
    viewer = tenant.membership("viewer")

    response = client.post(f"/o/acme/members/{viewer.public_id}/remove/")

    assert response.status_code == 403
    assert "Form expired" in response.content.decode()
    assert Membership.objects.filter(pk=viewer.pk).exists()


def test_a_page_post_with_the_csrf_token_succeeds(tenant):
    client = Client(enforce_csrf_checks=True)
    client.force_login(tenant.user("admin"), backend="django.contrib.auth.backends.ModelBackend")
    client.get("/o/acme/members/")
    viewer = tenant.membership("viewer")

    response = client.post(f"/o/acme/members/{viewer.public_id}/remove/", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)

    assert response.status_code == 200
    assert not Membership.objects.filter(pk=viewer.pk).exists()


def test_an_oversized_form_post_is_a_bad_request(admin, settings):
    response = admin.post("/o/acme/workspaces/", {"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})

    assert response.status_code in (400, 413)


def test_a_get_on_a_post_only_page_is_not_allowed(admin):
    assert admin.get("/o/acme/members/invite/").status_code == 405


@pytest.mark.parametrize("path", ["/", "/o/acme/", "/o/acme/members/", "/o/acme/api-keys/", "/o/acme/credentials/", "/o/nowhere/"])
def test_anonymous_page_requests_redirect_to_login(db, client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_anonymous_page_posts_redirect_to_login_and_change_nothing(tenant, client):
    viewer = tenant.membership("viewer")

    response = client.post(f"/o/acme/members/{viewer.public_id}/remove/")

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next=/o/acme/members/{viewer.public_id}/remove/"
    assert Membership.objects.filter(pk=viewer.pk).exists()


# --- the API ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/v1/workspaces/not-a-uuid"),
        ("patch", "/v1/members/not-a-uuid"),
        ("delete", "/v1/members/123"),
        ("delete", "/v1/invitations/%20"),
        ("delete", "/v1/api-keys/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"),
    ],
)
def test_a_malformed_uuid_in_an_api_path_is_a_client_error(tenant, api_for, method, path):
    api = api_for(tenant.org)

    response = api.patch(path, json={"role": "viewer"}) if method == "patch" else getattr(api, method)(path)

    assert 400 <= response.status_code < 500
    assert "detail" in response.json()


def test_an_unknown_uuid_in_an_api_path_is_not_found(tenant, api_for):
    response = api_for(tenant.org).get("/v1/workspaces/00000000-0000-0000-0000-000000000000")

    assert response.status_code == 404
    assert response.json() == {"detail": "workspace not found"}


@pytest.mark.parametrize("body", ["{bad", '{"name": "Lab"', "\xff", b"\xff\xfe"])
def test_malformed_json_is_a_bad_request_with_a_detail(tenant, api_for, body):
    response = raw_post(api_for(tenant.org), "/v1/workspaces", body)

    assert response.status_code == 400
    assert response.json()["detail"]


@pytest.mark.parametrize("body", ["null", "[]", '"Lab"', "42"])
def test_json_that_is_not_an_object_is_refused(tenant, api_for, body):
    response = raw_post(api_for(tenant.org), "/v1/workspaces", body)

    assert 400 <= response.status_code < 500
    assert response.json()["detail"]


def test_an_empty_body_is_refused_naming_the_missing_field(tenant, api_for):
    response = raw_post(api_for(tenant.org), "/v1/workspaces", "")

    assert 400 <= response.status_code < 500


def test_a_json_body_larger_than_the_upload_limit_is_refused(tenant, api_for, settings):
    big = json.dumps({"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})

    response = raw_post(api_for(tenant.org), "/v1/workspaces", big)

    assert response.status_code == 413
    assert response.json() == {"detail": "request body is too large"}
    assert tenant.org.workspaces.count() == 1


def test_an_oversized_body_is_refused_for_a_session_too(tenant, settings):
    client = Client()
    client.force_login(tenant.user("admin"), backend="django.contrib.auth.backends.ModelBackend")
    big = json.dumps({"name": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)})

    response = client.post("/v1/workspaces", big, content_type="application/json", HTTP_X_STUDIO_ORG="acme")

    assert response.status_code == 413


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/v1/workspaces", {"name": 5}, "name"),
        ("/v1/workspaces", {"name": ["Lab"]}, "name"),
        ("/v1/workspaces", {"name": "Lab", "slug": {"a": 1}}, "slug"),
        ("/v1/api-keys", {"name": "k", "scopes": "personas:read"}, "scopes"),
        ("/v1/api-keys", {"name": "k", "scopes": [1, 2]}, "scopes"),
        ("/v1/api-keys", {"name": None, "scopes": ["personas:read"]}, "name"),
        ("/v1/invitations", {"email": 7}, "email"),
        ("/v1/invitations", {"email": "new@acme.test", "role": 3}, "role"),
        ("/v1/workspaces", {"name": ""}, "name"),
        ("/v1/workspaces", {"name": "x" * 121}, "name"),
    ],
)
def test_a_wrong_type_is_refused_naming_the_field(tenant, api_for, path, body, field):
    response = api_for(tenant.org).post(path, json=body)

    assert response.status_code == 422
    assert field in response.json()["detail"][0]["loc"]


def test_a_wrong_type_in_a_put_body_names_the_field(tenant, api_for):
    response = api_for(tenant.org).put("/v1/credentials/anthropic", json={"api_key": 12345678})

    assert response.status_code == 422
    assert "api_key" in response.json()["detail"][0]["loc"]


def test_a_workspace_name_that_makes_no_slug_is_refused(tenant, api_for):
    response = api_for(tenant.org).post("/v1/workspaces", json={"name": "!!!"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["slug"]


def test_a_duplicate_workspace_is_a_conflict(tenant, api_for):
    response = api_for(tenant.org).post("/v1/workspaces", json={"name": "Default"})

    assert response.status_code == 409
    assert response.json()["detail"][0]["loc"] == ["slug"]


def test_an_unknown_api_route_is_not_found(tenant, api_for):
    assert api_for(tenant.org).get("/v1/nothing-here").status_code == 404


def test_a_wrong_method_on_an_api_route_is_not_allowed(tenant, api_for):
    assert api_for(tenant.org).put("/v1/org", json={}).status_code == 405


# A NUL reaches SQLite fine but PostgreSQL refuses it: these were 500s in services mode.


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/workspaces", {"name": "Lab\x00"}),
        ("/v1/api-keys", {"name": "ci\x00", "scopes": ["personas:read"]}),
        ("/v1/workspaces", {"name": "two\nlines"}),
    ],
)
def test_a_name_with_control_characters_is_refused_naming_the_field(tenant, api_for, path, body):
    response = api_for(tenant.org).post(path, json=body)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["name"]


def test_a_page_form_with_a_nul_in_the_name_shows_an_error(tenant, admin):
    response = admin.post("/o/acme/workspaces/", {"name": "Lab\x00"}, follow=True)

    assert response.status_code == 400
    assert "name must not contain a NUL byte" in response.content.decode()
    assert tenant.org.workspaces.count() == 1


@pytest.mark.parametrize("header", ["ac\x00me", "acme/../globex", "x" * 300, "ümlaut"])
def test_an_org_header_that_cannot_be_a_slug_is_not_found(tenant, header):
    client = Client()
    client.force_login(tenant.owner, backend="django.contrib.auth.backends.ModelBackend")

    response = client.get("/v1/org", HTTP_X_STUDIO_ORG=header)

    assert response.status_code == 404
    assert response.json() == {"detail": "organization not found"}
