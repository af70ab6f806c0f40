"""Training-job workflows: constitutions, pre-flight, launch, cancel, resume, cost (SPEC §7, issue 7).

Views, API operations and tasks call these; the stages themselves run in training_jobs.engine, as the job's kind (training_jobs.job_kinds) lists them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from pydantic import ValidationError

from personas.access import access_persona
from personas.models import Persona, PersonaStatus
from studio.config.selectors import effective_tree
from studio.errors import Conflict, Invalid
from studio.llm.budget import usd
from studio.llm.local_models import LOCAL_CHAT_MODEL, SMOLLM2, use_by_default
from studio.llm.local_models import problem as local_problem
from studio.principal import Principal
from training_jobs.constitution import (
    Constitution,
    concreteness_report,
    constitution_from_layers,
    field_errors,
    is_abstract,
    markers,
    parse_constitution,
    system_prompt,
)
from training_jobs import checkpoint_evals, trait_eval
from training_jobs.evaluation import EVAL_MAX_NEW_TOKENS
from training_jobs.job_kinds import kind_for, params_of
from training_jobs.models import ConstitutionVersion, JobStatus, StageRun, TrainingJob
from training_jobs.params import STAGES, LaunchParams, validation_errors
from training_jobs.presets import PRESETS, smoke_plan
from training_jobs.queue import job_enqueue
from training_jobs.throughput import duration_words, time_estimate

logger = logging.getLogger(__name__)

OFFLINE_TEACHER = "offline/teacher"
OFFLINE_STUDENT = "offline/student"
TINY_CHECKPOINT = "tiny"
# Average completion length assumed by the estimate when max_new_tokens is larger (tokens).
TYPICAL_ANSWER_TOKENS = 250
JUDGE_INSTRUCTION_TOKENS = 150  # the pairwise judge's instructions (audits.reviews.judge)
JUDGE_VERDICT_TOKENS = 40  # its JSON verdict
TRAIT_JUDGE_INSTRUCTION_TOKENS = 120  # the trait judge's instructions and the two traits (audits.traits.judge)
TRAIT_JUDGE_VERDICT_TOKENS = 15  # its JSON answer: one trait


# --- constitutions -----------------------------------------------------------------------------


def constitution_latest(persona: Persona) -> ConstitutionVersion | None:
    return persona.constitutions.order_by("-number").first()


def constitution_derive(*, persona: Persona, user=None) -> ConstitutionVersion:
    """A new version derived from the persona's current layers (Conflict while it has none)."""
    if persona.current_version is None:
        raise Conflict("this persona has no layers yet: wait for its generation to finish", field="persona_id")
    document = constitution_from_layers(persona.layers).model_dump()
    return _constitution_store(persona, document, ConstitutionVersion.Source.DERIVED, user, note="derived from the layers")


def constitution_current(*, persona: Persona, user=None) -> ConstitutionVersion:
    """The newest version, derived on first use."""
    return constitution_latest(persona) or constitution_derive(persona=persona, user=user)


def constitution_for_card(persona: Persona) -> dict | None:
    """What an exported character card carries (personas.card_export): the newest constitution, or one derived from the
    layers without storing it (an export is a read); its system prompt as the card's `system_prompt`."""
    if persona.current_version is None:
        return None
    latest = constitution_latest(persona)
    constitution = parse_constitution(latest.document) if latest else constitution_from_layers(persona.layers)
    return {"document": constitution.model_dump(), "system_prompt": system_prompt(constitution)}


def constitution_save(*, persona: Persona, data, user=None, note: str = "") -> ConstitutionVersion:
    """An edited constitution as a new version; Invalid naming the first field that failed."""
    try:
        document = parse_constitution(data).model_dump()
    except ValidationError as exc:
        first = field_errors(exc)[0]
        raise Invalid(first["message"], field=first["field"]) from None
    return _constitution_store(persona, document, ConstitutionVersion.Source.EDITED, user, note=note[:200])


