"""The safety floor: the safe word locks the speaker's persona routes in that org (every route when the org config's
engine.pipeline.safety.lockout_scope is whole_org) for 12 hours, at the routing layer, for every role, with a fixed
allow-list; nothing can lift it early, and its message lists exactly what it closes.

Every page route and API operation is enumerated (as tests/test_outsider_scan.py does), so a route
added later is checked too.
"""

import re
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib import admin
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from audits.chat.models import ChatMessage
from studio import services
from studio.config.services import config_set
from studio.principal import Principal
from studio.safety import services as safety_services
from studio.safety.models import Lockout
from studio.safety.services import lockout_engage, said_safe_word
from tests.conftest import SessionApi
from tests.test_outsider_scan import _api_operations

ALLOWED = {"o/<slug:org_slug>/lockout/", "o/<slug:org_slug>/lockout/limits/", "o/<slug:org_slug>/support/"}
FILLERS = {"uuid": lambda: str(uuid.uuid4()), "int": lambda: "1"}
# SPEC §3's persona routes, written out here independently of studio/safety/routes.py.
PERSONA_PAGE = re.compile(r"^o/<slug:org_slug>/(personas/|reviews/personas/|runs/|audit-jobs/|eval-runs/|eval-cases/"
                          r"|training/<uuid:training_job_id>/chat/)")
PERSONA_API = re.compile(r"^/v1/(personas|persona-clones|chat-sessions|runs|audit-jobs|provocation-runs|eval-runs|eval-cases)(/|$)"
                         r"|^/v1/training-jobs/\{training_job_id\}/chat$")


def whole_org_lockouts(tenant):
    owner = Principal.from_membership(tenant.membership("owner"))
    config_set(actor=owner, key="engine.pipeline.safety.lockout_scope", value="whole_org")


@pytest.fixture
def persona_id(generate):
    return generate().json()["id"]


def say(client, persona_id, message="red", session_id=None):
    body = {"message": message} | ({"session_id": session_id} if session_id else {})
    return client.post(f"/v1/personas/{persona_id}/chat", json=body)


@pytest.fixture
def locked_editor(tenant, persona_id):
    """The editor said the safe word in a chat, through their browser session."""
    api = SessionApi(tenant.user("editor"))
    response = say(api, persona_id)
    assert response.status_code == 423, response.content
    return api


def org_page_routes(patterns=None, prefix=""):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from org_page_routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.startswith("o/<slug:org_slug>/"):
            yield route


def fill_page(route: str, org_slug="acme") -> str:
    def value(match):
        converter, name = match.group(1) or "str", match.group(2)
        return org_slug if name == "org_slug" else FILLERS.get(converter, lambda: "x")()

    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", value, route)


def fill_api(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(uuid.uuid4()), path)


def assert_api_locked(client, label, *, whole_org=False):
    checked = opened = 0
    for path, method, body in _api_operations():
        url = fill_api(path)
        response = getattr(client, method)(url, json=body) if method in ("post", "put", "patch") else getattr(client, method)(url)
        if whole_org or PERSONA_API.search(path):
            assert response.status_code == 423, f"{label}: {method.upper()} {url} gave {response.status_code}"
            assert "locked until" in response.json()["detail"], url
            checked += 1
        else:
            assert response.status_code != 423, f"{label}: {method.upper()} {url} is no persona route but gave 423"
            opened += 1
    assert checked >= 30 and (whole_org or opened >= 30)


# --- the safe word -------------------------------------------------------------------------------


@pytest.mark.parametrize("message", ["red", "RED", "  Red!  ", "red.", "'red'"])
def test_the_safe_word_said_on_its_own_counts_in_any_case(message):
    assert said_safe_word(message, "red")


@pytest.mark.parametrize("message", ["redo", "reddish", "my coat is red", "bored", "", "r e d"])
def test_the_safe_word_inside_a_sentence_or_another_word_does_not(message):
    assert not said_safe_word(message, "red")


