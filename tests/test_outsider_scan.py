"""Every page route and every API operation, enumerated from the URLconf and the OpenAPI schema,
tried by an outsider against another org's objects: always 404, never their data.

A new route is covered automatically; a route with a path parameter this file does not know
fails the scan until the parameter is registered in `victim_values` below.
"""

import json
import re
from urllib.parse import urlencode

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from studio import services
from studio.config.presets import PRESETS
from studio.config.services import config_snapshot_create
from studio.api import api
from studio.principal import Principal

# Path parameters that name a tenant object (or the tenant itself): outsiders must get 404.
OBJECT_PARAMS = re.compile(r"(^org_slug$|_id$)")
SKIPPED_PREFIXES = ("admin/", "v1/")  # Django admin: staff only, tested separately; v1: via OpenAPI below
PUBLIC_PAGES = {"", "accounts/login/", "accounts/logout/"}


@pytest.fixture
def victim(tenant, django_capture_on_commit_callbacks):
    """acme's objects of every kind, keyed by the path parameter that names them."""
    owner = Principal.from_membership(tenant.membership("owner"))
    invitation = services.member_invite(actor=owner, email="newbie@acme.test", role="editor").invitation
    key = services.api_key_create(organization=tenant.org, name="acme key", scopes=["personas:read"], granted_by=owner.scopes).api_key
    services.credential_set(organization=tenant.org, provider="anthropic", api_key="sk-acme-secret-9999")
    snapshot = config_snapshot_create(actor=owner, label="acme snapshot")
    values = {
        "org_slug": tenant.org.slug,
        "workspace_id": tenant.org.workspaces.get().public_id,
        "member_id": tenant.membership("editor").public_id,
        "invitation_id": invitation.public_id,
        "key_id": key.public_id,
        "provider": "anthropic",
        "token": "not-a-real-token",
        "snapshot_id": snapshot.public_id,
        "key": "engine.pipeline.audit.max_retries",
        "name": next(iter(PRESETS)),
    }
    # Markers of acme's data that must never show up in an outsider's response.
    values["_secrets"] = [tenant.org.slug, "owner@acme.test", "editor@acme.test", "newbie@acme.test", str(key.public_id), "9999"]
    return values


def _page_routes(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            if not route.startswith(SKIPPED_PREFIXES):
                yield from _page_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and not route.startswith(SKIPPED_PREFIXES):
            yield route


def _fill(route: str, values: dict, pattern: str) -> tuple[str, set[str]]:
    names = set(re.findall(pattern, route))
    unknown = names - values.keys()
    assert not unknown, f"route {route} has path parameter(s) {unknown}: register victim values in test_outsider_scan.py"
    path = route
    for name in names:
        path = re.sub(pattern.replace(r"(\w+)", name), str(values[name]), path)
    return path, names


def test_the_scan_sees_every_page_route():
    routes = set(_page_routes())
    assert {"o/<slug:org_slug>/", "o/<slug:org_slug>/members/<uuid:member_id>/role/"} <= routes
    assert len(routes) >= 15


def test_an_outsider_gets_404_on_every_org_page(victim, outsider):
    client = Client()
    client.force_login(outsider)
    checked = 0
    for route in _page_routes():
        path, names = _fill(route, victim, r"<(?:\w+:)?(\w+)>")
        if route in PUBLIC_PAGES or not any(OBJECT_PARAMS.search(n) for n in names):
            continue
        for method in ("get", "post"):
            response = getattr(client, method)("/" + path)
            assert response.status_code == 404, f"{method.upper()} /{path} gave {response.status_code} to an outsider"
            body = response.content.decode()
            assert not any(secret in body for secret in victim["_secrets"] if secret != victim["org_slug"]), path
            checked += 1
    assert checked >= 28


def _example(schema: dict, components: dict):
    """A minimal valid value for a JSON schema, so requests reach the handler's access check."""
    if "$ref" in schema:
        return _example(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    if "anyOf" in schema:
        return _example(schema["anyOf"][0], components)
    kind = schema.get("type")
    if kind == "object":
        return {name: _example(sub, components) for name, sub in schema.get("properties", {}).items() if name in schema.get("required", [])}
    if kind == "array":
        return []
    if "enum" in schema:
        return schema["enum"][0]
    return {"string": "viewer", "integer": 1, "number": 0.5, "boolean": True}.get(kind, "x")


def _api_operations():
    schema = api.get_openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            body = None
            if request_body := operation.get("requestBody"):
                content = request_body["content"].get("application/json")
                body = _example(content["schema"], components) if content else None
            query = {
                p["name"]: _example(p["schema"], components)
                for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")
            }
            if query:
                path += "?" + urlencode(query)
            yield path, method, body


def test_an_outsider_gets_404_on_every_api_operation_naming_an_object(victim, outsider_tenant, api_for):
    client = api_for(outsider_tenant.org)  # every scope, in their own org
    checked = 0
    for path, method, body in _api_operations():
        url, names = _fill(path, victim, r"\{(\w+)\}")
        response = getattr(client, method)(url, json=body) if method in ("post", "put", "patch") else getattr(client, method)(url)
        assert response.status_code < 500, f"{method.upper()} {url} → {response.status_code}"
        body_text = response.content.decode()
        assert not any(secret in body_text for secret in victim["_secrets"]), f"{method.upper()} {url} leaked acme data"
        if any(OBJECT_PARAMS.search(n) for n in names):
            assert response.status_code == 404, f"{method.upper()} {url} gave {response.status_code} to an outsider"
            checked += 1
    assert checked >= 8


def test_every_api_operation_refuses_anonymous_callers(victim):
    client = Client()
    for path, method, body in _api_operations():
        url, _ = _fill(path, victim, r"\{(\w+)\}")
        kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
        response = getattr(client, method)(url, **kwargs)
        assert response.status_code == 401, f"{method.upper()} {url} gave {response.status_code} without credentials"


def test_an_outsider_session_cannot_reach_another_org_through_the_org_header(victim, outsider):
    client = Client()
    client.force_login(outsider)
    response = client.get("/v1/members", HTTP_X_STUDIO_ORG=victim["org_slug"])
    assert response.status_code == 404


def test_the_websocket_refuses_an_outsider(victim, outsider):
    from asgiref.sync import async_to_sync
    from channels.testing import WebsocketCommunicator

    from studio.asgi import application

    async def connect():
        communicator = WebsocketCommunicator(application, f"/ws/o/{victim['org_slug']}/events/", headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")])
        communicator.scope["user"] = outsider
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    connected, code = async_to_sync(connect)()
    assert not connected
