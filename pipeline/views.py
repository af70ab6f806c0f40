"""Pages: the "New persona" form and the live view of a run."""

from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from personas.access import access_persona
from personas.cards import MAX_FILE_BYTES
from personas.views import persona_detail_context
from pipeline.access import access_run
from pipeline.models import AUDIT_ONLY, PipelineRun, StepRun
from pipeline.prompts import STEPS
from pipeline.services import MAX_BRIEF, persona_fork, persona_generate, persona_import, version_audit_start
from studio.errors import Invalid, StudioError
from studio.views import org_page
from studio.work.events import last_event_seq

STEP_LABELS = {
    "intent_parse": "Parse intent", "soul_draft": "Draft the soul", "self_enrich": "Enrich the self",
    "mask_build": "Build the mask", "surface_ground": "Ground the surface", "audit": "Audit",
}


FIRST_ROUND_SHARE = 0.8  # of the progress bar, when the audit may send the layers back for more rounds


def run_rounds(run: PipelineRun, records: list[StepRun]) -> list[dict]:
    """The run as audit rounds: round 1 is intent + the four layers + the audit, each later round redoes the layers and
    the audit. Each row keeps its own round's record (a later round never hides an earlier one's durations)."""
    by_round: dict[tuple[str, int], StepRun] = {}
    for record in records:  # in id order: a step redone after a worker died keeps its latest record
        by_round[(record.step, record.attempt)] = record
    if run.mode == AUDIT_ONLY:
        plan = [(1, ["audit"])]
    else:
        last = max([r.attempt for r in records if r.step != "intent_parse"] + [1])
        plan = [(n, list(STEPS) if n == 1 else list(STEPS[1:])) for n in range(1, last + 1)]
    rounds = []
    for number, steps in plan:
        rows = []
        for step in steps:
            record = by_round.get((step, number))
            rows.append({"step": step, "label": STEP_LABELS[step], "state": record.status if record else "pending", "record": record})
        audit = by_round.get(("audit", number))
        rounds.append({"number": number, "rows": rows, "audit": audit.output if audit and audit.status == StepRun.Status.COMPLETED else None})
    newest = {row["step"]: round_["number"] for round_ in rounds for row in round_["rows"]}
    for round_ in rounds:  # each step's newest row carries its test id (what the live view follows)
        for row in round_["rows"]:
            row["newest"] = newest[row["step"]] == round_["number"]
    return rounds


def run_progress(run: PipelineRun, rounds: list[dict]) -> int:
    """Percent done that never goes backwards: round 1 fills FIRST_ROUND_SHARE of the bar (all of it when no retry is
    allowed), each retry an equal part of the rest; within a round, its share of completed steps."""
    if run.is_finished:
        return 100
    retries = 0 if run.mode == AUDIT_ONLY else int(run.step_config.get("_audit", {}).get("max_retries", 0))
    first = 1.0 if retries == 0 else FIRST_ROUND_SHARE
    current = rounds[-1]
    start = 0.0 if current["number"] == 1 else first + (1 - first) * (current["number"] - 2) / retries
    share = first if current["number"] == 1 else (1 - first) / retries
    done = sum(row["state"] == StepRun.Status.COMPLETED for row in current["rows"])
    return min(99, int(100 * (start + share * done / len(current["rows"]))))


def run_panel_context(run: PipelineRun) -> dict:
    """The run's audit rounds (round 1 kept above round 2 …), a progress bar that only moves forward, the latest audit."""
    records = list(run.steps.order_by("id"))
    rounds = run_rounds(run, records)
    audits = [r for r in records if r.step == "audit" and r.status == StepRun.Status.COMPLETED]
    return {
        "run": run, "rounds": rounds, "progress": run_progress(run, rounds), "audit": audits[-1].output if audits else None,
        "current_round": rounds[-1]["number"], "max_rounds": 1 + int(run.step_config.get("_audit", {}).get("max_retries", 0)),
        "min_score": run.step_config.get("_audit", {}).get("min_overall_score", 3.5),
        "persona_url": reverse("persona_detail", args=[run.organization.slug, run.persona.public_id]),
    }


