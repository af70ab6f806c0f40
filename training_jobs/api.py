"""Training: jobs (/training-jobs: pre-flight, launch, cancel, resume, events, artifacts, chat with the trained model,
its download), cost, form defaults and presets (/training/…), and a persona's constitutions (/personas/{id}/constitution…)."""

from pathlib import Path, PurePosixPath
from uuid import UUID

from django.http import FileResponse
from ninja import Body, Query, Router, Status

from audits.chat.schemas import SafeWordOut
from audits.schemas import AttackRunIn, AttackRunOut, AttackRunStartOut
from audits.selectors import attack_runs
from audits.chat.services import SafeWordSaid
from personas.access import access_persona
from personas.models import Persona
from studio.config.selectors import access_workspace_ref
from studio.errors import Invalid, NotFound
from studio.pagination import paginated
from studio.work.sse import last_event_id, sse_response
from training_jobs import services
from training_jobs.access import access_training_job
from training_jobs.attacks import checkpoint_attacks_start
from training_jobs.job_kinds import kind_named
from training_jobs.launch_schemas import LaunchFieldsOut
from training_jobs.chat_schemas import TunedChatIn, TunedChatOut
from training_jobs.export import model_export_response
from training_jobs.models import JobStatus, Outcome, TrainingJob
from training_jobs.schemas import (
    AnyLaunchIn,
    AnyPreflightOut,
    ArtifactOut,
    ConstitutionIn,
    ConstitutionOut,
    ConstitutionSummaryOut,
    ResumeIn,
    TrainingCostOut,
    TrainingJobDetailOut,
    TrainingJobOut,
)
from training_jobs.tuned_chat import tuned_chat_send

router = Router(tags=["training"])


def _job(request, training_job_id) -> TrainingJob:
    return access_training_job(request.auth.organization, training_job_id)


def _detail(request, job: TrainingJob) -> TrainingJob:
    return _job(request, job.public_id)  # reloaded with what the output reads


# --- pre-flight and launch ---------------------------------------------------------------------


def _launch_data(payload) -> dict:
    """As JSON types (ids as strings), only what was sent: the kind's parameter defaults fill the rest."""
    return payload.model_dump(mode="json", exclude_unset=True, exclude={"kind"})


@router.post("/training-jobs/preflight", response=AnyPreflightOut, summary="Check a launch form without launching")
def preflight(request, payload: Body[AnyLaunchIn]):
    """200 with errors (it cannot run) and warnings (it may run badly) and the estimate. A character job
    (the default) adds the stage plan and sizes; `"kind": "unified"` the rows per category, the sampled mix
    and the rows per curriculum phase. Another org's persona or dataset is 404, whatever the values."""
    request.auth.require_scope("training:read")
    report = kind_named(payload.kind).preflight(principal=request.auth, data=_launch_data(payload))
    return {**report, "estimate": report["estimate"] or None}


@router.post("/training-jobs", response={202: TrainingJobDetailOut}, summary="Launch a training job")
def launch(request, payload: Body[AnyLaunchIn]):
    """202 with the queued job; 422 naming the field of the pre-flight's first error. `"kind": "unified"`
    launches a unified job (datasets, composition, curriculum; no persona); absent, a character job."""
    request.auth.require_scope("training:write")
    job = kind_named(payload.kind).launch(principal=request.auth, data=_launch_data(payload))
    return Status(202, _detail(request, job))


# --- jobs --------------------------------------------------------------------------------------


@router.get("/training-jobs", response=list[TrainingJobOut], summary="The org's training jobs, newest first")
@paginated
def list_jobs(request, persona_id: UUID | None = None, status: str | None = None, kind: str | None = None, outcome: str | None = None):
    request.auth.require_scope("training:read")
    jobs = TrainingJob.objects.filter(organization=request.auth.organization)
    if outcome:
        if outcome not in Outcome.values:
            raise Invalid(f"outcome must be one of {', '.join(Outcome.values)}", field="outcome")
        jobs = jobs.filter(outcome=outcome)
    if kind:
        jobs = jobs.filter(kind=kind_named(kind).name)  # an unknown kind is a 422 naming the registry's
    if persona_id:
        jobs = jobs.filter(persona=access_persona(request.auth.organization, persona_id))
    if status:
        if status not in JobStatus.values:
            raise Invalid(f"status must be one of {', '.join(JobStatus.values)}", field="status")
        jobs = jobs.filter(status=status)
    return jobs.select_related("persona", "constitution").prefetch_related("stages").order_by("-created_at", "-id")


