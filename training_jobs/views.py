"""Pages: training jobs (list, the Launch Training Job form with its pre-flight, the live job page,
artifact downloads, cancel and resume, chat with the trained model and its download) and a persona's
constitution (versions, concreteness, edit, derive)."""

import json
from itertools import islice
from pathlib import Path

from django.contrib import messages
from django.db.models import Count
from django.http import FileResponse, Http404
from studio.work.events import last_event_seq
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pydantic import ValidationError

from audits.chat.services import CHAT_SCOPES, SafeWordSaid
from audits.models import Fingerprint
from personas.access import access_persona
from personas.models import Persona, PersonaStatus
from studio.config.selectors import effective_tree
from studio.errors import Conflict, Invalid, NotFound, StudioError
from studio.views import org_page
from training_jobs import display
from training_jobs.access import access_training_job
from training_jobs.checkpoint import has_checkpoint, job_checkpoint
from training_jobs.evaluation import CHECKPOINT_REPETITION_PENALTY
from training_jobs.export import model_export_response
from audits.chat.services import persona_drift_bound
from studio.llm.local_models import LOCAL_CHAT_MODEL
from training_jobs.constitution import (
    Constitution,
    concreteness_report,
    constitution_from_form,
    constitution_from_layers,
    field_errors,
    markers,
    parse_constitution,
    trait_rows,
)
from training_jobs.job_kinds import DEFAULT_KIND, all_kinds, kind_for, kind_named
from training_jobs.launch_form import CHECKPOINT_SUGGESTIONS, SECTIONS, FieldErrors, field_label, form_data, form_values
from training_jobs.models import ENDED, JobStatus, StageRun, TrainingJob
from training_jobs.params import STAGE_LABELS
from training_jobs.compare import COMPARE_MAX, compare_charts
from training_jobs.display import SERIES_COLOURS
from training_jobs.presets import PRESET_LABELS
from training_jobs.services import (
    Preflight,
    access_constitution,
    concreteness,
    constitution_derive,
    constitution_latest,
    constitution_save,
    launch_defaults,
    org_month_to_date,
    preset_form_values,
    resumable_stages,
    stage_labels,
    training_job_cancel,
    training_job_preflight,
    training_job_resume,
)
from training_jobs.tuned_chat import access_tuned_chat, latest_tuned_chat, reply_label, tuned_chat_send

PREVIEW_PAIRS, PREVIEW_REFLECTIONS, PREVIEW_INTERACTIONS = 3, 3, 2
ARTIFACT_FILES_SHOWN = 25
END_EVENTS = ("job.succeeded", "job.failed", "job.cancelled", "job.killed")
EVAL_REVIEW_NOTE = {True: " · its pairs go to the persona's reviewers", False: " · judged only, nobody is asked to review"}
SIDE_BY_SIDE = 5  # held-out prompts shown with the base and tuned replies
SAMPLE_ROWS_READ = 20_000  # eval rows read to find them (a unified eval: checkpoints × repeats × cases)


def _org_for_reading(request):
    request.principal.require_scope("training:read")
    return request.principal.organization


# --- the list ----------------------------------------------------------------------------------


def job_state(job: TrainingJob) -> str:
    """queued / running / succeeded / failed / cancelled / killed: what the status badge says."""
    return job.status if job.status in ENDED or job.status == JobStatus.QUEUED else "running"


def job_progress(job: TrainingJob, stages: list[StageRun]) -> int:
    planned = [s for s in stages if s.status != StageRun.Status.SKIPPED]
    if job.status == JobStatus.SUCCEEDED or not planned:
        return 100 if job.status == JobStatus.SUCCEEDED else 0
    return round(sum(s.percent for s in planned) / len(planned))


@org_page
@require_GET
def training_job_list(request):
    org = _org_for_reading(request)
    jobs = TrainingJob.objects.filter(organization=org).select_related("persona").prefetch_related("stages")[:200]
    rows = []
    for job in jobs:
        stages = list(job.stages.all())
        rows.append({"job": job, "state": job_state(job), "progress": job_progress(job, stages),
                     "stage": stage_labels(job).get(job.status, "")})
    return render(request, "training/list.html", {
        "rows": rows, "month_to_date": org_month_to_date(org), "can_launch": request.principal.has_scope("training:write"),
        "kinds": all_kinds(), "default_kind": DEFAULT_KIND,
    })


