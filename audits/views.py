"""The persona's Tests page: audit attempts, the voice fingerprint, provocation results, live job progress."""

from django.contrib import messages
from django.db.models import Q
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from audits.attack_runs import attack_run_start
from audits.attack_stats import rate_chart
from audits.chat.services import fingerprint_drift_bound
from audits.models import AuditJob, Fingerprint
from audits.provocations import CATEGORIES
from audits.selectors import (
    CRITERIA_LABELS,
    access_attack_run,
    access_audit_job,
    active_jobs,
    attack_runs,
    audit_attempts,
    latest_attack_run,
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
        "attack_run": attack_view(latest_attack_run(persona)),
        "checkpoint_attack_runs": [attack_view(run) for run in _latest_per_training_job(persona)],
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


def _start(request, persona_id, start):
    """Start one of the persona's audit jobs (`start(persona)` → the job): its progress card, or the error in its place."""
    persona = access_persona(request.principal.organization, persona_id)
    request.principal.require_scope("personas:write")
    try:
        job = start(persona)
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
    return _start(request, persona_id, lambda persona: audit_job_start(persona=persona, kind=AuditJob.Kind.PROVOCATIONS, user=request.user))


@org_page
@require_POST
def persona_tests_fingerprint(request, persona_id):
    return _start(request, persona_id, lambda persona: audit_job_start(persona=persona, kind=AuditJob.Kind.FINGERPRINT, user=request.user))


@org_page
@require_GET
def audit_job(request, job_id):
    """One job's progress bar: what htmx polls when the WebSocket is not connected."""
    job = access_audit_job(request.principal.organization, job_id)
    return render(request, "audits/partials/job.html", {"job": job.progress_payload()})


# --- robustness attacks ----------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    """A share as a percentage, one decimal, never rounded up to 100 (as the eval pages show rates)."""
    from audits.evals.views import percent

    return "—" if value is None else f"{percent(value):g}%"


def _rate_cell(figure: dict) -> dict:
    interval = figure["interval"]
    return {**figure, "text": _pct(figure["rate"]), "interval_text": f"{_pct(interval[0])}–{_pct(interval[1])}" if interval else ""}


def _drift_cell(figure: dict, signed: bool = False) -> dict:
    def number(value):
        return f"{value:+.3f}" if signed else f"{value:.3f}"

    interval = figure["interval"]
    return {**figure, "text": "—" if figure["mean"] is None else number(figure["mean"]),
            "interval_text": f"{number(interval[0])} to {number(interval[1])}" if interval else ""}


def attack_table(summary: dict) -> list[dict]:
    """Per attack, per side: the judge's and the fingerprint's in-character rates and the mean drift, as shown (text with
    its 95 % interval); with both checkpoints, the differences tuned − base (highlighted only when clear)."""
    rows = []
    for attack in summary.get("attacks") or []:
        sides = [{"side": side, "judge": _rate_cell(f["judge"]), "fingerprint": _rate_cell(f["fingerprint"]), "drift": _drift_cell(f["drift"])}
                 for side, f in attack["sides"].items()]
        difference = attack.get("difference")
        if difference:
            judge = difference["judge"]
            difference = {
                "judge": judge and {**judge, "text": f"{judge['difference'] * 100:+.1f} pp",
                                    "interval_text": f"{judge['interval'][0] * 100:+.1f} to {judge['interval'][1] * 100:+.1f} pp"},
                "drift": _drift_cell(difference["drift"], signed=True),
            }
        rows.append({"id": attack["id"], "title": attack["title"], "kind": attack["kind"], "suffix": attack["suffix"],
                     "sides": sides, "difference": difference})
    return rows


def attack_view(run: AuditJob | None) -> dict | None:
    if run is None:
        return None
    summary = run.summary or {}
    return {"run": run, "table": attack_table(summary), "chart": rate_chart(summary), "fingerprint": summary.get("fingerprint"),
            "sides": summary.get("sides") or run.params.get("sides", [])}


def _latest_per_training_job(persona, limit: int = 3) -> list[AuditJob]:
    """The newest attack run of each of the persona's training jobs, the latest jobs first."""
    seen, runs = set(), []
    for run in attack_runs(persona, kind=AuditJob.Kind.CHECKPOINT_ATTACKS)[:50]:
        if run.params.get("training_job") not in seen:
            seen.add(run.params.get("training_job"))
            runs.append(run)
    return runs[:limit]


@org_page
@require_POST
def persona_tests_attacks(request, persona_id):
    return _start(request, persona_id, lambda persona: attack_run_start(persona=persona, user=request.user))


@org_page
@require_GET
def attack_run_page(request, job_id):
    """One attack run: the per-attack table and chart, and every reply with its verdict and drift."""
    run = access_attack_run(request.principal.organization, job_id)
    replies = list(run.attack_replies.all())
    return render(request, "audits/attack_run.html", {
        "persona": run.persona, "attacks": attack_view(run), "replies": replies,
    })
