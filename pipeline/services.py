"""Persona generation: validate the brief, resolve the engine config, create the run, enqueue it."""

import unicodedata
import uuid

from django.db import transaction

from personas.models import Persona
from pipeline.models import PipelineRun
from studio.access import access_workspace, access_workspace_by_slug
from studio.errors import Invalid
from studio.llm.engines import engine_plan
from studio.models import Workspace
from studio.principal import Principal
from studio.work.queue import enqueue

MAX_BRIEF = 4000


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


def persona_generate(*, principal: Principal, brief: str, workspace=None) -> tuple[Persona, PipelineRun]:
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
        transaction.on_commit(lambda: enqueue("pipeline.tasks.execute_run", run.pk))
    return persona, run