# --- the Launch Training Job form --------------------------------------------------------------


def _ready_personas(org) -> list[Persona]:
    return list(Persona.objects.filter(organization=org, status__in=(PersonaStatus.READY, PersonaStatus.FLAGGED))
                .exclude(current_version=None).order_by("name", "created_at"))


def character_page_preflight(principal, data: dict) -> Preflight:
    try:
        return training_job_preflight(principal=principal, data=data)
    except StudioError as exc:  # another org's persona is NotFound, as everywhere
        return Preflight(None, errors=[{"field": exc.field or "persona_id", "message": exc.message}])


def preflight_context(report: Preflight) -> dict:
    summary = report.as_dict()
    labelled = lambda issues: [{**i, "label": field_label(i["field"])} for i in issues]  # noqa: E731
    return {"preflight": {
        **summary, "errors": labelled(report.errors), "warnings": labelled(report.warnings),
        "stage_labels": [STAGE_LABELS[s] + (EVAL_REVIEW_NOTE[summary["review_eval_pairs"]] if s == "eval" else "")
                         for s in summary["stages"]],
    }}


def character_form_context(request, data: dict, report: Preflight, *, show_field_errors: bool = False) -> dict:
    org = request.principal.organization
    personas = _ready_personas(org)
    values = form_values(data)
    persona = next((p for p in personas if str(p.public_id) == str(values["persona_id"])), None)
    versions = list(persona.constitutions.values_list("number", flat=True)) if persona else []
    if values["constitution_version"] not in ("", None) and str(values["constitution_version"]) not in map(str, versions):
        values["constitution_version"] = ""
    edited = preset_edited(values)
    if edited:
        values["preset"] = "custom"
    choices = {
        "persona_id": [("", "Choose a persona…")]
                      + [(str(p.public_id), p.display_name + (" (flagged)" if p.status == PersonaStatus.FLAGGED else ""))
                         for p in personas],
        "preset": [(name, "Custom (edited)" if name == "custom" and edited else label) for name, label in PRESET_LABELS.items()],
        "constitution_version": [("newest", "Newest" + (f" (v{versions[0]})" if versions else " (derived on launch)"))]
                                + [(str(n), f"v{n}") for n in versions],
    }
    errors = FieldErrors.of(report.errors) if show_field_errors else FieldErrors()
    sections = []
    for section in SECTIONS:
        rows = []
        for spec in section.fields:
            value = values[spec.name]
            current = "newest" if spec.name == "constitution_version" and value in ("", None) else str(value)
            rows.append({"spec": spec, "value": value, "current": current, "errors": errors.by_field.get(spec.name, []),
                         "choices": choices.get(spec.name, spec.choices), "checked": value is True or value == "on"})
        sections.append({"section": section, "rows": rows, "open": any(r["checked"] or r["errors"] for r in rows)})
    return {
        "sections": sections, "general_errors": errors.general if show_field_errors else [], "persona": persona,
        "personas": personas, "can_launch": request.principal.has_scope("training:write"),
        "model_suggestions": _model_suggestions(org), "checkpoint_suggestions": CHECKPOINT_SUGGESTIONS,
        "preset_fields": PRESET_FIELDS, **preflight_context(report),
    }


DEFAULT_PRESET = "quick"  # a first job should take minutes, not the paper's 33,000 calls
PRESET_FIELDS = frozenset(preset_form_values("paper"))  # the fields a preset fills: editing one makes the preset Custom


def preset_edited(values: dict) -> bool:
    """Whether the values differ from their preset's (the select then says "Custom (edited)")."""
    name = values.get("preset")
    if name not in PRESET_LABELS or name == "custom":
        return False
    return any(not _same(values.get(key), value) for key, value in preset_form_values(name).items())


def _same(given, value) -> bool:
    try:
        return float(given) == float(value)
    except (TypeError, ValueError):
        return str(given) == str(value)


