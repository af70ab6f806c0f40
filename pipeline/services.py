"""Persona generation: validate the brief, resolve the engine config, create the run, enqueue it. The same for a
persona imported from a character card (a run that keeps the card's words) and for a fork of a persona (a run
from the parent's layers and the fork note)."""

import logging
import json
import unicodedata
import uuid

from django.db import transaction

from personas.card_layers import card_brief, card_pins, card_sections
from personas.cards import CardError, read_card, without_cards
from personas.models import Persona, PersonaCard, PersonaOrigin, PersonaStatus, PersonaVersion
from pipeline.models import AUDIT_ONLY, PipelineRun
from studio.access import access_workspace, access_workspace_by_slug
from studio.config.selectors import effective_tree
from studio.errors import Conflict, Invalid, NotFound
from studio.llm.engines import engine_plan
from studio.models import Workspace
from studio.principal import Principal
from studio.work.queue import enqueue

logger = logging.getLogger(__name__)

MAX_BRIEF = 4000
MAX_FORK_NOTE = 200


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
    with transaction.atomic():
        persona = Persona.objects.create(
            organization=principal.organization, workspace=ws, brief=brief,
            created_by=principal.user, created_by_key=principal.api_key,
        )
        return persona, _run_start(persona)


def _run_start(persona: Persona, *, mode: str = PersonaOrigin.BRIEF, seed: dict | None = None) -> PipelineRun:
    """The persona's generation run, queued after the caller's transaction commits."""
    plan = engine_plan(persona.workspace)
    run = PipelineRun.objects.create(
        organization=persona.organization, workspace=persona.workspace, persona=persona, engine=plan.engine,
        step_config=plan.steps, mode=mode, seed=seed or {},
    )
    transaction.on_commit(lambda: enqueue("pipeline.tasks.execute_run", run.pk))
    return run


def _without_controls(text: str) -> str:
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cc" or ch in "\n\t")


def persona_import(*, principal: Principal, content: bytes, file_name: str = "", workspace=None) -> tuple[Persona, PipelineRun]:
    """A persona from a character card (V1/V2/V3 in JSON, PNG or CHARX): the card is kept unchanged beside it, and
    the pipeline drafts the layers from it keeping its words (its name, its spoken lines; all four layers when the
    card came from this studio) and scores the layers' fidelity to it."""
    try:
        card = read_card(content)
    except CardError as exc:
        raise Invalid(exc.message, field=exc.field) from None
    ws = resolve_workspace(principal, workspace)
    brief = clean_brief(_without_controls(card_brief(card.data)))
    fidelity_fields = ("name", "nickname", "description", "personality", "first_mes", "mes_example", "alternate_greetings")
    seed = {"pins": card_pins(card.data), "sections": card_sections(card.data),
            "card": {key: card.data.get(key) for key in fidelity_fields if card.data.get(key)}}
    with transaction.atomic():
        persona = Persona.objects.create(
            organization=principal.organization, workspace=ws, brief=brief, origin=PersonaOrigin.CARD,
            created_by=principal.user, created_by_key=principal.api_key,
        )
        PersonaCard.objects.create(
            persona=persona, spec=card.spec, container=card.container, file_name=file_name[:200], original=content,
            document=card.document, data=card.data, lorebook=card.book,
            avatar=without_cards(card.image) if card.image else None,
        )
        return persona, _run_start(persona, mode=PersonaOrigin.CARD, seed=seed)


def persona_fork(*, principal: Principal, parent: Persona, note) -> tuple[Persona, PipelineRun]:
    """A child of `parent` (its current version) that differs as `note` says ("same woman, but at work"): its soul
    and self are the parent's; the pipeline redraws its mask and surface from the parent's layers and the note."""
    if not isinstance(note, str) or not note.strip():
        raise Invalid("say what differs from the parent (1–200 characters)", field="note")
    note = " ".join(note.split())
    if len(note) > MAX_FORK_NOTE:
        raise Invalid(f"the fork note must be at most {MAX_FORK_NOTE} characters (got {len(note)})", field="note")
    if any(unicodedata.category(ch) == "Cc" for ch in note):
        raise Invalid("the fork note contains control characters", field="note")
    version = parent.current_version
    if version is None or parent.status == PersonaStatus.GENERATING:
        raise Conflict("this persona has no layers to fork yet: wait for its generation to finish")
    brief = f"{parent.brief[: MAX_BRIEF - len(note) - 10]}\n\nFork: {note}"
    seed = {
        "pins": {"soul": version.soul, "self": version.self_layer, "surface": {"name": version.surface["name"]}},
        "sections": {"parent": json.dumps(version.layers, ensure_ascii=False), "fork": note},
    }
    with transaction.atomic():
        persona = Persona.objects.create(
            organization=parent.organization, workspace=parent.workspace, brief=brief, origin=PersonaOrigin.FORK,
            parent=parent, parent_version=version.number, fork_note=note,
            created_by=principal.user, created_by_key=principal.api_key,
        )
        return persona, _run_start(persona, mode=PersonaOrigin.FORK, seed=seed)


def version_audit_start(*, principal: Principal, persona: Persona, number) -> PipelineRun:
    """Audit one existing version (edited by hand, restored, or generated before a config change) in a run of its own:
    the run page shows it live and the scores land on that version. One at a time per version."""
    principal.require_scope("personas:write")
    try:
        version = persona.versions.get(number=int(number))
    except (PersonaVersion.DoesNotExist, TypeError, ValueError):
        raise NotFound(f"this persona has no version {number}", field="version") from None
    if persona.status == PersonaStatus.GENERATING:
        raise Conflict("this persona is still generating: audit it when its run ends")
    running = PipelineRun.objects.unfinished().filter(persona=persona, mode=AUDIT_ONLY, seed__audit_version=version.number)
    if running.exists():
        raise Conflict(f"version {version.number} is already being audited", field="version")
    with transaction.atomic():
        return _run_start(persona, mode=AUDIT_ONLY, seed={"audit_version": version.number})


def on_version_saved(sender, *, persona, version, principal, **kwargs) -> None:
    """Receiver of personas.signals.persona_version_saved: audit an edited version when engine.pipeline.audit.on_edit."""
    if not effective_tree(persona.organization, persona.workspace)["engine.pipeline.audit.on_edit"]:
        return
    try:
        version_audit_start(principal=principal, persona=persona, number=version.number)
    except (Conflict, NotFound) as exc:  # already being audited, still generating, or gone with its persona
        logger.info("no automatic audit of %s v%s: %s", persona.public_id, version.number, exc.message)
