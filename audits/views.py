"""The persona's Tests page: audit attempts, the voice fingerprint, provocation results, live job progress."""

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audits.chat.services import fingerprint_drift_bound
from audits.models import AuditJob, Fingerprint
from audits.provocations import CATEGORIES
from audits.selectors import (
    CRITERIA_LABELS,
    access_audit_job,
    active_jobs,
    audit_attempts,
    latest_fingerprint,
    latest_provocation_run,
    provocation_runs,
)
from audits.services import audit_job_start
from personas.access import access_persona
from studio.config.selectors import effective_tree
from studio.errors import StudioError
from studio.views import org_page


def _attempt_rows(persona) -> list[dict]:
    rows = []
    for attempt in audit_attempts(persona):
        scores = attempt["scores"] or {}
        bars = [{"label": CRITERIA_LABELS[k], "value": v or 0} for k, v in scores.items()]
        bars.append({"label": "Overall", "value": attempt["overall"] or 0, "overall": True})
        rows.append({**attempt, "bars": bars})
    return rows


def _category_bars(suite: AuditJob | None) -> list[dict]:
    if suite is None or not suite.category_rates:
        return []
    order = {name: i for i, name in enumerate(CATEGORIES)}
    bars = []
    for name, bucket in sorted(suite.category_rates.items(), key=lambda kv: order.get(kv[0], len(order))):
        rate = bucket.get("pass_rate")
        bars.append({"name": name, "label": name.replace("_", " "), "rate": rate, "percent": round((rate or 0) * 100),
                     "passed": bucket["passed"], "failed": bucket["failed"], "errors": bucket["errors"]})
    return bars


def _tests_context(request, persona) -> dict:
    suite, fingerprint = latest_provocation_run(persona), latest_fingerprint(persona)
    ready = fingerprint is not None and fingerprint.status == Fingerprint.Status.READY
    return {
        "persona": persona, "version": persona.current_version, "attempts": _attempt_rows(persona),
        "fingerprint": fingerprint, "suite": suite, "category_bars": _category_bars(suite),
        "drift_bound": fingerprint_drift_bound(fingerprint, effective_tree(persona.organization, persona.workspace)) if ready else None,
        "results": list(suite.results.all()) if suite else [], "suite_runs": provocation_runs(persona, limit=10),
        "can_start": request.principal.has_scope("personas:write"),
    }


@org_page
@require_GET
def persona_tests(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    context = {
        **_tests_context(request, persona),
        "jobs": [job.progress_payload() for job in active_jobs(persona)],
        "eval_runs": _eval_runs(persona),
        "drift_alerts": _drift_alerts(persona, request.principal),
    }
    return render(request, "audits/tests.html", context)


@org_page
@require_GET
def persona_tests_results(request, persona_id):
    """The fingerprint and provocation cards, out of band: what a finished job's progress bar loads, so a recompute
    shows its results without a reload."""
    persona = access_persona(request.principal.organization, persona_id)
    return render(request, "audits/partials/results.html", {**_tests_context(request, persona), "oob": True})


EVAL_LAYERS = ("floor", "protocol", "persona", "closure")


def _eval_runs(persona, limit: int = 12) -> list[dict]:
    """Eval-suite runs, newest first, with each layer's rate against its threshold (for the trend table)."""
    from audits.evals.models import EvalRun
    from audits.evals.views import percent

    rows = []
    for run in EvalRun.objects.filter(persona=persona).select_related("version")[:limit]:
        results = run.results or {}
        rows.append({"run": run, "layers": [_layer_cell(results.get(layer), percent) for layer in EVAL_LAYERS]})
    return rows


def _layer_cell(result: dict | None, percent) -> dict | None:
    """A layer's result with its gate state (older runs: from met) and its rate in % never rounded up to 100."""
    if not result or result.get("rate") is None:
        return None
    return {**result, "state": result.get("state") or ("pass" if result.get("met") else "fail"), "pct": percent(result["rate"])}


def _drift_alerts(persona, principal, limit: int = 20) -> dict:
    """Replies flagged or withheld for drift in this persona's chats. Chats are private: the text is
    shown for the viewer's own sessions, only the score and time for other people's."""
    from audits.chat.models import ChatMessage, ChatSession

    alerts = ChatMessage.objects.filter(session__persona=persona, role=ChatMessage.Role.ASSISTANT).filter(
        Q(flagged=True) | Q(blocked=True)
    ).select_related("session").order_by("-created_at")
    own = set(ChatSession.objects.of_principal(principal).filter(persona=persona).values_list("pk", flat=True))
    return {
        "count": alerts.count(),
        "rows": [{"message": m, "own": m.session_id in own} for m in alerts[:limit]],
    }


def _start(request, persona_id, kind: str):
    persona = access_persona(request.principal.organization, persona_id)
    request.principal.require_scope("personas:write")
    try:
        job = audit_job_start(persona=persona, kind=kind, user=request.user)
    except StudioError as exc:
        if not request.htmx:
            messages.error(request, exc.message)
            return redirect("persona_tests", request.principal.organization.slug, persona.public_id)
        return render(request, "audits/partials/job_error.html", {"message": exc.message}, status=exc.status_code)
    if not request.htmx:
        return redirect("persona_tests", request.principal.organization.slug, persona.public_id)
    return render(request, "audits/partials/job.html", {"job": job.progress_payload()}, status=202)


@org_page
@require_POST
def persona_tests_provocations(request, persona_id):
    return _start(request, persona_id, AuditJob.Kind.PROVOCATIONS)


@org_page
@require_POST
def persona_tests_fingerprint(request, persona_id):
    return _start(request, persona_id, AuditJob.Kind.FINGERPRINT)


@org_page
@require_GET
def audit_job(request, job_id):
    """One job's progress bar: what htmx polls when the WebSocket is not connected."""
    job = access_audit_job(request.principal.organization, job_id)
    return render(request, "audits/partials/job.html", {"job": job.progress_payload()})