@org_page
@require_http_methods(["GET", "POST"])
def persona_new(request):
    org = request.principal.organization
    context = {"workspaces": org.workspaces.all(), "max_brief": MAX_BRIEF, "brief": "", "workspace": ""}
    if request.method == "POST":
        context.update(brief=request.POST.get("brief", ""), workspace=request.POST.get("workspace", ""))
        try:
            request.principal.require_scope("personas:write")
            _, run = persona_generate(principal=request.principal, brief=context["brief"], workspace=context["workspace"] or None)
        except StudioError as exc:
            context["error"] = exc
            return render(request, "pipeline/persona_new.html", context, status=exc.status_code)
        return redirect("run_detail", org_slug=org.slug, run_id=run.public_id)
    request.principal.require_scope("personas:write")  # no form for a role that cannot send it
    return render(request, "pipeline/persona_new.html", context)


@org_page
@require_GET
def run_detail(request, run_id):
    run = access_run(request.principal.organization, run_id)
    after = last_event_seq(run)  # read before the panel: anything newer is sent when the socket opens
    return render(request, "pipeline/run.html", {**run_panel_context(run), "after": after})


@org_page
@require_http_methods(["GET", "POST"])
def persona_import_page(request):
    """"Import a character": a card file (JSON, PNG or CHARX) becomes a persona through the pipeline."""
    org = request.principal.organization
    context = {"workspaces": org.workspaces.all(), "workspace": request.POST.get("workspace", ""), "max_bytes": MAX_FILE_BYTES}
    if request.method == "GET":
        request.principal.require_scope("personas:write")  # no form for a role that cannot send it
        return render(request, "pipeline/persona_import.html", context)
    upload = request.FILES.get("file")
    try:
        request.principal.require_scope("personas:write")
        if upload is None:
            raise Invalid("choose a character card file (JSON, PNG or CHARX)", field="file")
        content = upload.read(MAX_FILE_BYTES + 1)
        if len(content) > MAX_FILE_BYTES:
            raise Invalid(f"the file is over {MAX_FILE_BYTES:,} bytes, the most a card may be", field="file")
        _, run = persona_import(principal=request.principal, content=content, file_name=upload.name or "",
                                workspace=context["workspace"] or None)
    except StudioError as exc:
        return render(request, "pipeline/persona_import.html", {**context, "error": exc}, status=exc.status_code)
    return redirect("run_detail", org_slug=org.slug, run_id=run.public_id)


@org_page
@require_POST
def persona_fork_page(request, persona_id):
    """"Fork" on the persona page: a child that differs as the note says, generated live (the run page). A refused
    note comes back in its form with the message (htmx swaps the form; without JavaScript, the whole page)."""
    org = request.principal.organization
    parent = access_persona(org, persona_id)
    note = request.POST.get("note", "")
    try:
        request.principal.require_scope("personas:write")
        _, run = persona_fork(principal=request.principal, parent=parent, note=note)
    except StudioError as exc:
        form = {"fork_error": exc, "fork_note": note}
        if request.htmx:
            return render(request, "personas/partials/fork_form.html", {"persona": parent, **form}, status=exc.status_code)
        return render(request, "personas/detail.html", persona_detail_context(parent, **form), status=exc.status_code)
    url = reverse("run_detail", args=[org.slug, run.public_id])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@org_page
@require_POST
def persona_version_audit(request, persona_id, number):
    """"Audit this version" (one click): a run that audits it; the audit card follows it (htmx), or the run page."""
    org = request.principal.organization
    persona = access_persona(org, persona_id)
    try:
        run = version_audit_start(principal=request.principal, persona=persona, number=number)
    except StudioError as exc:
        if not request.htmx:
            raise
        context = persona_detail_context(persona, audit_error=exc.message)
        return render(request, "personas/partials/audit_card.html", context, status=exc.status_code)
    if not request.htmx:
        return redirect("run_detail", org_slug=org.slug, run_id=run.public_id)
    return render(request, "personas/partials/audit_card.html", persona_detail_context(persona), status=202)
