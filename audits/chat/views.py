"""The chat playground page: talk to a persona, each reply with its drift badge and the drift chart."""

from django.shortcuts import render
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
    persona_drift_bound,
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
               **_chart_context(persona, turn.session)}
    return render(request, "chat/partials/turn.html", context, status=409 if turn.withheld else 200)
