"""Chat that feels like chat (issue 18): Enter sends, the log follows the newest reply, and a member's conversations
with a persona are kept and listed beside it: reopened (with their drift chart), renamed and deleted; a reload
after the first message reopens the same conversation."""

import re

import pytest

from audits.chat.models import ChatMessage, ChatSession


@pytest.fixture
def persona_id(generate):
    return generate().json()["id"]


def send(client, persona_id, message, session_id=""):
    return client.post(f"/o/acme/personas/{persona_id}/chat/send/", {"message": message, "session_id": session_id}, HTTP_HX_REQUEST="true")


def chat_page(client, persona_id, session=None):
    suffix = f"?session={session.public_id}" if session else ""
    return client.get(f"/o/acme/personas/{persona_id}/chat/{suffix}").content.decode()


def test_the_chat_form_sends_on_enter_and_the_log_follows_the_newest_reply(persona_id, tenant, client_for):
    page = chat_page(client_for(tenant.user("editor")), persona_id)
    form = re.search(r'<form class="chat-form"[^>]*>', page).group(0)
    assert "data-enter-sends" in form and "data-clear-on-success" in form
    assert re.search(r'id="chat-log"[^>]*data-follow', page)
    assert "Enter sends, Shift+Enter" in page


def test_the_first_message_puts_the_conversation_in_the_url_and_the_list(persona_id, tenant, client_for):
    client = client_for(tenant.user("editor"))
    response = send(client, persona_id, "Hello there, how was the sea today?")
    session = ChatSession.objects.get()
    assert response["HX-Replace-Url"] == f"/o/acme/personas/{persona_id}/chat/?session={session.public_id}"
    html = response.content.decode()
    assert 'id="chat-sessions"' in html and "Hello there, how was the sea today?" in html


def test_a_reload_shows_the_history_and_the_drift_chart_of_the_session(persona_id, tenant, client_for, monkeypatch):
    client = client_for(tenant.user("editor"))
    send(client, persona_id, "Hello")
    session = ChatSession.objects.get()
    send(client, persona_id, "And tomorrow?", str(session.public_id))
    ChatMessage.objects.filter(role="assistant").update(drift_score=0.12)  # as a fingerprint would have scored them
    page = chat_page(client, persona_id, session)
    assert page.count('class="bubble') == 4
    assert page.count('class="dot') == 2 and "reply 2: 0.12" in page
    assert 'class="session current"' in page


def test_conversations_are_listed_newest_first_and_each_reopens(persona_id, tenant, client_for):
    client = client_for(tenant.user("editor"))
    send(client, persona_id, "First conversation")
    send(client, persona_id, "Second conversation")
    first, second = ChatSession.objects.order_by("id")
    page = chat_page(client, persona_id)
    assert page.index("Second conversation") < page.index("First conversation")
    assert f"?session={first.public_id}" in page and f"?session={second.public_id}" in page
    assert 'class="bubble user">First conversation' in chat_page(client, persona_id, first)
    assert 'class="bubble user">First conversation' not in chat_page(client, persona_id, second)


def test_a_long_first_message_is_listed_by_whole_words(persona_id, tenant, client_for):
    client = client_for(tenant.user("editor"))
    send(client, persona_id, "word " * 30 + "tail")
    assert ChatSession.objects.get().label == ("word " * 12).strip() + "…"


def test_a_conversation_can_be_renamed_and_a_blank_name_goes_back_to_its_first_message(persona_id, tenant, client_for):
    client = client_for(tenant.user("editor"))
    send(client, persona_id, "Hello")
    session = ChatSession.objects.get()
    url = f"/o/acme/personas/{persona_id}/chat/sessions/{session.public_id}/rename/"
    response = client.post(url, {"title": "  Harbour   talk "}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Harbour talk" in response.content.decode()
    session.refresh_from_db()
    assert session.title == "Harbour talk" and "Harbour talk" in chat_page(client, persona_id)
    client.post(url, {"title": ""}, HTTP_HX_REQUEST="true")
    session.refresh_from_db()
    assert session.label == "Hello"


def test_a_name_too_long_is_a_422_beside_the_field(persona_id, tenant, client_for):
    client = client_for(tenant.user("editor"))
    send(client, persona_id, "Hello")
    session = ChatSession.objects.get()
    response = client.post(f"/o/acme/personas/{persona_id}/chat/sessions/{session.public_id}/rename/", {"title": "x" * 121},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert "title must be at most 120 characters" in response.content.decode() and 'aria-invalid="true"' in response.content.decode()
    session.refresh_from_db()
    assert session.title == ""


def test_deleting_a_conversation_removes_it_with_its_messages(persona_id, tenant, client_for):
    client = client_for(tenant.user("editor"))
    send(client, persona_id, "Hello")
    session = ChatSession.objects.get()
    url = f"/o/acme/personas/{persona_id}/chat/sessions/{session.public_id}/delete/"
    response = client.post(url, {"current": str(session.public_id)}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Location"] == f"/o/acme/personas/{persona_id}/chat/"
    assert not ChatSession.objects.exists() and not ChatMessage.objects.exists()
    assert "No conversations yet" in response.content.decode()


def test_another_members_conversation_cannot_be_renamed_deleted_or_listed(persona_id, tenant, client_for, outsider_tenant):
    send(client_for(tenant.user("editor")), persona_id, "Mine")
    session = ChatSession.objects.get()
    base = f"/o/acme/personas/{persona_id}/chat/sessions/{session.public_id}"
    reviewer = client_for(tenant.user("reviewer"))
    assert reviewer.post(f"{base}/rename/", {"title": "theirs"}).status_code == 404
    assert reviewer.post(f"{base}/delete/").status_code == 404
    assert "Mine" not in chat_page(reviewer, persona_id)
    outsider = client_for(outsider_tenant.owner)
    assert outsider.post(f"/o/globex/personas/{persona_id}/chat/sessions/{session.public_id}/delete/").status_code == 404
    assert ChatSession.objects.filter(title="").count() == 1


def test_viewers_cannot_rename_or_delete(persona_id, tenant, client_for):
    from studio.principal import Principal  # noqa: F401  (roles come from the tenant fixture)

    send(client_for(tenant.user("editor")), persona_id, "Mine")
    session = ChatSession.objects.get()
    session.user = tenant.user("viewer")
    session.save()
    viewer = client_for(tenant.user("viewer"))
    assert viewer.post(f"/o/acme/personas/{persona_id}/chat/sessions/{session.public_id}/delete/").status_code == 403
    assert ChatSession.objects.exists()
