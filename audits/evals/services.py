"""Eval suites: a persona's own cases (validated), the suite a run uses, and starting a run."""

from django.db import transaction

from audits.evals.catalog import CASES
from audits.evals.checks import InvalidCase, parse_case
from audits.evals.conversation import case_work, is_long_conversation
from audits.evals.models import EvalCase, EvalRun
from audits.evals.simulation import subject_clean
from personas.models import Persona, PersonaStatus
from studio.config.selectors import effective_tree
from studio.errors import Conflict, Invalid
from studio.llm.engines import OFFLINE_MODEL
from studio.principal import Principal
from studio.services import credential_resolve, org_has_llm_credentials
from studio.work.queue import enqueue

MIN_EPOCHS, MAX_EPOCHS, DEFAULT_EPOCHS = 1, 10, 3
SIMULATED_USER_TEMPERATURE = 1.0  # varied messages across repeats; each repeat is reproducible by its seed
ANSWER_STEP, JUDGE_STEP = "mask_build", "audit"  # in-persona answers use the voice's model; the audit's model judges
CASE_FIELDS = ("layer", "title", "turns", "check")
MODEL_FIELDS = {"layer": "layer", "title": "title", "turns": "turns", "check": "check_rule"}


def _validated(data: dict) -> dict:
    """The case fields of `data`, validated (checks.CaseSpec); Invalid naming the field otherwise."""
    data = dict(data)
    prompt = data.pop("prompt", None)
    if prompt is not None:
        if data.get("turns"):
            raise Invalid("give either prompt or turns, not both", field="prompt")
        data["turns"] = [{"role": "user", "content": prompt}]
    try:
        spec = parse_case({key: data[key] for key in CASE_FIELDS if key in data})
    except InvalidCase as exc:
        raise Invalid(exc.message, field=exc.field) from None
    return {MODEL_FIELDS[key]: value for key, value in spec.model_dump(mode="json", exclude_none=True).items()}


def eval_case_create(*, principal: Principal, persona: Persona, data: dict) -> EvalCase:
    principal.require_scope("personas:write")
    fields = _validated(data)
    return EvalCase.objects.create(organization=principal.organization, persona=persona, created_by=principal.user, **fields)


def eval_case_update(*, principal: Principal, case: EvalCase, data: dict) -> EvalCase:
    """Change some fields of a case; the whole case is validated again."""
    principal.require_scope("personas:write")
    merged = {**case.spec(), **{k: v for k, v in data.items() if v is not None}}
    if data.get("prompt") is not None:
        merged.pop("turns")
    fields = _validated(merged)
    for name, value in fields.items():
        setattr(case, name, value)
    case.save(update_fields=[*MODEL_FIELDS.values(), "updated_at"])
    return case


def eval_case_delete(*, principal: Principal, case: EvalCase) -> None:
    principal.require_scope("personas:write")
    case.delete()


def persona_suite(persona: Persona) -> list[dict]:
    """The catalog's cases, then the persona's own: [{key, layer, title, turns, check, source}]."""
    suite = [{"key": key, "source": "catalog", **spec.model_dump(mode="json", exclude_none=True)} for key, spec in CASES.items()]
    suite += [{"key": case.key, "source": "persona", "id": str(case.public_id), **case.spec()} for case in persona.eval_cases.all()]
    return suite


def _knobs(step: dict) -> dict:
    return {k: step[k] for k in ("model", "fallbacks", "temperature", "max_tokens") if step.get(k) is not None}


def eval_models(persona: Persona) -> tuple[str, dict]:
    """(engine, {"answer": knobs, "judge": knobs}): offline without credentials, like studio.llm.engines.engine_plan."""
    from studio.llm.gateway import provider_for_model

    org = persona.organization
    tree = effective_tree(org, persona.workspace)
    config = {"answer": _knobs(tree.step(ANSWER_STEP)), "judge": {**_knobs(tree.step(JUDGE_STEP)), "temperature": 0.0}}
    config["user"] = {**config["answer"], "temperature": SIMULATED_USER_TEMPERATURE}  # long conversations' simulated user
    if not org_has_llm_credentials(organization=org):
        for knobs in config.values():
            knobs.update(model=OFFLINE_MODEL, fallbacks=[])
        return "offline", config
    for role, step in (("answer", ANSWER_STEP), ("judge", JUDGE_STEP)):  # the simulated user is the answer's model
        chain = [config[role]["model"], *config[role].get("fallbacks", [])]
        providers = {provider_for_model(m, org) for m in chain}
        if all(p is not None and credential_resolve(organization=org, provider=p) is None for p in providers):
            missing = ", ".join(sorted(p for p in providers if p))
            raise Invalid(
                f"no credentials for provider {missing} used by engine.pipeline.{step}.model ({config[role]['model']}), "
                f"which {'answers eval cases' if role == 'answer' else 'judges eval replies'}: add them on the Providers page "
                "or change the model",
                field=f"engine.pipeline.{step}.model",
            )
    return "providers", config


def clean_epochs(epochs) -> int:
    if epochs is None:
        return DEFAULT_EPOCHS
    if isinstance(epochs, bool) or not isinstance(epochs, int) or not MIN_EPOCHS <= epochs <= MAX_EPOCHS:
        raise Invalid(f"epochs must be a whole number from {MIN_EPOCHS} to {MAX_EPOCHS}", field="epochs")
    return epochs


def eval_run_start(*, principal: Principal, persona: Persona, epochs: int | None = None, subject: dict | None = None) -> EvalRun:
    """Snapshot the suite and models, create the run and enqueue it once the transaction commits.

    `subject`: who answers, {"kind": "persona"} by default (its system prompt); another kind (a training job's
    checkpoint, registered by training_jobs) runs only the persona's long-conversation cases."""
    principal.require_scope("personas:write")
    epochs = clean_epochs(epochs)
    subject = subject_clean(organization=principal.organization, persona=persona, data=subject)
    with transaction.atomic():
        # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the current_version outer join.
        persona = (Persona.objects.select_for_update(of=("self",)).select_related("organization", "workspace", "current_version")
                   .get(pk=persona.pk))
        if persona.status == PersonaStatus.GENERATING:
            raise Conflict("this persona is still generating: evaluate it once the run has finished")
        if persona.current_version is None:
            raise Conflict("this persona has no version to evaluate (its generation failed)")
        if persona.eval_runs.unfinished().exists():
            raise Conflict("an eval run of this persona is already in progress: wait for it to finish")
        engine, config = eval_models(persona)
        suite = persona_suite(persona)
        if subject["kind"] != "persona":
            suite = [case for case in suite if is_long_conversation(case)]
            if not suite:
                raise Conflict("this persona has no long-conversation case: add one (check kind long_conversation) to run "
                               "its suite on a trained checkpoint")
        run = EvalRun.objects.create(
            organization=persona.organization, persona=persona, version=persona.current_version, engine=engine,
            config={**config, "subject": subject}, suite=suite, epochs=epochs,
            progress_total=sum(case_work(case, epochs) for case in suite), created_by=principal.user,
        )
        transaction.on_commit(lambda: enqueue("audits.evals.tasks.execute_eval_run", run.pk))
    return run
