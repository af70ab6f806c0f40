"""The chat playground page: talk to a persona, each reply with its drift badge and the drift chart; the member's
conversations with it are listed beside it (reopen, rename, delete), and a reload shows the open one again."""

from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from audits.drift import drift_chart
from audits.chat.models import ChatSession
from audits.chat.services import (
    CHAT_SCOPES,
    FINGERPRINT_NOT_READY,
    SafeWordSaid,
    access_chat_session,
    chat_config,
    chat_drift_scores,
    chat_engine_notice,
    chat_send,
    chat_session_delete,
    chat_session_rename,
    persona_drift_bound,
    require_chat_scope,
)
from audits.models import Fingerprint
from personas.access import access_persona
from studio.config.selectors import effective_tree
from studio.errors import NotFound, StudioError
from studio.views import org_page


def _chart_context(persona, session: ChatSession | None) -> dict:
    """The chart's line is the bound the next reply is held to (the newest fingerprint's); each dot keeps the
    verdict it got against the bound of its time."""
    tree = effective_tree(persona.organization, persona.workspace)
    bound = persona_drift_bound(persona, tree)
    scored = chat_drift_scores(session) if session else []
    chart = drift_chart([score for score, _ in scored], bound.value, over=[flagged for _, flagged in scored])
    return {"chart": chart, "threshold": bound.value, "bound": bound, "z": tree["engine.pipeline.drift_detection.z"],
            "action": tree["engine.pipeline.drift_detection.action_on_alert"]}


def _sessions(principal, persona) -> list[ChatSession]:
    return list(ChatSession.objects.of_principal(principal).filter(persona=persona)[:50])


def _chat_url(persona, session: ChatSession | None = None) -> str:
    url = reverse("persona_chat", args=[persona.organization.slug, persona.public_id])
    return f"{url}?session={session.public_id}" if session else url


@org_page
@require_GET
def persona_chat(request, persona_id):
    principal = request.principal
    persona = access_persona(principal.organization, persona_id)
    session = None
    if session_id := request.GET.get("session"):
        try:
            session = access_chat_session(principal, session_id)
        except NotFound:
            session = None  # a stale link starts a new chat
    if session is not None and session.persona_id != persona.pk:
        session = None
    context = {
        "persona": persona,
        "session": session,
        "chat_messages": session.messages.order_by("id") if session else [],
        "engine": chat_config(persona, effective_tree(persona.organization, persona.workspace))[0],
        "engine_notice": chat_engine_notice(principal.organization),
        "fingerprint_ready": Fingerprint.objects.latest_for(persona) is not None,
        "can_chat": any(principal.has_scope(s) for s in CHAT_SCOPES),
        "sessions": _sessions(principal, persona),
        **_chart_context(persona, session),
    }
    return render(request, "chat/chat.html", context)


@org_page
@require_POST
def persona_chat_send(request, persona_id):
    principal = request.principal
    persona = access_persona(principal.organization, persona_id)
    try:
        turn = chat_send(principal=principal, persona=persona, message=request.POST.get("message", ""),
                         session_id=request.POST.get("session_id") or None)
    except SafeWordSaid as exc:
        response = render(request, "safety/lockout.html", {"lockout": exc.lockout, "lockout_org": principal.organization}, status=423)
        response["HX-Redirect"] = reverse("lockout_summary", args=[principal.organization.slug])
        return response
    except StudioError as exc:
        return render(request, "chat/partials/chat_error.html", {"error": exc}, status=exc.status_code)
    context = {"persona": persona, "session": turn.session, "turn": turn, "oob": True, "fingerprint_not_ready": FINGERPRINT_NOT_READY,
               "sessions": _sessions(principal, persona), **_chart_context(persona, turn.session)}
    response = render(request, "chat/partials/turn.html", context, status=409 if turn.withheld else 200)
    response["HX-Replace-Url"] = _chat_url(persona, turn.session)  # a reload reopens this conversation
    return response


def _own_session(request, persona_id, session_id) -> ChatSession:
    principal = request.principal
    persona = access_persona(principal.organization, persona_id)
    session = access_chat_session(principal, session_id)
    if session.persona_id != persona.pk:
        raise NotFound("no chat session with that id")
    require_chat_scope(principal)
    return session


@org_page
@require_POST
def chat_session_rename_view(request, persona_id, session_id):
    session = _own_session(request, persona_id, session_id)
    try:
        chat_session_rename(principal=request.principal, session=session, title=request.POST.get("title", ""))
    except StudioError as exc:
        context = {"persona": session.persona, "sessions": _sessions(request.principal, session.persona), "session": session,
                   "rename_error": {"session": session.pk, "message": exc.message}}
        return render(request, "chat/partials/sessions.html", context, status=exc.status_code)
    current = request.POST.get("current") == str(session.public_id)
    context = {"persona": session.persona, "sessions": _sessions(request.principal, session.persona), "session": session if current else None}
    return render(request, "chat/partials/sessions.html", context)


@org_page
@require_POST
def chat_session_delete_view(request, persona_id, session_id):
    session = _own_session(request, persona_id, session_id)
    persona = session.persona
    chat_session_delete(principal=request.principal, session=session)
    url = _chat_url(persona)
    if request.htmx:
        response = render(request, "chat/partials/sessions.html", {"persona": persona, "sessions": _sessions(request.principal, persona)})
        if request.POST.get("current") == str(session.public_id):
            response["HX-Location"] = url  # the open conversation is gone: start a new one
        return response
    return redirect(url)