@router.get("/training-jobs/{training_job_id}", response=TrainingJobDetailOut)
def get_job(request, training_job_id: UUID):
    """Params, status, error, kill, cost and tokens, the estimate, each stage's progress, cost, artifacts and stats."""
    request.auth.require_scope("training:read")
    return _job(request, training_job_id)


@router.post("/training-jobs/{training_job_id}/cancel", response={202: TrainingJobDetailOut})
def cancel(request, training_job_id: UUID):
    """The worker stops within seconds, keeping the artifacts written so far; a queued job ends at once. 409 once ended."""
    request.auth.require_scope("training:write")
    job = services.training_job_cancel(principal=request.auth, job=_job(request, training_job_id))
    return Status(202, _detail(request, job))


@router.post("/training-jobs/{training_job_id}/resume", response={202: TrainingJobDetailOut})
def resume(request, training_job_id: UUID, payload: ResumeIn):
    """Run an ended job again from `stage`, reusing earlier stages' artifacts. 409 while it runs or when the stage's inputs are missing."""
    request.auth.require_scope("training:write")
    job = services.training_job_resume(principal=request.auth, job=_job(request, training_job_id), stage=payload.stage)
    return Status(202, _detail(request, job))


@router.get("/training-jobs/{training_job_id}/events", summary="The job's events as SSE: replays after Last-Event-ID, then follows live")
def job_events(request, training_job_id: UUID):
    request.auth.require_scope("training:read")
    job = _job(request, training_job_id)
    return sse_response(job, after=last_event_id(request))


# --- artifacts ---------------------------------------------------------------------------------


def _inside(root: Path, path: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, ValueError):
        return False


@router.get("/training-jobs/{training_job_id}/artifacts", response=list[ArtifactOut], summary="The job's files (data, previews, stats, logs, adapters)")
@paginated
def list_artifacts(request, training_job_id: UUID):
    request.auth.require_scope("training:read")
    root = _job(request, training_job_id).artifacts_dir.resolve()
    if not root.is_dir():
        return []
    files = (p for p in sorted(root.rglob("*")) if _inside(root, p) and p.is_file())
    return [{"path": p.relative_to(root).as_posix(), "size": p.stat().st_size} for p in files]


@router.get("/training-jobs/{training_job_id}/artifacts/{path:path}", summary="Download one of the job's files")
def download_artifact(request, training_job_id: UUID, path: str):
    """404 for anything that is not a file inside the job's artifacts (folders, absolute paths, '..')."""
    request.auth.require_scope("training:read")
    root = _job(request, training_job_id).artifacts_dir.resolve()
    relative = PurePosixPath(path)
    if relative.is_absolute() or ".." in relative.parts or not _inside(root, root / relative) or not (root / relative).is_file():
        raise NotFound("artifact not found")
    target = (root / relative).resolve()
    return FileResponse(target.open("rb"), as_attachment=True, filename=target.name)


# --- the trained model: chat with it, take it away ----------------------------------------------


@router.post("/training-jobs/{training_job_id}/chat", response={200: TunedChatOut, 423: SafeWordOut},
             summary="Chat with the job's trained model (base + adapter, no constitution in the prompt)")
def chat_with_model(request, training_job_id: UUID, payload: TunedChatIn):
    """The tuned model's reply, and with `compare_base` the untrained student's to the same message, each drift-scored
    against the persona's fingerprint (flagged above the threshold, never withheld). `session_id` goes on with one of
    your chats with this job (each model sees its own earlier replies). 422 naming `message` when it is empty or too
    long; 409 when the job has no trained adapter yet or its folder was deleted; 423 for the safe word."""
    request.auth.require_scope("training:read")
    job = _job(request, training_job_id)
    try:
        turn = tuned_chat_send(principal=request.auth, job=job, message=payload.message, compare_base=payload.compare_base,
                               session_id=payload.session_id)
    except SafeWordSaid as exc:
        return Status(423, exc)
    return Status(200, turn)


@router.post("/training-jobs/{training_job_id}/attacks", response={202: AttackRunStartOut},
             summary="Run the robustness attacks on the job's base and tuned checkpoints")
