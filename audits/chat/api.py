"""Chat with a persona: POST /personas/{id}/chat, GET /chat-sessions/{id} (your own sessions only)."""

from uuid import UUID

from django.db.models import Count
from ninja import Router

from audits.chat.models import ChatMessage, ChatSession
from audits.chat.schemas import ChatIn, ChatOut, ChatSessionOut, ChatSessionSummaryOut, ChatWithheldOut, SafeWordOut
from audits.chat.services import ChatTurn, SafeWordSaid, access_chat_session, chat_send
from personas.access import access_persona

router = Router(tags=["chat"])


def drift_out(turn: ChatTurn) -> dict | None:
    d = turn.drift
    if d is None:
        return None
    return {"score": d.score, "threshold": d.threshold, "threshold_source": d.threshold_source, "threshold_label": d.threshold_label,
            "action": d.action, "flagged": d.flagged}


def lockout_out(exc: SafeWordSaid) -> dict:
    lockout = exc.lockout
    return {
        "detail": exc.message, "session_id": exc.session.public_id,
        "lockout": {"id": lockout.public_id, "reason": lockout.reason, "started_at": lockout.started_at,
                    "ends_at": lockout.ends_at, "chat_session_id": lockout.chat_session_id},
    }


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
        return 423, lockout_out(exc)
    if turn.withheld:
        detail = (f"reply withheld: its drift {turn.drift.score:.2f} is above the threshold {turn.drift.threshold:.2f} "
                  f"({turn.drift.threshold_label}; engine.pipeline.drift_detection.action_on_alert is 'block')")
        return 409, {"detail": detail, "session_id": turn.session.public_id, "drift": drift_out(turn)}
    reply = turn.reply
    return 200, {
        "session_id": turn.session.public_id, "persona_id": persona.public_id, "engine": turn.session.engine,
        "reply": reply.content, "drift": drift_out(turn), "drift_note": reply.drift_note or None, "model": reply.model,
        "prompt_tokens": reply.prompt_tokens, "completion_tokens": reply.completion_tokens,
        "cost_usd": float(reply.cost_usd), "created_at": reply.created_at,
    }


def message_out(m: ChatMessage) -> dict:
    return {
        "role": m.role, "content": None if m.blocked else m.content, "drift_score": m.drift_score,
        "drift_threshold": m.drift_threshold, "drift_threshold_source": m.drift_threshold_source, "drift_note": m.drift_note,
        "flagged": m.flagged, "blocked": m.blocked, "model": m.model, "prompt_tokens": m.prompt_tokens,
        "completion_tokens": m.completion_tokens, "cost_usd": float(m.cost_usd), "created_at": m.created_at,
    }


@router.get("/chat-sessions/{session_id}", response=ChatSessionOut)
def chat_session(request, session_id: UUID):
    """One of your chat sessions with its messages (withheld replies have no content)."""
    request.auth.require_scope("personas:read")
    session = access_chat_session(request.auth, session_id)
    return {
        "id": session.public_id, "persona_id": session.persona.public_id,
        "version": session.version.number if session.version else None, "engine": session.engine,
        "created_at": session.created_at, "updated_at": session.updated_at,
        "messages": [message_out(m) for m in session.messages.order_by("id")],
    }


@router.get("/personas/{persona_id}/chat-sessions", response=list[ChatSessionSummaryOut])
def chat_sessions(request, persona_id: UUID):
    """Your chat sessions with this persona, newest first."""
    request.auth.require_scope("personas:read")
    persona = access_persona(request.auth.organization, persona_id)
    sessions = (ChatSession.objects.of_principal(request.auth).filter(persona=persona)
                .select_related("version").annotate(message_count=Count("messages"))[:100])
    return [
        {"id": s.public_id, "version": s.version.number if s.version else None, "engine": s.engine,
         "messages": s.message_count, "created_at": s.created_at, "updated_at": s.updated_at}
        for s in sessions
    ]
