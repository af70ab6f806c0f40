"""Persona generation: validate the brief, resolve the engine config, create the run, enqueue it."""

import unicodedata
import uuid
from dataclasses import dataclass

from django.db import transaction

from personas.models import Persona
from pipeline.models import PipelineRun
from pipeline.prompts import STEPS
from studio.access import access_workspace, access_workspace_by_slug
from studio.config.selectors import effective_tree
from studio.errors import Invalid
from studio.models import Workspace
from studio.principal import Principal
from studio.services import credential_resolve, org_has_llm_credentials

MAX_BRIEF = 4000
OFFLINE_MODEL = "offline/studio"


def clean_brief(brief) -> str:
    if not isinstance(brief, str):
        raise Invalid("brief must be text", field="brief")
    brief = brief.strip()
    if not brief:
        raise Invalid("brief must not be empty", field="brief")
    if len(brief) > MAX_BRIEF:
        raise Invalid(f"brief must be at most {MAX_BRIEF} characters (got {len(brief)})", field="brief")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t\r" for ch in brief):
        raise Invalid("brief contains control characters", field="brief")
    return brief


def resolve_workspace(principal: Principal, workspace) -> Workspace:
    """The named workspace of the principal's org (id or slug), else the org's default one."""
    org = principal.organization
    if workspace in (None, ""):
        return org.workspaces.filter(slug="default").first() or org.workspaces.order_by("id").first()
    try:
        uuid.UUID(str(workspace))
    except ValueError:
        return access_workspace_by_slug(org, str(workspace))
    return access_workspace(org, workspace)


@dataclass(frozen=True)
class EnginePlan:
    engine: str  # "providers" | "offline"
    steps: dict


def engine_plan(workspace: Workspace) -> EnginePlan:
    """Each step's effective config; the offline engine for every step when the org has no credentials at all."""
    from studio.llm.gateway import provider_for_model

    org = workspace.organization
    tree = effective_tree(org, workspace)
    steps = {step: dict(tree.step(step)) for step in STEPS}
    steps["_audit"] = {
        "min_overall_score": tree["engine.pipeline.audit.min_overall_score"],
        "max_retries": tree["engine.pipeline.audit.max_retries"],
    }
    if not org_has_llm_credentials(organization=org):
        for step in STEPS:
            steps[step].update(model=OFFLINE_MODEL, fallbacks=[])
        return EnginePlan("offline", steps)
    for step in STEPS:
        if not steps[step].get("enabled", True) and step not in ("intent_parse", "audit"):
            raise Invalid(f"engine.pipeline.{step}.enabled is off, but every persona needs this layer", field=f"engine.pipeline.{step}.enabled")
        chain = [steps[step]["model"], *steps[step].get("fallbacks", [])]
        providers = {m: provider_for_model(m, org) for m in chain}
        if all(p is not None and credential_resolve(organization=org, provider=p) is None for p in providers.values()):
            missing = ", ".join(sorted({p for p in providers.values() if p}))
            raise Invalid(
                f"no credentials for provider {missing} used by engine.pipeline.{step}.model ({steps[step]['model']}): "
                "add them on the Providers page or change the model",
                field=f"engine.pipeline.{step}.model",
            )
    return EnginePlan("providers", steps)


def persona_generate(*, principal: Principal, brief: str, workspace=None) -> tuple[Persona, PipelineRun]:
    from pipeline.tasks import execute_run

    brief = clean_brief(brief)
    ws = resolve_workspace(principal, workspace)
    plan = engine_plan(ws)
    with transaction.atomic():
        persona = Persona.objects.create(
            organization=principal.organization, workspace=ws, brief=brief,
            created_by=principal.user, created_by_key=principal.api_key,
        )
        run = PipelineRun.objects.create(
            organization=principal.organization, workspace=ws, persona=persona, engine=plan.engine, step_config=plan.steps
        )
        transaction.on_commit(lambda: execute_run.delay(run.pk))
    return persona, run
