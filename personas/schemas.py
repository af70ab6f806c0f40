from datetime import datetime
from uuid import UUID

from ninja import Field, Schema


class WorkspaceRef(Schema):
    id: UUID = Field(..., alias="public_id")
    slug: str


class PersonaSummaryOut(Schema):
    id: UUID = Field(..., alias="public_id")
    name: str = Field(..., alias="display_name")
    status: str
    workspace: WorkspaceRef
    audit_overall: float | None
    cost_usd: float
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_audit_overall(persona) -> float | None:
        audit = persona.current_version.audit if persona.current_version else None
        return audit.get("overall") if audit else None


class VersionOut(Schema):
    number: int
    source: str
    note: str
    audit: dict | None
    created_at: datetime


class PersonaOut(PersonaSummaryOut):
    brief: str
    origin: str  # brief | card (imported from a character card) | fork
    parent_id: UUID | None  # a fork's parent
    parent_version: int | None
    fork_note: str
    version: int | None
    layers: dict
    intent: dict | None
    audit: dict | None
    latest_run_id: UUID | None

    # A persona without a version yet (still generating) has none of the version's fields.
    @staticmethod
    def resolve_version(persona) -> int | None:
        return persona.current_version.number if persona.current_version else None

    @staticmethod
    def resolve_intent(persona) -> dict | None:
        return persona.current_version.intent if persona.current_version else None

    @staticmethod
    def resolve_audit(persona) -> dict | None:
        return persona.current_version.audit if persona.current_version else None

    @staticmethod
    def resolve_parent_id(persona) -> UUID | None:
        return persona.parent.public_id if persona.parent_id else None

    @staticmethod
    def resolve_latest_run_id(persona) -> UUID | None:
        return persona.runs.order_by("-created_at").values_list("public_id", flat=True).first()


class PersonaPatchIn(Schema):
    name: str | None = Field(None, max_length=120)
    layers: dict[str, dict] | None = None
    note: str = Field("", max_length=200)


class VersionDiffOut(Schema):
    from_version: int
    to_version: int
    changes: list[dict]