def _model_suggestions(org) -> list[str]:
    defaults = launch_defaults(organization=org)
    return list(dict.fromkeys(["offline/teacher", LOCAL_CHAT_MODEL, "offline/student", defaults["teacher_model"],
                               defaults["student_model"]]))


def character_launch_start(request) -> tuple[dict, Preflight]:
    """A new character form: the config tree's defaults with the Quick iteration preset's sizes, for the persona asked
    for (?persona=); otherwise the member picks one (no persona is chosen for them)."""
    org = request.principal.organization
    persona = access_persona(org, request.GET["persona"]) if request.GET.get("persona") else None
    data = launch_defaults(organization=org, workspace=persona.workspace if persona else None)
    data.update(preset_form_values(DEFAULT_PRESET), preset=DEFAULT_PRESET)
    data["persona_id"] = str(persona.public_id) if persona else ""
    data["constitution_version"] = None
    return data, character_page_preflight(request.principal, data) if persona else Preflight(None)


@org_page
@require_http_methods(["GET", "POST"])
def training_job_new(request, kind: str = DEFAULT_KIND):
    """The launch page of any kind of job: its form, with the pre-flight beside it; a post launches the job."""
    org = _org_for_reading(request)
    page = kind_named(kind).launch_page
    if request.method == "POST":
        data = page.form_data(request.POST)
        if page.edit(request, data):  # a form edit without JavaScript (a curriculum phase added…): nothing launched
            return render(request, "training/launch.html", _launch_page(kind, request, data, page.preflight(request.principal, data)))
        request.principal.require_scope("training:write")
        report = page.preflight(request.principal, data)
        if page.ok(report):
            try:
                job = kind_named(kind).launch(principal=request.principal, data=data)
            except StudioError as exc:  # something changed between the pre-flight and the launch
                page.errors(report).append({"field": exc.field or "", "message": exc.message})
            else:
                return redirect("training_job_detail", org.slug, job.public_id)
        context = _launch_page(kind, request, data, report, show_field_errors=True)
        return render(request, "training/launch.html", context, status=422)
    request.principal.require_scope("training:write")  # no launch form for a role that cannot launch
    data, report = page.start(request)
    return render(request, "training/launch.html", _launch_page(kind, request, data, report))


def _launch_page(kind: str, request, data: dict, report, *, show_field_errors: bool = False) -> dict:
    page = kind_named(kind).launch_page
    return {**page.context(request, data, report, show_field_errors=show_field_errors), "launch": page, "kind": kind,
            "kinds": all_kinds()}


@org_page
@require_POST
def training_job_form_fields(request):
    """The form's fields again for what it holds now: a preset fills its values (Custom keeps them), another
    persona brings its constitution versions. The pre-flight comes along out of band."""
    _org_for_reading(request)
    data = form_data(request.POST)
    if request.htmx.trigger_name == "preset":
        try:
            data.update(preset_form_values(data.get("preset", "custom")))
        except Invalid:
            data["preset"] = "custom"
    if request.htmx.trigger_name == "persona_id":
        data["constitution_version"] = None
    report = character_page_preflight(request.principal, data)
    return render(request, "training/partials/launch_fields.html", {**character_form_context(request, data, report), "oob": True})


@org_page
@require_POST
def training_job_preflight_panel(request):
    _org_for_reading(request)
    report = character_page_preflight(request.principal, form_data(request.POST))
    return render(request, "training/partials/preflight.html", preflight_context(report))


# --- the job page ------------------------------------------------------------------------------


def _safe_path(job: TrainingJob, rel: str) -> Path | None:
    """`rel` under the job's artifact folder, or None when it points anywhere else."""
    root = job.artifacts_dir.resolve()
    if not rel or "\x00" in rel:
        return None
    path = (root / rel).resolve()
    return path if path.is_relative_to(root) and path != root else None


def _read_json(job, rel, limit: int):
    path = _safe_path(job, rel) if rel else None
    if path is None or not path.is_file():
        return []
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return rows[:limit] if isinstance(rows, list) else []


def read_jsonl_rows(job, rel, limit: int) -> list[dict]:
    path = _safe_path(job, rel) if rel else None
    if path is None or not path.is_file():
        return []
    rows = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in islice((line for line in fh if line.strip()), limit):
                rows.append(json.loads(line))
    except (OSError, ValueError):
        pass
    return rows