def _constitution_store(persona, document, source, user, note="") -> ConstitutionVersion:
    with transaction.atomic():
        Persona.objects.select_for_update().filter(pk=persona.pk).first()  # one number at a time
        number = (persona.constitutions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
        return ConstitutionVersion.objects.create(
            organization=persona.organization, persona=persona, number=number, document=document, source=source,
            persona_version=persona.current_version.number if persona.current_version else None, note=note,
            created_by=user if getattr(user, "is_authenticated", False) else None,
        )


def access_constitution(persona: Persona, number: int) -> ConstitutionVersion:
    from studio.errors import NotFound

    try:
        return persona.constitutions.get(number=number)
    except ConstitutionVersion.DoesNotExist:
        raise NotFound(f"constitution version {number} not found") from None


def concreteness(version: ConstitutionVersion) -> list[dict]:
    return [{"level": f.level, "code": f.code, "message": f.message, "field": f.field}
            for f in concreteness_report(version.constitution)]


# --- form defaults -----------------------------------------------------------------------------


def offline_student_model() -> str:
    """Who writes the rejected answers with no credentials: SmolLM2 itself (local engine), else the offline engine."""
    return LOCAL_CHAT_MODEL if use_by_default(SMOLLM2) else OFFLINE_STUDENT


def offline_student_checkpoint() -> str:
    """What trains with no hub: SmolLM2-135M-Instruct converted from its package, else the tiny test model."""
    from training_jobs.backends import trl_available

    return SMOLLM2.name if use_by_default(SMOLLM2) and trl_available() else TINY_CHECKPOINT


def launch_defaults(*, organization, workspace=None) -> dict:
    """The form's starting values: the config tree's training defaults (offline models without credentials)."""
    from studio.services import org_has_llm_credentials

    tree = effective_tree(organization, workspace)
    t = lambda key: tree[f"training.defaults.{key}"]  # noqa: E731
    offline = not org_has_llm_credentials(organization=organization)
    return {
        "preset": "custom",
        "teacher_model": OFFLINE_TEACHER if offline else t("teacher_model"),
        "student_model": offline_student_model() if offline else f"openai/{t('student_model')}",
        "student_checkpoint": offline_student_checkpoint() if offline else t("student_model"),
        "dpo_pairs": t("dpo_pairs"), "reflections": t("reflections"), "interactions": t("self_interactions"),
        "interaction_turns": t("interaction_turns"), "data_scale": 100,
        "lora_rank": t("lora_rank"), "lora_alpha": t("lora_alpha"), "lora_layers": t("lora_layers"),
        "learning_rate": t("learning_rate"),
        "batch_size": t("batch_size"), "epochs": t("epochs"), "dpo_beta": t("dpo_beta"), "nll_coef": t("nll_coef"),
        "max_length": t("max_length"), "sft_max_length": t("sft_max_length"), "temperature": t("temperature"),
        "top_p": t("top_p"), "max_new_tokens": 512, "smoke_test": "small", "budget_usd": None, "backend": "trl",
        "name_suffix": "", "generate_introspection": True, "run_sft": True,
        "strip_reflection_traces": False, "keep_interaction_traces": False, "review_eval_pairs": False,
        "max_drop_rate": 0.3, "concurrency": 64,
    }


def preset_form_values(name: str) -> dict:
    """The form fields a preset fills, named as LaunchParams names them ({} for Custom)."""
    preset = PRESETS.get(name)
    if name not in PRESETS:
        raise Invalid(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}", field="preset")
    if preset is None:
        return {}
    v = preset.values()
    return {
        "lora_rank": v["lora_rank"], "lora_alpha": v["lora_alpha"], "lora_layers": v["lora_layers"], "batch_size": v["batch_size"],
        "learning_rate": v["learning_rate"], "dpo_beta": v["dpo_beta"], "nll_coef": v["nll_coef"],
        "temperature": v["temperature"], "top_p": v["top_p"], "epochs": v["epochs"], "dpo_pairs": v["dpo_pairs"],
        "reflections": v["reflections"], "interactions": v["interactions"], "interaction_turns": v["interaction_turns"],
        "max_length": v["max_length_dpo"], "sft_max_length": v["max_length_sft"], "max_new_tokens": v["max_new_tokens"],
    }


# --- pre-flight --------------------------------------------------------------------------------


@dataclass
class Preflight:
    params: LaunchParams | None
    persona: Persona | None = None
    constitution: ConstitutionVersion | None = None
    errors: list[dict] = field(default_factory=list)
    warnings: list[dict] = field(default_factory=list)
    estimate: dict = field(default_factory=dict)
    engine: str = "providers"
    estimate_note: str = ""

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "ok": self.ok, "errors": self.errors, "warnings": self.warnings, "estimate": self.estimate,
            "estimate_note": self.estimate_note,
            "engine": self.engine, "stages": self.params.stage_plan() if self.params else [],
            "sizes": self.params.sizes if self.params else {},
            "constitution_version": self.constitution.number if self.constitution else None,
            "review_eval_pairs": self.params.review_eval_pairs if self.params else False,
        }


