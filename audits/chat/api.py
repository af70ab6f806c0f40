"""Chat with a persona: POST /personas/{id}/chat, GET /chat-sessions/{id} (your own sessions only)."""

from uuid import UUID

from django.db.models import Count
from ninja import Router

from audits.chat.models import ChatSession
from audits.chat.schemas import ChatIn, ChatOut, ChatSessionOut, ChatSessionSummaryOut, ChatWithheldOut, SafeWordOut
from audits.chat.services import SafeWordSaid, access_chat_session, chat_send
from personas.access import access_persona
from studio.pagination import paginated

router = Router(tags=["chat"])


@router.post("/personas/{persona_id}/chat", response={200: ChatOut, 409: ChatWithheldOut, 423: SafeWordOut})
def chat(request, persona_id: UUID, payload: ChatIn):
    """Send a message; the reply comes with its drift score (null, with drift_note, when no fingerprint is ready).

    409: the reply drifted past the threshold and the action is `block` (the reply is withheld).
    423: the message was the safe word: this chat and your persona routes are locked (no reply).
    """
    persona = access_persona(request.auth.organization, persona_id)
    try:
        turn = chat_send(principal=request.auth, persona=persona, message=payload.message, session_id=payload.session_id)
    except SafeWordSaid as exc:
        return 423, exc
    if turn.withheld:
        detail = (f"reply withheld: its drift {turn.drift.score:.2f} is above the threshold {turn.drift.threshold:.2f} "
                  f"({turn.drift.threshold_label}; engine.pipeline.drift_detection.action_on_alert is 'block')")
        return 409, {"detail": detail, "session_id": turn.session.public_id, "drift": turn.drift}
    return 200, turn


@router.get("/chat-sessions/{session_id}", response=ChatSessionOut)
def chat_session(request, session_id: UUID):
    """One of your chat sessions with its messages (withheld replies have no content)."""
    request.auth.require_scope("personas:read")
    return access_chat_session(request.auth, session_id)


@router.get("/personas/{persona_id}/chat-sessions", response=list[ChatSessionSummaryOut])
@paginated
def chat_sessions(request, persona_id: UUID):
    """Your chat sessions with this persona, newest first."""
    request.auth.require_scope("personas:read")
    persona = access_persona(request.auth.organization, persona_id)
    return (ChatSession.objects.of_principal(request.auth).filter(persona=persona)
            .select_related("version").annotate(message_count=Count("messages")))