CHECKPOINT_CHARTS = {("dpo_train", "dpo"), ("sft", "sft")}  # the stages whose checkpoints are evaluated, by what they train


def character_charts(stages: dict[str, StageRun]) -> list[dict]:
    """Loss and reward-accuracy curves of each stage of a character job that trained (smoke, DPO, SFT)."""
    charts = []
    for stage in ("smoke", "dpo_train", "sft"):
        run = stages.get(stage)
        if run is None:
            continue
        for kind, label in (("dpo", "DPO"), ("sft", "SFT")):
            history = (run.stats or {}).get(f"{kind}_history") or []
            title = f"{STAGE_LABELS[stage]}" + (f" · {label}" if stage == "smoke" else "")
            pair = [display.line_chart("loss", history, "loss")]
            if kind == "dpo":
                pair.append(display.line_chart("reward accuracy", history, "rewards/accuracies", fixed=(0.0, 1.0), reference=0.5))
            pair = [c for c in pair if c]
            stats = run.stats or {}
            checkpoint = display.checkpoint_chart(history, stats.get("checkpoint_evals") or [], planned_steps=stats.get("planned_steps") or run.total,
                                                  early_stop=stats.get("early_stop")) if (stage, kind) in CHECKPOINT_CHARTS else None
            if pair or checkpoint:
                charts.append({"title": title, "stage": stage, "kind": kind, "charts": pair, "steps": len(history),
                               "checkpoint": checkpoint, "early_stop": stats.get("early_stop")})
    return charts


def _artifact_rows(job: TrainingJob, stages: list[StageRun]) -> list[dict]:
    rows = []
    root = job.artifacts_dir.resolve()
    labels = stage_labels(job)
    kind = kind_for(job)
    for run in stages:
        for key, rel in (run.artifacts or {}).items():
            path = _safe_path(job, rel)
            if path is None or not path.exists():
                continue
            name = kind.artifact_label(key)
            if path.is_file():
                rows.append({"stage": labels.get(run.stage, run.stage), "name": name, "files": [(rel, path.stat().st_size)]})
                continue
            files = [(p, p.stat().st_size) for p in sorted(path.rglob("*")) if p.is_file()]
            rows.append({"stage": labels.get(run.stage, run.stage), "name": name, "folder": rel, "count": len(files),
                         "size": sum(size for _, size in files),
                         "files": [(str(p.relative_to(root)), size) for p, size in files[:ARTIFACT_FILES_SHOWN]],
                         "more": max(0, len(files) - ARTIFACT_FILES_SHOWN)})
    return rows


def job_panel_context(job: TrainingJob, *, can_write: bool = False) -> dict:
    """What the live panel shows: progress, stage timeline, filters, curves, cost, kill reason, actions."""
    stages = list(job.stages.all())
    by_stage = {s.stage: s for s in stages}
    labels = stage_labels(job)
    limit = (job.params or {}).get("max_drop_rate")
    filters = [{"stage": labels.get(s.stage, s.stage), "rows": rows} for s in stages
               if (rows := display.filter_rows(s.stats, limit))]
    budget = float(job.budget_usd) if job.budget_usd is not None else None
    cost = float(job.cost_usd)
    kind = kind_for(job)
    return {
        "job": job, "state": job_state(job), "progress": job_progress(job, stages), "can_write": can_write,
        "stages": [{"run": s, "label": labels.get(s.stage, s.stage)} for s in stages], "filters": filters,
        "drop_limit": limit, "cost": cost, "budget": budget,
        "budget_percent": min(100, round(100 * cost / budget)) if budget else None,
        "estimate": job.estimate or {}, "resumable": [(s, labels.get(s, s)) for s in resumable_stages(job)] if can_write else [],
        "problem": (job.kill or {}).get("message") or job.error,
        "tokens": job.prompt_tokens + job.completion_tokens,
        "panel_template": kind.panel_template, "estimate_template": kind.estimate_template,
        **kind.panel(job, by_stage),
    }


