"""REST API for the org config tree (SPEC §8): /v1/config…

Scopes: reads need config:read, writes config:write; locks, presets, rollback and
import need config:admin (the services check them, for every interface alike).
Literal paths are registered before /{key}, which matches any key.
"""

from django.db.models import F
from ninja import Query, Router, Status

from studio.config import selectors, services
from studio.config.presets import PRESETS
from studio.config.schemas import (
    BulkIn,
    BulkOut,
    ConfigItemOut,
    ConfigSetIn,
    ConfigTreeOut,
    ConfigWriteOut,
    DiffOut,
    HistoryEntryOut,
    ConfigImportIn,
    ConfigImportOut,
    LockedOut,
    LockIn,
    PresetApplyIn,
    PresetOut,
    RollbackIn,
    RollbackOut,
    SnapshotDetailOut,
    SnapshotIn,
    SnapshotOut,
)
from studio.errors import NotFound
from studio.pagination import paginated

router = Router(tags=["config"])


def _reader(request):
    request.auth.require_scope("config:read")
    return request.auth.organization


def _item_after_write(organization, workspace, key: str) -> selectors.EffectiveItem:
    return selectors.item_for(selectors.effective_tree(organization, workspace), key)


# --- the tree ------------------------------------------------------------------------------------


@router.get("", response=ConfigTreeOut, summary="The effective tree with each value's source and lock")
def get_tree(request, workspace: str | None = None):
    organization = _reader(request)
    tree = selectors.effective_tree(organization, selectors.access_workspace_ref(organization, workspace))
    return {
        "organization": organization.slug, "workspace": tree.workspace, "version": tree.version,
        "items": list(tree.items.values()),
    }


@router.post("/bulk", response=BulkOut, summary="Set and unset many keys atomically: all or nothing")
def bulk_set(request, payload: BulkIn):
    organization = request.auth.organization
    workspace = selectors.access_workspace_ref(organization, payload.workspace)
    items = [services.BulkItem(i.key, i.value, i.unset, i.version) for i in payload.items]
    result = services.config_bulk_set(actor=request.auth, items=items, workspace=workspace, version=payload.version, reason=payload.reason)
    return {"version": result.version, "changed": [change.key for change in result.changes]}


# --- presets -------------------------------------------------------------------------------------


@router.get("/presets", response=list[PresetOut])
@paginated
def list_presets(request):
    _reader(request)
    return list(PRESETS.values())


@router.post("/presets/{name}/apply", response=BulkOut, summary="Apply a named bundle as one bulk change (admin)")
def apply_preset(request, name: str, payload: PresetApplyIn):
    organization = request.auth.organization
    workspace = selectors.access_workspace_ref(organization, payload.workspace)
    result = services.config_preset_apply(
        actor=request.auth, name=name, workspace=workspace, version=payload.version, reason=payload.reason
    )
    return {"version": result.version, "changed": [change.key for change in result.changes]}


# --- snapshots -----------------------------------------------------------------------------------


@router.get("/snapshots", response=list[SnapshotOut])
@paginated
def list_snapshots(
    request, workspace: str | None = None, scope: str | None = Query(None, description="'org' for org-scope snapshots only")
):
    organization = _reader(request)
    return selectors.snapshots(
        organization, workspace=selectors.access_workspace_ref(organization, workspace), org_only=scope == "org"
    )


@router.post("/snapshots", response={201: SnapshotOut})
def create_snapshot(request, payload: SnapshotIn):
    organization = request.auth.organization
    workspace = selectors.access_workspace_ref(organization, payload.workspace)
    snapshot = services.config_snapshot_create(actor=request.auth, workspace=workspace, label=payload.label)
    return Status(201, snapshot)


@router.get("/snapshots/{snapshot_id}", response=SnapshotDetailOut)
def get_snapshot(request, snapshot_id: str):
    return selectors.access_snapshot(_reader(request), snapshot_id)


@router.get("/snapshots/{snapshot_id}/diff", response=DiffOut, summary="Added / removed / changed from the snapshot to `against`")
def diff_snapshot(request, snapshot_id: str, against: str = Query("now", description="a snapshot id, or 'now'")):
    organization = _reader(request)
    snapshot = selectors.access_snapshot(organization, snapshot_id)
    other = None if against == "now" else selectors.access_snapshot(organization, against)
    diff = selectors.snapshot_diff(snapshot, other)
    return {
        "snapshot": snapshot, "against": other,
        "added": diff.added, "removed": diff.removed, "changed": diff.changed,
    }


