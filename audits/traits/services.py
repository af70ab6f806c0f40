"""Starting trait profiles: the subject resolved in the org, the prompt set, the models, the draw — then the work.

    profile = trait_profile_start(principal=p, subject_kind="persona", subject_id=persona.public_id, prompts=60)
    profile = profile_for_checkpoint(organization=org, job_id=job.public_id, side="tuned", run_now=True)  # a training eval
"""

from __future__ import annotations

from django.db import transaction

from audits.reviews.judge import same_family_warning
from audits.traits.catalog import PROMPT_SET_NAME, TRAITS, everyday_prompts, prompts_digest
from audits.traits.judge import OFFLINE_JUDGE_LABEL
from audits.traits.models import TraitProfile, TraitPromptSet
from audits.traits.subjects import Subject, source_for
from studio.config.selectors import effective_tree
from studio.errors import Conflict, Invalid
from studio.llm.engines import OFFLINE_MODEL
from studio.principal import Principal
from studio.services import credential_resolve, org_has_llm_credentials
from studio.work.queue import enqueue

MIN_PROMPTS, MAX_PROMPTS, DEFAULT_PROMPTS = 1, 500, 60
MAX_SEED = 2**31 - 1
JUDGE_TEMPERATURE = 0.1
JUDGE_MAX_TOKENS = 60
ANSWER_STEP, JUDGE_STEP = "mask_build", "audit"  # as the eval suites: the voice's model answers, the audit's model judges
TASK = "audits.traits.tasks.execute_trait_profile"


def builtin_prompt_set() -> TraitPromptSet:
    """The stored prompt set of 500 everyday first turns (created on first use; never changed under its name)."""
    prompts = everyday_prompts()
    digest = prompts_digest(prompts)
    found, _ = TraitPromptSet.objects.get_or_create(name=PROMPT_SET_NAME, defaults={"prompts": prompts, "digest": digest})
    if found.digest != digest:
        raise Conflict(f"the stored prompt set {PROMPT_SET_NAME} differs from the built-in one: give the new set a new name")
    return found


def clean_prompts(value) -> int:
    if value is None:
        return DEFAULT_PROMPTS
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_PROMPTS <= value <= MAX_PROMPTS:
        raise Invalid(f"prompts must be a whole number from {MIN_PROMPTS} to {MAX_PROMPTS}", field="prompts")
    return value


def clean_seed(value) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEED:
        raise Invalid(f"seed must be a whole number from 0 to {MAX_SEED}", field="seed")
    return value


def clean_traits(value) -> list[str]:
    """The traits to draw from: all 144 by default, else at least two distinct ones of the catalog."""
    if value is None:
        return list(TRAITS)
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise Invalid("traits must be a list of trait names", field="traits")
    traits = list(dict.fromkeys(t.strip().casefold() for t in value))
    unknown = [t for t in traits if t not in TRAITS]
    if unknown:
        raise Invalid(f"unknown trait(s): {', '.join(unknown[:5])[:200]} (see the catalog of 144 traits)", field="traits")
    if len(traits) < 2:
        raise Invalid("traits needs at least two distinct traits", field="traits")
    return traits


def _knobs(step: dict) -> dict:
    return {k: step[k] for k in ("model", "fallbacks", "temperature", "max_tokens") if step.get(k) is not None}


def _require_credentials(organization, model: str, field: str) -> None:
    from studio.llm.gateway import provider_for_model

    provider = provider_for_model(model, organization)
    if provider is not None and credential_resolve(organization=organization, provider=provider) is None:
        raise Invalid(f"no credentials for provider {provider} used by {model}: add them on the Providers page or pick "
                      "another model", field=field)