def job_results_context(job: TrainingJob) -> dict:
    """What changes only when a stage ends: data previews, generator choice, evaluation, artifacts."""
    stages = list(job.stages.all())
    by_stage = {s.stage: s for s in stages}
    kind = kind_for(job)
    return {"job": job, "outcome": display.outcome_view(job.outcome_detail) if job.outcome else None,
            "artifacts": _artifact_rows(job, stages), "eval_unit": kind.eval_unit, **kind.results(job, by_stage)}


def character_results(job: TrainingJob, by_stage: dict[str, StageRun]) -> dict:
    """A character job's results: DPO pairs, introspection, the generator, the evaluation's tables and samples."""
    dpo = (by_stage.get("dpo_data").artifacts or {}) if "dpo_data" in by_stage else {}
    intro = by_stage.get("introspection")
    intro_artifacts = (intro.artifacts or {}) if intro else {}
    evaluation = by_stage.get("eval")
    summary = (evaluation.stats or {}).get("eval") if evaluation else None
    # the outcome and the trait profiles have their own blocks
    shown = {k: v for k, v in (summary or {}).items() if k not in ("outcome", "trait_profiles")}
    facts, tables = display.eval_tables(shown)
    eval_artifacts = (evaluation.artifacts or {}) if evaluation else {}
    return {
        "samples": display.character_samples(read_jsonl_rows(job, eval_artifacts.get("samples"), SAMPLE_ROWS_READ), SIDE_BY_SIDE),
        "pairs": _read_json(job, dpo.get("preview"), PREVIEW_PAIRS),
        "reflections": read_jsonl_rows(job, intro_artifacts.get("reflections"), PREVIEW_REFLECTIONS),
        "interactions": read_jsonl_rows(job, intro_artifacts.get("interactions"), PREVIEW_INTERACTIONS),
        "generator": (intro.stats or {}).get("generator") if intro else None,
        "eval_facts": facts, "eval_tables": tables, "model_ready": has_checkpoint(job),
        "trait_profiles": (summary or {}).get("trait_profiles"),
    }


@org_page
@require_GET
def training_job_compare(request):
    """Two or more jobs' curves laid over each other (?jobs=<id>,<id>… or repeated), with a picker of recent jobs."""
    org = _org_for_reading(request)
    wanted = list(dict.fromkeys(i.strip() for raw in request.GET.getlist("jobs") for i in raw.split(",") if i.strip()))
    if len(wanted) > COMPARE_MAX:
        raise Invalid(f"compare at most {COMPARE_MAX} jobs at once", field="jobs")
    jobs = [access_training_job(org, job_id) for job_id in wanted]
    legend = [{"job": job, "colour": SERIES_COLOURS[i % len(SERIES_COLOURS)]} for i, job in enumerate(jobs)]
    return render(request, "training/compare.html", {
        "jobs": jobs, "legend": legend, "charts": compare_charts(jobs) if len(jobs) >= 2 else [],
        "recent": TrainingJob.objects.filter(organization=org).order_by("-created_at")[:50], "chosen": {str(j.public_id) for j in jobs},
        "compare_max": COMPARE_MAX,
    })


@org_page
@require_GET
def training_job_detail(request, training_job_id):
    job = access_training_job(_org_for_reading(request), training_job_id)
    after = last_event_seq(job)  # read before the panel: anything newer is sent when the socket opens
    can_write = request.principal.has_scope("training:write")
    kind = kind_for(job)
    return render(request, "training/job.html", {
        **job_panel_context(job, can_write=can_write), **job_results_context(job), "after": after,
        "constitution": job.constitution, "params": job.params, "datasets": kind.datasets(job), "meta_template": kind.meta_template,
    })


def _after_action(request, job: TrainingJob, error: StudioError | None = None):
    """htmx: the panel again (with the error, if any); a plain form post: back to the job page."""
    if request.htmx:
        job = access_training_job(request.principal.organization, job.public_id)
        context = {**job_panel_context(job, can_write=True), "action_error": error.message if error else ""}
        return render(request, "training/partials/job_panel.html", context, status=error.status_code if error else 200)
    if error:
        messages.error(request, error.message)
    return redirect("training_job_detail", request.principal.organization.slug, job.public_id)