@router.post("/snapshots/{snapshot_id}/rollback", response=RollbackOut, summary="Restore a snapshot atomically (admin; reason required)")
def rollback(request, snapshot_id: str, payload: RollbackIn):
    snapshot = selectors.access_snapshot(request.auth.organization, snapshot_id)
    result = services.config_rollback(actor=request.auth, snapshot=snapshot, reason=payload.reason, version=payload.version)
    return {
        "version": result.version, "changed": [change.key for change in result.changes],
        "snapshot": snapshot, "before_snapshot": result.before_snapshot,
    }


# --- history, export, import ------------------------------------------------------------------------


@router.get("/history", response=list[HistoryEntryOut])
@paginated
def history(request, key: str = "", action: str = "", scope: str = Query("", description="'org', or a workspace UUID or slug")):
    organization = _reader(request)
    workspace = None if scope in ("", "org") else selectors.access_workspace_ref(organization, scope)
    entries = selectors.history(organization, key=key, action=action, workspace=workspace, org_only=scope == "org")
    # The snapshot's id only: a join for one column, not its stored tree.
    return entries.annotate(snapshot_public_id=F("snapshot__public_id"))


@router.get("/export", response=dict, summary="A scope's stored tree as JSON (import accepts it as is)")
def export(request, workspace: str | None = None):
    organization = _reader(request)
    return services.config_export(organization=organization, workspace=selectors.access_workspace_ref(organization, workspace))


@router.post("/import", response=ConfigImportOut, summary="Write an exported tree into a scope, validated like any write (admin)")
def import_tree(request, payload: ConfigImportIn):
    organization = request.auth.organization
    workspace = selectors.access_workspace_ref(organization, payload.workspace)
    result = services.config_import(
        actor=request.auth, items=payload.items, workspace=workspace, replace=payload.mode == "replace",
        reason=payload.reason, version=payload.version,
    )
    return {"version": result.version, "changed": [c.key for c in result.changes], "before_snapshot": result.before_snapshot}


# --- one key (last: {key} matches any segment) ------------------------------------------------------


@router.get("/{key}", response=ConfigItemOut)
def get_key(request, key: str, workspace: str | None = None):
    organization = _reader(request)
    tree = selectors.effective_tree(organization, selectors.access_workspace_ref(organization, workspace))
    item = selectors.item_for(tree, key)
    if item is None:
        raise NotFound(f"unknown config key '{key[:200]}'")
    return item


@router.put("/{key}", response=ConfigWriteOut, summary="Set a key at org or workspace scope")
def set_key(request, key: str, payload: ConfigSetIn):
    organization = request.auth.organization
    workspace = selectors.access_workspace_ref(organization, payload.workspace)
    result = services.config_set(
        actor=request.auth, key=key, value=payload.value, workspace=workspace, version=payload.version, reason=payload.reason
    )
    return {"version": result.version, "changed": len(result.changes), "item": _item_after_write(organization, workspace, key)}


@router.delete("/{key}", response=ConfigWriteOut, summary="Unset a key at org or workspace scope (back to the inherited value)")
def unset_key(request, key: str, workspace: str | None = None, version: int | None = Query(None, ge=0), reason: str = ""):
    organization = request.auth.organization
    workspace_obj = selectors.access_workspace_ref(organization, workspace)
    result = services.config_unset(actor=request.auth, key=key, workspace=workspace_obj, version=version, reason=reason)
    return {"version": result.version, "changed": len(result.changes), "item": _item_after_write(organization, workspace_obj, key)}


@router.post("/{key}/lock", response={201: LockedOut}, summary="Lock a key at org scope (admin)")
def lock_key(request, key: str, payload: LockIn):
    lock = services.config_lock(actor=request.auth, key=key, reason=payload.reason)
    return Status(201, {"key": key, "lock": lock})


@router.delete("/{key}/lock", response={204: None}, summary="Unlock a key (admin)")
def unlock_key(request, key: str, reason: str = ""):
    services.config_unlock(actor=request.auth, key=key, reason=reason)
    return Status(204, None)
