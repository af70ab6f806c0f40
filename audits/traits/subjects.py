"""What a trait profile can be run on: a persona (through its system prompt), or a subject another app registers —
training_jobs registers "training_job" (a job's base model or tuned checkpoint, sampled with no system prompt). Audits
never import training_jobs (the apps are layered); the registry is how a job's checkpoint reaches the runner.

A source resolves an id to a Subject inside one org (NotFound for a missing or foreign one, Conflict when it cannot
answer yet) and samples replies for a batch of conversations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from personas.access import access_persona
from personas.card_export import persona_constitution  # the constitution source training_jobs registers
from personas.models import Persona, PersonaStatus
from personas.prompting import persona_system_prompt
from studio.errors import Conflict, Invalid


@dataclass(frozen=True)
class Subject:
    kind: str  # persona | training_job
    id: UUID
    side: str  # "" for a persona; base | tuned for a training job
    label: str  # e.g. "Mara Quill (persona v3)", "tuned (DPO + SFT) of mara-v1"
    persona: Persona | None
    constitution: dict | None  # the constitution document whose traits the profile flags
    system: str = ""  # the subject's own system prompt ("" for a checkpoint: the character must show without one)
    read_scope: str = "personas:read"
    write_scope: str = "personas:write"
    details: dict = field(default_factory=dict)  # what the source's sampler needs (folders, sampling knobs)


# sample(organization, subject details, conversations, seed) → one reply per conversation (None where it failed)
Sampler = Callable[[object, dict, list[list[dict]], int], list[str | None]]


@dataclass(frozen=True)
class SubjectSource:
    kind: str
    resolve: Callable[[object, UUID, str], Subject]  # (organization, id, side)
    sample: Sampler | None  # None: replies come through the LLM gateway (a persona)
    find: Callable[[object, UUID], object]  # the subject's object in the org, ready or not (NotFound otherwise)
    sides: tuple[str, ...] = ("",)


SOURCES: dict[str, SubjectSource] = {}


def register_subject_source(source: SubjectSource) -> None:
    SOURCES[source.kind] = source


def source_for(kind: str) -> SubjectSource:
    try:
        return SOURCES[kind]
    except KeyError:
        raise Invalid(f"trait profiles cannot be run on a {kind}", field="subject") from None


def _persona_subject(organization, persona_id: UUID, side: str) -> Subject:
    persona = access_persona(organization, persona_id)
    if persona.status == PersonaStatus.GENERATING or persona.current_version is None:
        raise Conflict("this persona has no finished version to profile yet: wait for its generation to end")
    version = persona.current_version
    found = persona_constitution(persona)
    return Subject(kind="persona", id=persona.public_id, side="", label=f"{persona.display_name} (persona v{version.number})",
                   persona=persona, constitution=(found or {}).get("document"), system=persona_system_prompt(version.layers))


register_subject_source(SubjectSource(kind="persona", resolve=_persona_subject, sample=None, find=access_persona))