def _params_despite_errors(organization, data: dict) -> tuple[LaunchParams | None, list[dict]]:
    """The form's values validated, and their errors. With errors, the values again with each field in error at its
    default, so the stage plan, the estimate and the other checks stay on screen while a field is being fixed; None
    when even that does not validate (no persona chosen, say)."""
    try:
        return LaunchParams.model_validate(data), []
    except ValidationError as exc:
        invalid = validation_errors(exc)
    defaults = launch_defaults(organization=organization)
    bad = {issue["field"].split(".")[0] for issue in invalid}
    if "persona_id" in bad:
        return None, invalid
    try:
        return LaunchParams.model_validate({**data, **{name: defaults[name] for name in bad if name in defaults}}), invalid
    except ValidationError:
        return None, invalid


def _issue(field_name: str, message: str) -> dict:
    return {"field": field_name, "message": message}


def training_job_preflight(*, principal: Principal, data: dict) -> Preflight:
    """Errors (the job cannot run) and warnings (it may run badly) for the form's values; nothing is stored.

    Another org's persona raises NotFound (404), as everywhere.
    """
    params, invalid = _params_despite_errors(principal.organization, data)
    if params is None:
        return Preflight(None, errors=invalid)
    report = Preflight(params, errors=list(invalid))
    report.estimate_note = "until fixed, fields in error are counted at their defaults" if invalid else ""
    report.persona = persona = access_persona(principal.organization, params.persona_id)
    if persona.status == PersonaStatus.GENERATING or persona.current_version is None:
        report.errors.append(_issue("persona_id", "this persona has no layers yet: wait for its generation to finish"))
        return report
    if params.constitution_version is not None:
        report.constitution = persona.constitutions.filter(number=params.constitution_version).first()
        if report.constitution is None:
            report.errors.append(_issue("constitution_version", f"constitution version {params.constitution_version} not found"))
            return report
    else:
        report.constitution = constitution_latest(persona)
    constitution = report.constitution.constitution if report.constitution else constitution_from_layers(persona.layers)
    _check_constitution(report, constitution)
    _check_models(report, principal.organization)
    _check_backend(report)
    _warn_hyperparameters(report)
    _warn_checkpoint_evals(report, constitution)
    report.estimate = estimate(params, constitution)
    timing = time_estimate(principal.organization, params, report.estimate)
    report.estimate.update(time=timing, time_words=duration_words(timing["seconds"]))
    if params.budget_usd is not None and report.estimate.get("cost_usd") and report.estimate["cost_usd"] > params.budget_usd:
        estimate_text, cap_text = usd(report.estimate["cost_usd"], params.budget_usd)
        report.warnings.append(_issue("budget_usd", f"the estimate (${estimate_text}) is above the budget cap "
                                                    f"(${cap_text}): the job will be killed when it reaches the cap"))
    return report


def _warn_checkpoint_evals(report: Preflight, constitution: Constitution) -> None:
    """Checkpoint evaluations that would measure nothing: N past every stage's steps, or a marker rate with no marker."""
    params = report.params
    if not params.eval_every_steps:
        return
    steps = checkpoint_evals.stage_steps(params)
    if not checkpoint_evals.plan(params):
        report.warnings.append(_issue("eval_every_steps", f"no checkpoint will be evaluated: the training stages take "
                                                          f"{max(steps.values())} steps at most, fewer than {params.eval_every_steps}"))
    if params.early_stop_metric == "marker_rate" and not markers(constitution):
        report.warnings.append(_issue("early_stop_metric", "the constitution quotes no marker, so the marker rate is never "
                                                           "measured and an early stop would come after the patience alone"))


def _check_constitution(report: Preflight, constitution: Constitution) -> None:
    for finding in concreteness_report(constitution):
        issue = _issue(f"constitution.{finding.field}", finding.message)
        (report.errors if finding.level == "error" else report.warnings).append(issue)
    if constitution.traits and is_abstract(constitution):
        report.warnings.append(_issue("constitution", "the constitution is abstract: most traits have no quoted marker, "
                                                      "so the marker gate and the DPO signal will be weak"))