def start_checkpoint_attacks(request, training_job_id: UUID, payload: AttackRunIn = None):
    """Every chosen attack (GET /v1/attacks) on each ordinary prompt, answered by the untrained student and by the trained
    model, neither with a system prompt; each reply judged and drift-scored against the persona's fingerprint, and each
    attack's figures with the difference tuned − base. 202: follow it at /v1/attack-runs/{run_id}. 422 naming `attacks`
    or `prompts`; 409 when the job has no trained adapter (or persona), or another attack run on it is unfinished."""
    request.auth.require_scope("training:write")
    job = _job(request, training_job_id)
    payload = payload or AttackRunIn()
    run = checkpoint_attacks_start(job=job, user=request.auth.user, attacks=payload.attacks, prompts=payload.prompts)
    return Status(202, AttackRunStartOut.of(run))


@router.get("/training-jobs/{training_job_id}/attacks", response=list[AttackRunOut], summary="The job's attack runs, newest first")
@paginated
def list_checkpoint_attacks(request, training_job_id: UUID):
    request.auth.require_scope("training:read")
    job = _job(request, training_job_id)
    return attack_runs(job.persona, training_job=job.public_id) if job.persona else []


@router.get("/training-jobs/{training_job_id}/model", summary="Download the trained model as a zip (merged or adapter)")
def download_model(request, training_job_id: UUID, export_format: str = Query("merged", alias="format")):
    """`format=merged`: the base model with the adapter merged in (safetensors) and its tokenizer; `format=adapter`: the
    LoRA adapter. Each with a README.md model card: the constitution, the data sizes, the evaluation table and the
    outcome. 422 naming `format` for another value; 409 when the job has no trained adapter or its folder was deleted."""
    request.auth.require_scope("training:read")
    return model_export_response(job=_job(request, training_job_id), export_format=export_format)


# --- cost, defaults, presets -------------------------------------------------------------------


@router.get("/training/cost", response=TrainingCostOut, summary="Training spend this calendar month, per job")
def cost(request):
    request.auth.require_scope("training:read")
    org = request.auth.organization
    jobs = services.month_jobs(org).order_by("-created_at")
    return {"month_to_date_usd": float(services.org_month_to_date(org)), "jobs": jobs}


@router.get("/training/defaults", response=LaunchFieldsOut, summary="The launch form's starting values")
def defaults(request, workspace: str | None = Query(None, description="workspace id or slug (default: the org's values)")):
    """From the config tree's training defaults; offline models when the org has no provider credentials."""
    request.auth.require_scope("training:read")
    org = request.auth.organization
    return services.launch_defaults(organization=org, workspace=access_workspace_ref(org, workspace))


@router.get("/training/presets/{name}", response=dict[str, int | float], summary="The form values a preset fills")
def preset(request, name: str):
    """custom | quick | paper; Custom fills nothing."""
    request.auth.require_scope("training:read")
    return services.preset_form_values(name)


# --- constitutions -----------------------------------------------------------------------------


def _persona(request, persona_id, scope: str) -> Persona:
    request.auth.require_scope(scope)
    return access_persona(request.auth.organization, persona_id)


@router.get("/personas/{persona_id}/constitution", response=ConstitutionOut, summary="The persona's current constitution")
def current_constitution(request, persona_id: UUID):
    """The newest version (derived from the persona's layers on first use), with concreteness findings and markers."""
    persona = _persona(request, persona_id, "training:read")
    return services.constitution_current(persona=persona, user=request.auth.user)


@router.post("/personas/{persona_id}/constitution", response={201: ConstitutionOut}, summary="Save an edited constitution")
def save_constitution(request, persona_id: UUID, payload: ConstitutionIn):
    """A new version; 422 naming the first bad field (e.g. traits.0.statement)."""
    persona = _persona(request, persona_id, "training:write")
    data = payload.dict(exclude={"note"}, exclude_none=True)
    version = services.constitution_save(persona=persona, data=data, user=request.auth.user, note=payload.note)
    return Status(201, version)


@router.post("/personas/{persona_id}/constitution/derive", response={201: ConstitutionOut}, summary="Derive a new version from the layers")
def derive_constitution(request, persona_id: UUID):
    persona = _persona(request, persona_id, "training:write")
    return Status(201, services.constitution_derive(persona=persona, user=request.auth.user))


@router.get("/personas/{persona_id}/constitutions", response=list[ConstitutionSummaryOut], summary="The persona's constitution versions, newest first")
@paginated
def list_constitutions(request, persona_id: UUID):
    persona = _persona(request, persona_id, "training:read")
    return persona.constitutions.order_by("-number")


@router.get("/personas/{persona_id}/constitutions/{number}", response=ConstitutionOut)
def get_constitution(request, persona_id: UUID, number: int):
    persona = _persona(request, persona_id, "training:read")
    return services.access_constitution(persona, number)
