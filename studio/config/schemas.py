from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from ninja import Field, Schema

VERSION_HELP = (
    "Optimistic concurrency: the version you read (0 = no value at this scope). "
    "A stale version is refused with 409 and nothing is written; leave it out to write regardless."
)
WORKSPACE_HELP = "Workspace UUID or slug; leave out for the org scope."


class WorkspaceRefOut(Schema):
    id: UUID = Field(..., alias="public_id")
    slug: str
    name: str


class LockOut(Schema):
    reason: str
    locked_by: str = Field(..., alias="author_label")
    locked_at: datetime = Field(..., alias="created_at")


class ConfigItemOut(Schema):
    key: str
    value: Any
    default: Any = Field(..., alias="spec.default")
    source: Literal["default", "org", "workspace"]
    locked: bool
    lock: LockOut | None
    shadowed: bool = Field(..., description="A workspace override exists but the org lock hides it.")
    version: int = Field(..., description="Version of this key at the scope read (0: no value there). Send it back when writing.")
    type: str = Field(..., alias="spec.type_label")
    bounds: str = Field(..., alias="spec.bounds")
    help: str = Field(..., alias="spec.help")
    group: str = Field(..., alias="spec.group")


class ConfigTreeOut(Schema):
    organization: str
    workspace: WorkspaceRefOut | None
    version: int = Field(..., description="Version of the scope read; send it as a bulk write's `version`.")
    items: list[ConfigItemOut]


class ConfigSetIn(Schema):
    value: Any
    workspace: str | None = Field(None, description=WORKSPACE_HELP)
    version: int | None = Field(None, ge=0, description=VERSION_HELP)
    reason: str = Field("", max_length=500)


class ConfigWriteOut(Schema):
    version: int = Field(..., description="The scope's version after the write.")
    changed: int
    item: ConfigItemOut


class BulkItemIn(Schema):
    key: str = Field(..., max_length=200)
    value: Any = None
    unset: bool = False
    version: int | None = Field(None, ge=0, description=VERSION_HELP)


class BulkIn(Schema):
    items: list[BulkItemIn]
    workspace: str | None = Field(None, description=WORKSPACE_HELP)
    version: int | None = Field(None, ge=0, description="The scope version you read; any change since → 409.")
    reason: str = Field("", max_length=500)


class BulkOut(Schema):
    version: int
    changed: list[str]


class LockIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)


class LockedOut(Schema):
    key: str
    lock: LockOut


class PresetOut(Schema):
    name: str
    label: str
    description: str
    values: dict[str, Any]


class PresetApplyIn(Schema):
    workspace: str | None = Field(None, description=WORKSPACE_HELP)
    version: int | None = Field(None, ge=0)
    reason: str = Field("", max_length=500)


class SnapshotIn(Schema):
    workspace: str | None = Field(None, description=WORKSPACE_HELP)
    label: str = Field("", max_length=200)


class SnapshotOut(Schema):
    id: UUID = Field(..., alias="public_id")
    label: str
    kind: str
    workspace: WorkspaceRefOut | None
    author: str = Field(..., alias="author_label")
    item_count: int
    scope_version: int
    created_at: datetime


class SnapshotDetailOut(SnapshotOut):
    items: dict[str, Any]


class DiffOut(Schema):
    snapshot: SnapshotOut
    against: SnapshotOut | None = Field(..., description="null: compared with the scope's tree now.")
    added: list[dict]
    removed: list[dict]
    changed: list[dict]


class RollbackIn(Schema):
    reason: str = Field(..., min_length=1, max_length=500)
    version: int | None = Field(None, ge=0, description="The scope version you read; any change since → 409.")


class RollbackOut(Schema):
    version: int
    changed: list[str]
    snapshot: SnapshotOut
    before_snapshot: SnapshotOut = Field(..., description="Taken just before; roll back to it to undo this rollback.")


class HistoryEntryOut(Schema):
    action: str
    key: str
    scope: str = Field(..., alias="scope_label")
    workspace: WorkspaceRefOut | None
    old: Any = Field(..., alias="old_value")
    new: Any = Field(..., alias="new_value")
    reason: str
    author: str = Field(..., alias="author_label")
    created_at: datetime
    batch: UUID
    snapshot_id: UUID | None = Field(..., alias="snapshot_public_id", description="The snapshot taken with this change, if any")
    version: int | None = Field(..., alias="scope_version")


class ConfigImportIn(Schema):
    items: dict[str, Any]
    workspace: str | None = Field(None, description=WORKSPACE_HELP)
    mode: Literal["merge", "replace"] = "merge"
    version: int | None = Field(None, ge=0)
    reason: str = Field("", max_length=500)


class ConfigImportOut(Schema):
    version: int
    changed: list[str]
    before_snapshot: SnapshotOut
