from datetime import datetime
from uuid import UUID

from ninja import Field, Schema


class WorkspaceRef(Schema):
    id: UUID
    slug: str


class PersonaSummaryOut(Schema):
    id: UUID
    name: str
    status: str
    workspace: WorkspaceRef
    audit_overall: float | None
    cost_usd: float
    created_at: datetime
    updated_at: datetime


class PersonaPageOut(Schema):
    items: list[PersonaSummaryOut]
    next_cursor: str | None


class VersionOut(Schema):
    number: int
    source: str
    note: str
    audit: dict | None
    created_at: datetime


class PersonaOut(PersonaSummaryOut):
    brief: str
    version: int | None
    layers: dict
    intent: dict | None
    audit: dict | None
    latest_run_id: UUID | None


class PersonaPatchIn(Schema):
    name: str | None = Field(None, max_length=120)
    layers: dict[str, dict] | None = None
    note: str = Field("", max_length=200)


class VersionDiffOut(Schema):
    from_version: int
    to_version: int
    changes: list[dict]