@org_page
@require_POST
def training_job_cancel_view(request, training_job_id):
    job = access_training_job(_org_for_reading(request), training_job_id)
    request.principal.require_scope("training:write")
    try:
        training_job_cancel(principal=request.principal, job=job)
    except StudioError as exc:
        return _after_action(request, job, exc)
    return _after_action(request, job)


@org_page
@require_POST
def training_job_resume_view(request, training_job_id):
    job = access_training_job(_org_for_reading(request), training_job_id)
    request.principal.require_scope("training:write")
    try:
        training_job_resume(principal=request.principal, job=job, stage=request.POST.get("stage", ""))
    except StudioError as exc:
        return _after_action(request, job, exc)
    return _after_action(request, job)


@org_page
@require_GET
def training_job_artifact(request, training_job_id, path):
    """A file the job wrote. Anything outside its artifact folder is a 404, like a file that is not there."""
    job = access_training_job(_org_for_reading(request), training_job_id)
    if ".." in Path(path).parts:
        raise Http404("artifact not found")
    target = _safe_path(job, path)
    if target is None or not target.is_file():
        raise Http404("artifact not found")
    return FileResponse(open(target, "rb"), as_attachment=True, filename=target.name)


# --- the trained model: chat with it, take it away ----------------------------------------------


def _chat_for_page(request, job: TrainingJob):
    """The chat ?session= names, none with ?new, else the principal's latest chat with this job (a reload shows it)."""
    principal = request.principal
    if session_id := request.GET.get("session"):
        try:
            chat = access_tuned_chat(principal, session_id)
        except NotFound:
            return None  # a stale link starts a new chat
        return chat if chat.job_id == job.pk else None
    return None if request.GET.get("new") else latest_tuned_chat(principal, job)


def _chat_labels(job: TrainingJob, checkpoint: str) -> dict:
    return {"tuned_label": reply_label(job, checkpoint), "base_label": reply_label(job, "base")}


@org_page
@require_GET
def training_job_chat(request, training_job_id):
    job = access_training_job(_org_for_reading(request), training_job_id)
    chat = _chat_for_page(request, job)
    try:
        checkpoint, problem = job_checkpoint(job), ""
    except Conflict as exc:
        checkpoint, problem = None, exc.message
    tree = effective_tree(job.organization, job.workspace)
    return render(request, "training/chat.html", {
        "job": job, "chat": chat, "turns": chat.turns.order_by("id") if chat else [], "checkpoint": checkpoint,
        "problem": problem, "can_chat": any(request.principal.has_scope(s) for s in CHAT_SCOPES),
        "fingerprint_ready": bool(job.persona and Fingerprint.objects.latest_for(job.persona)),
        "threshold": persona_drift_bound(job.persona, tree).value if job.persona else
                     float(tree["engine.pipeline.drift_detection.threshold"]),
        "params": job.params or {}, "repetition_penalty": CHECKPOINT_REPETITION_PENALTY,
        **_chat_labels(job, chat.checkpoint if chat else checkpoint.stage if checkpoint else "dpo_train"),
    })


@org_page
@require_POST
def training_job_chat_send(request, training_job_id):
    principal = request.principal
    job = access_training_job(_org_for_reading(request), training_job_id)
    try:
        turn = tuned_chat_send(principal=principal, job=job, message=request.POST.get("message", ""),
                               compare_base=request.POST.get("compare_base") == "on", session_id=request.POST.get("session_id") or None)
    except SafeWordSaid as exc:
        response = render(request, "safety/lockout.html", {"lockout": exc.lockout, "lockout_org": principal.organization}, status=423)
        response["HX-Redirect"] = reverse("lockout_summary", args=[principal.organization.slug])
        return response
    except StudioError as exc:
        return render(request, "chat/partials/chat_error.html", {"error": exc}, status=exc.status_code)
    response = render(request, "training/partials/chat_turn.html", {
        "job": job, "chat": turn.chat, "turn": turn.record, "oob": True, **_chat_labels(job, turn.chat.checkpoint)})
    response["HX-Push-Url"] = reverse("training_job_chat", args=[principal.organization.slug, job.public_id]) + f"?session={turn.chat.public_id}"
    return response