def test_the_safe_word_answers_423_with_the_lockout_and_calls_no_model(tenant, persona_id, llm_server):
    api = SessionApi(tenant.user("editor"))
    before = timezone.now()
    response = say(api, persona_id, "  RED ")
    assert response.status_code == 423
    body = response.json()
    lockout = Lockout.objects.get()
    assert body["lockout"]["id"] == str(lockout.public_id) and "locked until" in body["detail"]
    assert lockout.user == tenant.user("editor") and str(lockout.chat_session_id) == body["session_id"]
    assert timedelta(hours=12) - timedelta(seconds=5) < lockout.ends_at - before <= timedelta(hours=12, seconds=5)
    assert list(ChatMessage.objects.values_list("role", flat=True)) == ["user"]  # no reply
    assert llm_server.requests == []


def test_the_safe_word_on_the_chat_page_sends_the_browser_to_the_lockout_summary(tenant, persona_id, client_for):
    client = client_for(tenant.user("editor"))
    response = client.post(f"/o/acme/personas/{persona_id}/chat/send/", {"message": "Red"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 423 and response["HX-Redirect"] == "/o/acme/lockout/"
    assert client.get(f"/o/acme/personas/{persona_id}/chat/").status_code == 423
    assert 'data-testid="lockout-ends"' in client.get("/o/acme/lockout/").content.decode()


def test_the_safe_word_is_configurable(tenant, persona_id):
    owner = Principal.from_membership(tenant.membership("owner"))
    config_set(actor=owner, key="engine.pipeline.safety.safe_word", value="pineapple")
    api = SessionApi(tenant.user("editor"))
    assert say(api, persona_id, "red").status_code == 200
    assert say(api, persona_id, "Pineapple").status_code == 423
    assert Lockout.objects.count() == 1


def test_the_safe_word_locks_even_a_persona_that_is_still_generating(tenant, api_for):
    from personas.models import Persona

    persona = Persona.objects.create(organization=tenant.org, workspace=tenant.org.workspaces.get(), brief="cooking")
    assert say(api_for(tenant.org), persona.public_id).status_code == 423


# --- what the lockout intercepts ------------------------------------------------------------------


def test_every_persona_page_answers_the_lockout_page_and_the_rest_of_the_org_stays_open(locked_editor, tenant, client_for):
    client = client_for(tenant.user("editor"))
    routes = set(org_page_routes())
    assert ALLOWED <= routes and "o/<slug:org_slug>/personas/<uuid:persona_id>/chat/" in routes
    persona_routes = {route for route in routes if PERSONA_PAGE.match(route)}
    assert len(persona_routes) >= 20 and "o/<slug:org_slug>/runs/<uuid:run_id>/" in persona_routes
    for route in persona_routes:
        for method in ("get", "post"):
            response = getattr(client, method)(fill_page(route))
            assert response.status_code == 423, f"{method.upper()} {route} gave {response.status_code}"
            assert 'data-testid="lockout"' in response.content.decode()
    for route in routes - persona_routes:
        assert client.get(fill_page(route)).status_code != 423, route
    for path in ("/o/acme/", "/o/acme/reviews/", "/o/acme/training/"):  # the report: these were locked
        assert client.get(path).status_code == 200, path
    for route in ALLOWED:
        assert client.get(fill_page(route)).status_code == 200, route
    assert "Persona routes are locked" in client.get("/o/acme/lockout/").content.decode()
    assert "12 hours" in client.get("/o/acme/lockout/limits/").content.decode()
    assert client.post("/accounts/logout/").status_code == 302


def test_the_lockout_message_lists_exactly_what_it_closes(locked_editor, tenant, client_for, persona_id):
    from studio.safety.routes import PERSONA_ROUTES

    page = client_for(tenant.user("editor")).get(f"/o/acme/personas/{persona_id}/").content.decode()
    closes = re.search(r'data-testid="lockout-closes">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", closes) == [routes.label for routes in PERSONA_ROUTES]
    assert "Generation runs" in closes and "Chats" in closes and "dashboard" not in closes.lower()
    body = locked_editor.get("/v1/personas").json()
    assert body["lockout"]["closes"] == [routes.label for routes in PERSONA_ROUTES]
    assert body["lockout"]["scope"] == "persona_routes"


def test_every_persona_api_operation_answers_423_for_the_locked_session_and_the_rest_do_not(locked_editor):
    assert_api_locked(locked_editor, "session")


def test_with_whole_org_in_the_config_every_org_page_and_operation_is_locked(tenant, persona_id, client_for):
    whole_org_lockouts(tenant)
    api = SessionApi(tenant.user("editor"))
    assert say(api, persona_id).status_code == 423
    assert Lockout.objects.get().scope == "whole_org"
    client = client_for(tenant.user("editor"))
    for route in set(org_page_routes()) - ALLOWED:
        for method in ("get", "post"):
            response = getattr(client, method)(fill_page(route))
            assert response.status_code == 423, f"{method.upper()} {route} gave {response.status_code}"
    page = client.get("/o/acme/").content.decode()
    assert "This organization is locked" in page and "Every page, API route and live update" in page
    assert_api_locked(api, "session", whole_org=True)


def test_changing_the_scope_later_neither_softens_nor_widens_a_running_lockout(tenant, locked_editor, client_for):
    whole_org_lockouts(tenant)  # set after the safe word: the running lockout keeps its persona scope
    client = client_for(tenant.user("editor"))
    assert client.get("/o/acme/personas/").status_code == 423 and client.get("/o/acme/").status_code == 200
    owner = Principal.from_membership(tenant.membership("owner"))
    config_set(actor=owner, key="engine.pipeline.safety.lockout_scope", value="persona_routes")
    assert client.get("/o/acme/personas/").status_code == 423


def test_a_locked_api_key_gets_423_everywhere_while_another_key_does_not(tenant, persona_id, api_for):
    key = api_for(tenant.org)
    assert say(key, persona_id, "red").status_code == 423
    assert_api_locked(key, "api key")
    assert api_for(tenant.org).get("/v1/personas").status_code == 200


def test_a_whole_org_api_key_lockout_closes_every_operation(tenant, persona_id, api_for):
    whole_org_lockouts(tenant)
    key = api_for(tenant.org)
    assert say(key, persona_id, "red").status_code == 423
    assert_api_locked(key, "api key", whole_org=True)


def test_a_members_own_api_key_is_no_way_around_their_lockout(tenant, locked_editor):
    issued = services.api_key_create(
        organization=tenant.org, name="mine", scopes=["personas:read"], granted_by=frozenset({"personas:read"}),
        created_by=tenant.user("editor"),
    )
    from tests.conftest import ApiClient

    assert ApiClient(issued.secret).get("/v1/personas").status_code == 423


def test_an_htmx_request_is_sent_to_the_lockout_page(locked_editor, tenant, client_for, persona_id):
    response = client_for(tenant.user("editor")).get(f"/o/acme/personas/{persona_id}/", HTTP_HX_REQUEST="true")
    assert response.status_code == 423 and response["HX-Redirect"] == "/o/acme/lockout/"


def test_the_owner_is_locked_out_like_anyone(tenant, persona_id, client_for):
    owner = SessionApi(tenant.owner)
    assert say(owner, persona_id).status_code == 423
    assert owner.get("/v1/personas").status_code == 423
    assert owner.get("/v1/members").status_code == 200  # not a persona route
    assert client_for(tenant.owner).get("/o/acme/personas/").status_code == 423


def test_the_locked_chat_session_is_closed_to_every_member(tenant, locked_editor):
    session_id = Lockout.objects.get().chat_session_id
    admin_api = SessionApi(tenant.user("admin"))
    assert admin_api.get(f"/v1/chat-sessions/{session_id}").status_code == 423
    assert admin_api.get("/v1/personas").status_code == 200


def test_another_member_of_the_org_is_not_locked(locked_editor, tenant, client_for, persona_id):
    assert SessionApi(tenant.user("reviewer")).get("/v1/personas").status_code == 200
    assert client_for(tenant.user("reviewer")).get(f"/o/acme/personas/{persona_id}/").status_code == 200
    assert say(SessionApi(tenant.user("reviewer")), persona_id, "Hello").status_code == 200


def test_the_same_user_in_another_org_is_not_locked(locked_editor, tenant, outsider_tenant, client_for):
    editor = tenant.user("editor")
    services.member_add(organization=outsider_tenant.org, user=editor, role="editor")
    assert client_for(editor).get("/o/globex/personas/").status_code == 200
    assert SessionApi(editor, org_slug="globex").get("/v1/personas").status_code == 200
    assert SessionApi(editor, org_slug="acme").get("/v1/personas").status_code == 423


def test_the_lockout_ends_by_itself_after_12_hours_and_not_before(locked_editor, tenant, client_for, monkeypatch):
    ends_at = Lockout.objects.get().ends_at
    real_now = timezone.now
    monkeypatch.setattr(timezone, "now", lambda: ends_at - timedelta(seconds=1))
    assert locked_editor.get("/v1/personas").status_code == 423
    monkeypatch.setattr(timezone, "now", lambda: ends_at + timedelta(seconds=1))
    assert locked_editor.get("/v1/personas").status_code == 200
    assert client_for(tenant.user("editor")).get("/o/acme/personas/").status_code == 200
    assert real_now() < ends_at


def test_an_outsider_learns_nothing_from_a_locked_session_id(locked_editor, outsider_tenant, api_for):
    session_id = Lockout.objects.get().chat_session_id
    assert api_for(outsider_tenant.org).get(f"/v1/chat-sessions/{session_id}").status_code == 404


# --- nothing can lift it ------------------------------------------------------------------------


def test_lockouts_have_one_write_function_and_no_way_to_end_them():
    public = {name for name in vars(safety_services) if callable(getattr(safety_services, name)) and not name.startswith("_")}
    assert {name for name in public if name.startswith("lockout_")} == {"lockout_engage"}
    model_admin = admin.site._registry[Lockout]
    assert not model_admin.has_change_permission(None) and not model_admin.has_delete_permission(None)
    assert not model_admin.has_add_permission(None)


def test_persona_code_does_not_import_the_safety_floors_state():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    for app in ("personas", "pipeline", "audits", "training_jobs"):
        for source in (root / app).rglob("*.py"):
            text = source.read_text()
            assert "safety.models" not in text and "safety.selectors" not in text, source


# --- WebSockets ---------------------------------------------------------------------------------


def _connect(user, path):
    from studio.asgi import application

    async def go():
        communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")])
        communicator.scope["user"] = user
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    return async_to_sync(go)()


@pytest.mark.django_db(transaction=True)  # consumers close DB connections between calls
def test_a_locked_users_sockets_are_refused_while_others_connect(tenant, generate):
    run_id = generate().json()["run_id"]
    editor, reviewer = tenant.user("editor"), tenant.user("reviewer")
    lockout_engage(organization=tenant.org, user=editor, chat_session_id=uuid.uuid4())
    assert _connect(editor, f"/ws/o/acme/runs/{run_id}/") == (False, 4423)
    assert _connect(editor, "/ws/o/acme/events/")[0] is True  # the org's events are no persona route
    for path in ("/ws/o/acme/events/", f"/ws/o/acme/runs/{run_id}/"):
        assert _connect(reviewer, path)[0] is True, path


@pytest.mark.django_db(transaction=True)
def test_a_whole_org_lockout_refuses_every_socket_of_the_org(tenant):
    whole_org_lockouts(tenant)
    lockout_engage(organization=tenant.org, user=tenant.user("editor"), chat_session_id=uuid.uuid4())
    assert _connect(tenant.user("editor"), "/ws/o/acme/events/") == (False, 4423)


def test_the_limits_page_lists_what_a_lockout_closes_and_the_whole_org_option(tenant, client_for, locked_editor):
    from studio.safety.routes import PERSONA_ROUTES

    page = client_for(tenant.user("editor")).get("/o/acme/lockout/limits/").content.decode()
    closes = re.search(r'data-testid="limits-closes">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", closes) == [routes.label for routes in PERSONA_ROUTES]
    assert "engine.pipeline.safety.lockout_scope" in page and "whole_org" in page