def _check_models(report: Preflight, organization) -> None:
    from audits.reviews.judge import same_family_warning
    from studio.config.services import model_check_for
    from studio.llm.gateway import provider_for_model
    from studio.services import credential_resolve

    params = report.params
    check = model_check_for(organization)
    for name in ("teacher_model", "student_model"):
        model = getattr(params, name)
        if problem := check(model, "chat"):
            report.errors.append(_issue(name, problem))
            continue
        if model.startswith("offline/"):
            continue
        if model.startswith("local/"):  # runs in the worker: no credentials, but the packaged file must check out
            if problem := local_problem(SMOLLM2):
                report.errors.append(_issue(name, problem))
            continue
        provider = provider_for_model(model, organization)
        if provider is None or credential_resolve(organization=organization, provider=provider) is None:
            report.errors.append(_issue(name, f"no credentials for {provider or 'the provider of'} {model}: add them on the "
                                              "Providers page or pick another model"))
    if params.teacher_model == params.student_model:
        report.warnings.append(_issue("student_model", "the student is the teacher: chosen and rejected answers differ only by "
                                                       "the constitution, which gives a weak preference signal"))
    # No provider is paid when every model runs here (the offline engine, the local models).
    offline = [m.startswith(("offline/", "local/")) for m in (params.teacher_model, params.student_model)]
    report.engine = "offline" if all(offline) else "providers"
    # With providers the evaluation's base-vs-tuned judge is the teacher itself (training_jobs.evaluation); the offline
    # judge's note (same offline family) is on the job's results, not here, where it would greet every offline job.
    if report.engine == "providers" and (family := same_family_warning(params.teacher_model, params.teacher_model)):
        report.warnings.append(_issue("teacher_model", f"the evaluation's judge is the teacher: {family}"))


def _check_backend(report: Preflight) -> None:
    from training_jobs.backends import trl_available

    params = report.params
    if params.backend == "trl" and not trl_available():
        report.errors.append(_issue("backend", "the trl backend needs the train extras on the worker: pip install -e '.[train]'"))
    if problem := checkpoint_problem(params.student_checkpoint):
        report.errors.append(_issue("student_checkpoint", problem))


def checkpoint_problem(checkpoint: str) -> str | None:
    """Why the training workers cannot load `checkpoint` (tiny, a local folder, or a hub id when allowed), or None."""
    from training_jobs.backends.trl_backend import TINY_IDS

    if checkpoint in TINY_IDS:
        return None
    if checkpoint == SMOLLM2.name:
        return local_problem(SMOLLM2)
    path = Path(checkpoint)
    if path.is_absolute() or checkpoint.startswith("."):
        return None if path.is_dir() else f"no model folder at {checkpoint}"
    if not settings.TRAINING_ALLOW_HUB:
        return (f"{checkpoint} is a hub id, and this studio's training workers cannot reach a hub "
                f"(TRAINING_ALLOW_HUB is off): use {SMOLLM2.name}, a local folder, or 'tiny' (test model)")
    return None


def _warn_hyperparameters(report: Preflight) -> None:
    p = report.params
    pairs = p.sizes["dpo_pairs"]
    if pairs < 100:
        report.warnings.append(_issue("dpo_pairs", f"{pairs} DPO pairs after scaling: under 100 rarely moves a character"))
    if p.epochs > 3 and pairs < 500:
        report.warnings.append(_issue("epochs", f"{p.epochs} epochs over {pairs} pairs tends to overfit: use more pairs or fewer epochs"))
    if p.dpo_beta > 0.5:
        report.warnings.append(_issue("dpo_beta", f"β {p.dpo_beta} is high: the policy will barely move from the student"))


# --- cost --------------------------------------------------------------------------------------


def model_price(model: str) -> tuple[float, float] | None:
    """(USD per prompt token, per completion token) from litellm's cost map; (0, 0) offline; None when unknown."""
    if model.startswith("offline/"):
        return 0.0, 0.0
    from studio.config.model_names import catalogue_entry

    entry = catalogue_entry(model)
    if not entry:
        return None
    return float(entry.get("input_cost_per_token") or 0), float(entry.get("output_cost_per_token") or 0)