@org_page
@require_GET
def training_job_model(request, training_job_id):
    """The trained model as a zip: ?format=merged (the default) or adapter, each with its model card."""
    job = access_training_job(_org_for_reading(request), training_job_id)
    return model_export_response(job=job, export_format=request.GET.get("format", "merged"))


# --- constitutions -----------------------------------------------------------------------------


def _constitution_context(request, persona, version_number=None, **extra) -> dict:
    version = access_constitution(persona, version_number) if version_number else constitution_latest(persona)
    if version is not None:
        document, findings = version.document, concreteness(version)
    elif persona.current_version is not None:  # nothing saved yet: what deriving would give
        constitution = constitution_from_layers(persona.layers)
        document = constitution.model_dump()
        findings = [{"level": f.level, "code": f.code, "message": f.message, "field": f.field}
                    for f in concreteness_report(constitution)]
    else:
        document, findings = None, []
    return {
        "persona": persona, "version": version, "document": document, "findings": findings,
        "markers": markers(Constitution.model_validate(document)) if document else [],
        "versions": list(persona.constitutions.annotate(job_count=Count("jobs"))[:50]),
        "can_edit": request.principal.has_scope("training:write"),
        "edit_text": json.dumps(document, indent=2, ensure_ascii=False) if document else "", "note": "",
        "edit_name": document["persona_name"] if document else "", "edit_traits": trait_rows(document or {}),
        **extra,
    }


def _version_number(request) -> int | None:
    raw = request.GET.get("version", "")
    return int(raw) if raw.isdigit() else None


@org_page
@require_http_methods(["GET", "POST"])
def persona_constitution(request, persona_id):
    persona = access_persona(_org_for_reading(request), persona_id)
    if request.method == "GET":
        return render(request, "training/constitution.html", _constitution_context(request, persona, _version_number(request)))
    request.principal.require_scope("training:write")
    if "trait" in request.POST or "persona_name" in request.POST:
        return _constitution_save_form(request, persona)
    text, note = request.POST.get("document", ""), request.POST.get("note", "")  # the JSON form of the API's clients
    try:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(f"not valid JSON ({exc.msg}, line {exc.lineno})", field="document") from None
        version = constitution_save(persona=persona, data=data, user=request.user, note=note or "edited on the constitution page")
    except StudioError as exc:
        context = _constitution_context(request, persona, edit_text=text, note=note, edit_error=exc)
        return render(request, "training/constitution.html", context, status=exc.status_code)
    messages.success(request, f"Saved as constitution v{version.number}.")
    return redirect("persona_constitution", request.principal.organization.slug, persona.public_id)


def _constitution_save_form(request, persona):
    """The structured editor: traits with their statements (markers quoted in them) and questions, in order; every
    problem beside its trait (422), what was typed kept."""
    document, note = constitution_from_form(request.POST), request.POST.get("note", "")
    try:
        parse_constitution(document)
        errors = {}
    except ValidationError as exc:
        errors = {error["field"]: error["message"] for error in reversed(field_errors(exc))}
    try:
        if errors:
            first = next(iter(sorted(errors)))
            raise Invalid(f"{len(errors)} field{'s' if len(errors) > 1 else ''} to fix, first {first}: {errors[first]}", field=first)
        version = constitution_save(persona=persona, data=document, user=request.user, note=note or "edited on the constitution page")
    except StudioError as exc:
        context = _constitution_context(request, persona, note=note, edit_error=exc, edit_name=document["persona_name"],
                                        edit_traits=trait_rows(document, errors), name_error=errors.get("persona_name", ""))
        return render(request, "training/constitution.html", context, status=exc.status_code)
    messages.success(request, f"Saved as constitution v{version.number}.")
    return redirect("persona_constitution", request.principal.organization.slug, persona.public_id)


@org_page
@require_POST
def persona_constitution_derive(request, persona_id):
    persona = access_persona(_org_for_reading(request), persona_id)
    request.principal.require_scope("training:write")
    try:
        version = constitution_derive(persona=persona, user=request.user)
        messages.success(request, f"Derived again from the layers as constitution v{version.number}.")
    except StudioError as exc:
        messages.error(request, exc.message)
    return redirect("persona_constitution", request.principal.organization.slug, persona.public_id)