def profile_models(organization, subject: Subject, judge_model: str | None) -> tuple[str, dict]:
    """(engine, {"answer": knobs | {"checkpoint": …}, "judge": knobs}); offline without credentials."""
    workspace = subject.persona.workspace if subject.persona else None
    tree = effective_tree(organization, workspace)
    offline = not org_has_llm_credentials(organization=organization)
    judge = {**_knobs(tree.step(JUDGE_STEP)), "temperature": JUDGE_TEMPERATURE, "max_tokens": JUDGE_MAX_TOKENS}
    if judge_model is not None:
        judge_model = judge_model.strip()
        if not judge_model or len(judge_model) > 200 or "\x00" in judge_model:
            raise Invalid("judge_model must be a model name of 1 to 200 characters", field="judge_model")
        _require_credentials(organization, judge_model, "judge_model")
        judge.update(model=judge_model, fallbacks=[])
    elif offline:
        judge.update(model=OFFLINE_MODEL, fallbacks=[])
    else:
        _require_credentials(organization, judge["model"], f"engine.pipeline.{JUDGE_STEP}.model")
    if subject.kind == "persona":
        answer = _knobs(tree.step(ANSWER_STEP))
        if offline:
            answer.update(model=OFFLINE_MODEL, fallbacks=[])
        else:
            _require_credentials(organization, answer["model"], f"engine.pipeline.{ANSWER_STEP}.model")
    else:
        answer = {"checkpoint": subject.label, **{k: v for k, v in subject.details.items() if k in ("temperature", "top_p")}}
    return ("offline" if offline else "providers"), {"answer": answer, "judge": judge}


def judge_label(judge: dict) -> str:
    model = judge["model"]
    return OFFLINE_JUDGE_LABEL if model.startswith("offline/") else f"{model} (temperature {judge['temperature']})"


def _create(*, organization, subject: Subject, prompts, judge_model, seed, traits, created_by) -> TraitProfile:
    from audits.traits.catalog import constitution_traits

    prompts, seed, traits = clean_prompts(prompts), clean_seed(seed), clean_traits(traits)
    engine, config = profile_models(organization, subject, judge_model)
    teacher = subject.details.get("teacher_model")
    config["judge_warning"] = same_family_warning(config["judge"]["model"], teacher) if teacher else None
    return TraitProfile.objects.create(
        organization=organization, persona=subject.persona, subject_kind=subject.kind, subject_id=subject.id, side=subject.side,
        subject_label=subject.label[:200], prompt_set=builtin_prompt_set(), engine=engine, config=config,
        judge_label=judge_label(config["judge"]), traits=traits, constitution_traits=constitution_traits(subject.constitution),
        prompts_count=prompts, seed=seed, progress_total=prompts, created_by=created_by,
    )


def trait_profile_start(*, principal: Principal, subject_kind: str, subject_id, side: str = "", prompts: int | None = None,
                        judge_model: str | None = None, seed: int | None = None, traits: list[str] | None = None) -> TraitProfile:
    """Resolve the subject in the principal's org, create the profile and enqueue it once the transaction commits."""
    source = source_for(subject_kind)
    side = side or ""
    if side not in source.sides:
        raise Invalid(f"side must be one of {', '.join(s for s in source.sides if s) or 'nothing'} for a {subject_kind}", field="side")
    subject = source.resolve(principal.organization, subject_id, side)
    principal.require_scope(subject.write_scope)
    with transaction.atomic():
        profile = _create(organization=principal.organization, subject=subject, prompts=prompts, judge_model=judge_model,
                          seed=seed, traits=traits, created_by=principal.user)
        transaction.on_commit(lambda: enqueue(TASK, profile.pk))
    return profile


def profile_for_checkpoint(*, organization, job_id, side: str = "tuned", prompts: int | None = None, seed: int | None = None,
                           judge_model: str | None = None, run_now: bool = False) -> TraitProfile:
    """A trait profile of a training job's base model or tuned checkpoint, for the job's own evaluation stage: no
    principal (the job's worker calls it). `run_now` runs it to its end in the caller's process and returns it
    finished (completed or failed); otherwise it is queued on the work engine."""
    from audits.traits.runner import trait_profile_execute

    source = source_for("training_job")
    if side not in source.sides:
        raise Invalid("side must be base or tuned", field="side")
    subject = source.resolve(organization, job_id, side)
    profile = _create(organization=organization, subject=subject, prompts=prompts, judge_model=judge_model, seed=seed,
                      traits=None, created_by=None)
    if run_now:
        trait_profile_execute(profile.pk)
        profile.refresh_from_db()
    else:
        transaction.on_commit(lambda: enqueue(TASK, profile.pk))
    return profile