def estimate(params: LaunchParams, constitution: Constitution) -> dict:
    """Tokens and USD before launch: the calls each stage makes × average tokens × the models' prices."""
    system_tokens = len(system_prompt(constitution)) // 4 + 1
    answer = min(params.max_new_tokens, TYPICAL_ANSWER_TOKENS)
    question = 30
    runs = [(s.dpo_pairs, s.reflections, s.interactions, s.interaction_turns) for s in smoke_plan(params.smoke_test)]
    sizes = params.sizes
    runs.append((sizes["dpo_pairs"], sizes["reflections"] if params.generate_introspection else 0,
                 sizes["interactions"] if params.generate_introspection else 0, sizes["interaction_turns"]))
    teacher_calls = student_calls = 0
    teacher_prompt = teacher_completion = student_prompt = student_completion = 0
    for pairs, reflections, interactions, turns in runs:
        teacher_calls += pairs + reflections + interactions * turns
        student_calls += pairs
        teacher_prompt += pairs * (system_tokens + question) + reflections * (system_tokens + 60)
        # each interaction turn sees the system prompt and the conversation so far
        teacher_prompt += interactions * sum(system_tokens + question + k * answer for k in range(turns))
        teacher_completion += (pairs + reflections + interactions * turns) * answer
        student_prompt += pairs * question
        student_completion += pairs * answer
    # the checkpoint evaluations' judge (the teacher model) reads a held-out prompt and two short replies per call
    judge_calls = checkpoint_evals.workload(params)["judge_calls"]
    teacher_calls += judge_calls
    teacher_prompt += judge_calls * (system_tokens + question + 2 * min(answer, EVAL_MAX_NEW_TOKENS) + JUDGE_INSTRUCTION_TOKENS)
    teacher_completion += judge_calls * JUDGE_VERDICT_TOKENS
    # the evaluation's trait profiles (training_jobs.trait_eval): each prompt's reply judged in both orders, per side.
    # Their judge is the audit step's model (offline without credentials), priced here as the teacher.
    traits = trait_eval.workload(params)
    teacher_calls += traits["judge_calls"]
    teacher_prompt += traits["judge_calls"] * (TRAIT_JUDGE_INSTRUCTION_TOKENS + min(answer, EVAL_MAX_NEW_TOKENS))
    teacher_completion += traits["judge_calls"] * TRAIT_JUDGE_VERDICT_TOKENS
    teacher_price, student_price = model_price(params.teacher_model), model_price(params.student_model)
    cost = None
    if teacher_price is not None and student_price is not None:
        cost = (teacher_prompt * teacher_price[0] + teacher_completion * teacher_price[1]
                + student_prompt * student_price[0] + student_completion * student_price[1])
    return {
        "calls": teacher_calls + student_calls, "teacher_calls": teacher_calls, "student_calls": student_calls,
        "checkpoint_eval_judge_calls": judge_calls, "trait_profile_judge_calls": traits["judge_calls"],
        "prompt_tokens": teacher_prompt + student_prompt, "completion_tokens": teacher_completion + student_completion,
        "cost_usd": None if cost is None else round(cost, 4),
        "priced": cost is not None,
        "note": "" if cost is not None else "no price is known for one of the models (litellm's cost map)",
    }


def month_jobs(organization):
    """The org's training jobs created this calendar month (what month-to-date spend counts)."""
    start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return TrainingJob.objects.filter(organization=organization, created_at__gte=start)


def org_month_to_date(organization) -> Decimal:
    """USD spent by the org's training jobs created this calendar month."""
    total = month_jobs(organization).aggregate(s=Sum("cost_usd"))["s"]
    return (total or Decimal("0")).quantize(Decimal("0.000001"))


# --- launch, cancel, resume --------------------------------------------------------------------


def training_job_launch(*, principal: Principal, data: dict) -> TrainingJob:
    """Pre-flight, then store the job with its stage plan and queue it. Invalid names the first error's field."""
    principal.require_scope("training:write")
    report = training_job_preflight(principal=principal, data=data)
    if report.errors:
        first = report.errors[0]
        raise Invalid(first["message"], field=first["field"])
    params, persona = report.params, report.persona
    with transaction.atomic():
        version = report.constitution or constitution_current(persona=persona, user=principal.user)
        stored = params.model_dump(mode="json") | {"constitution_version": version.number}
        name = f"{persona.display_name}-v{version.number}" + (f"-{params.name_suffix}" if params.name_suffix else "")
        job = TrainingJob.objects.create(
            organization=persona.organization, workspace=persona.workspace, persona=persona, constitution=version,
            name=name[:200], params=stored, engine=report.engine, backend=params.backend, estimate=report.estimate,
            budget_usd=Decimal(str(params.budget_usd)) if params.budget_usd is not None else None,
            created_by=principal.user if getattr(principal.user, "is_authenticated", False) else None,
            created_by_key=principal.api_key,
        )
        plan = params.stage_plan()
        StageRun.objects.bulk_create([
            StageRun(job=job, stage=stage, position=i,
                     status=StageRun.Status.PENDING if stage in plan else StageRun.Status.SKIPPED)
            for i, stage in enumerate(STAGES)
        ])
        from studio.work.events import emit

        emit(job, "job.queued", {"name": job.name, "stages": plan, "estimate": report.estimate, "warnings": report.warnings})
        job_enqueue(job)
    return job


