"""Pages: the "New persona" form and the live view of a run."""

from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from personas.access import access_persona
from personas.cards import MAX_FILE_BYTES
from personas.views import persona_detail_context
from pipeline.access import access_run
from pipeline.models import PipelineRun, StepRun
from pipeline.prompts import STEPS
from pipeline.services import MAX_BRIEF, persona_fork, persona_generate, persona_import
from studio.errors import Invalid, StudioError
from studio.views import org_page
from studio.work.events import last_event_seq

STEP_LABELS = {
    "intent_parse": "Parse intent", "soul_draft": "Draft the soul", "self_enrich": "Enrich the self",
    "mask_build": "Build the mask", "surface_ground": "Ground the surface", "audit": "Audit",
}


def run_panel_context(run: PipelineRun) -> dict:
    """Each step's latest record, the progress through the current audit round, and the latest audit."""
    records = list(run.steps.all())
    latest = {}
    for record in records:
        latest[record.step] = record
    current_round = max((r.attempt for r in records), default=1)
    rows, done = [], 0
    for step in STEPS:
        record = latest.get(step)
        state = record.status if record else "pending"
        if record and step != "intent_parse" and record.attempt < current_round and state == StepRun.Status.COMPLETED:
            state = "pending"  # redone in this audit round
        done += state == StepRun.Status.COMPLETED
        rows.append({"step": step, "label": STEP_LABELS[step], "state": state, "record": record})
    audits = [r for r in records if r.step == "audit" and r.status == StepRun.Status.COMPLETED]
    audit = audits[-1].output if audits else None
    progress = 100 if run.is_finished else round(100 * done / len(STEPS))
    return {
        "run": run, "rows": rows, "progress": progress, "audit": audit, "current_round": current_round,
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