def training_job_cancel(*, principal: Principal, job: TrainingJob) -> TrainingJob:
    """Ask the worker to stop (it does within seconds, keeping artifacts); a queued job ends at once."""
    principal.require_scope("training:write")
    from studio.work.events import emit

    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().get(pk=job.pk)
        if job.is_finished:
            raise Conflict(f"this job already ended ({job.status})")
        job.cancel_requested = True
        job.save(update_fields=["cancel_requested"])
        if job.status == JobStatus.QUEUED:
            job.status, job.finished_at, job.error = JobStatus.CANCELLED, timezone.now(), "cancelled before it started"
            job.save(update_fields=["status", "finished_at", "error"])
            emit(job, "job.cancelled", {"stage": None, "message": job.error})
    return job


def stage_labels(job: TrainingJob) -> dict[str, str]:
    """What pages and the API call the job's stages (a unified job's eval is the behavioral range)."""
    return dict(kind_for(job).stage_labels)


def resumable_stages(job: TrainingJob) -> list[str]:
    """Stages of the job's plan that could run again now, their inputs present."""
    if not job.is_finished:
        return []
    runs = {s.stage: s for s in job.stages.all()}  # one query for every stage's check
    return [stage for stage in params_of(job).stage_plan() if stage != "smoke" and not missing_inputs(job, stage, runs)]


def missing_inputs(job: TrainingJob, stage: str, runs: dict | None = None) -> list[str]:
    """The artifacts a stage reads that earlier stages have not left (resuming there needs them)."""
    stages = runs if runs is not None else {s.stage: s for s in job.stages.all()}
    missing = []
    for source, name in kind_for(job).inputs_of(job, stage):
        run = stages.get(source)
        rel = (run.artifacts or {}).get(name) if run else None
        if not rel or not (job.artifacts_dir / rel).exists():
            missing.append(f"{source}.{name}")
    return missing


def training_job_resume(*, principal: Principal, job: TrainingJob, stage: str) -> TrainingJob:
    """Run the job again from `stage`, reusing the artifacts of the stages before it."""
    principal.require_scope("training:write")
    known = kind_for(job).stages
    if stage not in known:
        raise Invalid(f"unknown stage {stage!r}; choose one of {', '.join(known)}", field="stage")
    from studio.work.events import emit

    with transaction.atomic():
        job = TrainingJob.objects.select_for_update().get(pk=job.pk)
        if not job.is_finished:
            raise Conflict(f"this job is still running ({job.status}): cancel it first")
        plan = params_of(job).stage_plan()
        if stage not in plan:
            raise Invalid(f"stage {stage} is not part of this job's plan ({', '.join(plan)})", field="stage")
        if missing := missing_inputs(job, stage):
            raise Conflict(f"cannot resume at {stage}: its inputs are missing ({', '.join(missing)}); resume an earlier stage",
                           field="stage")
        later = plan[plan.index(stage):]
        StageRun.objects.filter(job=job, stage__in=later).update(
            status=StageRun.Status.PENDING, done=0, total=0, error="", started_at=None, finished_at=None)
        job.status, job.error, job.kill, job.cancel_requested = JobStatus.QUEUED, "", None, False
        job.resume_from, job.resumes, job.finished_at, job.heartbeat_at = stage, job.resumes + 1, None, timezone.now()
        job.outcome, job.outcome_detail = "", None  # decided again when this run ends
        if stage in kind_for(job).after_early_stop:
            fields = []  # an early stop before this stage still holds
        else:
            job.early_stop, fields = None, ["early_stop"]  # training runs again: it may stop elsewhere or not at all
        job.save(update_fields=["status", "error", "kill", "cancel_requested", "resume_from", "resumes", "finished_at", "heartbeat_at",
                                "outcome", "outcome_detail", *fields])
        emit(job, "job.resumed", {"stage": stage, "stages": later})
        job_enqueue(job)
    return job
