"""REST API for the org config tree (SPEC §8): /v1/config…

Scopes: reads need config:read, writes config:write; locks, presets, rollback and
import need config:admin (the services check them, for every interface alike).
Literal paths are registered before /{key}, which matches any key.
"""

from ninja import Query, Router, Status

from studio.config import selectors, services
from studio.config.models import ConfigChange, ConfigSnapshot
from studio.config.presets import PRESETS
from studio.config.schemas import (
    BulkIn,
    BulkOut,
    ConfigItemOut,
    ConfigSetIn,
    ConfigTreeOut,
    ConfigWriteOut,
    DiffOut,
    HistoryPageOut,
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

router = Router(tags=["config"])


def _reader(request):
    request.auth.require_scope("config:read")
    return request.auth.organization


def _workspace_out(workspace) -> dict | None:
    return {"id": workspace.public_id, "slug": workspace.slug, "name": workspace.name} if workspace else None


def _lock_out(lock) -> dict | None:
    return {"reason": lock.reason, "locked_by": lock.author_label, "locked_at": lock.created_at} if lock else None


def _item_out(item: selectors.EffectiveItem) -> dict:
    spec = item.spec
    return {
        "key": item.key, "value": item.value, "default": spec.default, "source": item.source,
        "locked": item.locked, "lock": _lock_out(item.lock), "shadowed": item.shadowed, "version": item.version,
        "type": spec.type_label, "bounds": spec.bounds, "help": spec.help, "group": spec.group,
    }


def _snapshot_out(snapshot: ConfigSnapshot) -> dict:
    return {
        "id": snapshot.public_id, "label": snapshot.label, "kind": snapshot.kind,
        "workspace": _workspace_out(snapshot.workspace), "author": snapshot.author_label,
        "item_count": snapshot.item_count, "scope_version": snapshot.scope_version, "created_at": snapshot.created_at,
    }


def _change_out(change: ConfigChange, snapshot_ids: dict) -> dict:
    return {
        "action": change.action, "key": change.key, "scope": change.scope_label,
        "workspace": _workspace_out(change.workspace), "old": change.old_value, "new": change.new_value,
        "reason": change.reason, "author": change.author_label, "created_at": change.created_at,
        "batch": change.batch, "snapshot_id": snapshot_ids.get(change.snapshot_id), "version": change.scope_version,
    }


def _item_after_write(organization, workspace, key: str) -> dict:
    return _item_out(selectors.item_for(selectors.effective_tree(organization, workspace), key))


# --- the tree ------------------------------------------------------------------------------------


@router.get("", response=ConfigTreeOut, summary="The effective tree with each value's source and lock")
def get_tree(request, workspace: str | None = None):
    organization = _reader(request)
    tree = selectors.effective_tree(organization, selectors.access_workspace_ref(organization, workspace))
    return {
        "organization": organization.slug, "workspace": _workspace_out(tree.workspace), "version": tree.version,
        "items": [_item_out(item) for item in tree.items.values()],
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
def list_presets(request):
    _reader(request)
    return [{"name": p.name, "label": p.label, "description": p.description, "values": p.values} for p in PRESETS.values()]


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
def list_snapshots(
    request, workspace: str | None = None, scope: str | None = Query(None, description="'org' for org-scope snapshots only")
):
    organization = _reader(request)
    found = selectors.snapshots(
        organization, workspace=selectors.access_workspace_ref(organization, workspace), org_only=scope == "org"
    )
    return [_snapshot_out(s) for s in found[:500]]


@router.post("/snapshots", response={201: SnapshotOut})
def create_snapshot(request, payload: SnapshotIn):
    organization = request.auth.organization
    workspace = selectors.access_workspace_ref(organization, payload.workspace)
    snapshot = services.config_snapshot_create(actor=request.auth, workspace=workspace, label=payload.label)
    return Status(201, _snapshot_out(snapshot))


@router.get("/snapshots/{snapshot_id}", response=SnapshotDetailOut)
def get_snapshot(request, snapshot_id: str):
    snapshot = selectors.access_snapshot(_reader(request), snapshot_id)
    return {**_snapshot_out(snapshot), "items": snapshot.items}


@router.get("/snapshots/{snapshot_id}/diff", response=DiffOut, summary="Added / removed / changed from the snapshot to `against`")
def diff_snapshot(request, snapshot_id: str, against: str = Query("now", description="a snapshot id, or 'now'")):
    organization = _reader(request)
    snapshot = selectors.access_snapshot(organization, snapshot_id)
    other = None if against == "now" else selectors.access_snapshot(organization, against)
    diff = selectors.snapshot_diff(snapshot, other)
    return {
        "snapshot": _snapshot_out(snapshot), "against": _snapshot_out(other) if other else None,
        "added": diff.added, "removed": diff.removed, "changed": diff.changed,
    }


@router.post("/snapshots/{snapshot_id}/rollback", response=RollbackOut, summary="Restore a snapshot atomically (admin; reason required)")
def rollback(request, snapshot_id: str, payload: RollbackIn):
    snapshot = selectors.access_snapshot(request.auth.organization, snapshot_id)
    result = services.config_rollback(actor=request.auth, snapshot=snapshot, reason=payload.reason, version=payload.version)
    return {
        "version": result.version, "changed": [change.key for change in result.changes],
        "snapshot": _snapshot_out(snapshot), "before_snapshot": _snapshot_out(result.before_snapshot),
    }


# --- history, export, import ------------------------------------------------------------------------


@router.get("/history", response=HistoryPageOut)
def history(
    request, key: str = "", action: str = "", scope: str = Query("", description="'org', or a workspace UUID or slug"),
    limit: int = Query(100, ge=1, le=500), offset: int = Query(0, ge=0),
):
    organization = _reader(request)
    workspace = None if scope in ("", "org") else selectors.access_workspace_ref(organization, scope)
    entries = selectors.history(organization, key=key, action=action, workspace=workspace, org_only=scope == "org")
    page = list(entries[offset : offset + limit])
    snapshot_ids = dict(ConfigSnapshot.objects.filter(pk__in={e.snapshot_id for e in page if e.snapshot_id}).values_list("pk", "public_id"))
    count = entries.count()
    return {
        "count": count, "next_offset": offset + limit if offset + limit < count else None,
        "items": [_change_out(e, snapshot_ids) for e in page],
    }


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
    return {"version": result.version, "changed": [c.key for c in result.changes], "before_snapshot": _snapshot_out(result.before_snapshot)}


# --- one key (last: {key} matches any segment) ------------------------------------------------------


@router.get("/{key}", response=ConfigItemOut)
def get_key(request, key: str, workspace: str | None = None):
    organization = _reader(request)
    tree = selectors.effective_tree(organization, selectors.access_workspace_ref(organization, workspace))
    item = selectors.item_for(tree, key)
    if item is None:
        raise NotFound(f"unknown config key '{key[:200]}'")
    return _item_out(item)


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
    return Status(201, {"key": key, "lock": _lock_out(lock)})


@router.delete("/{key}/lock", response={204: None}, summary="Unlock a key (admin)")
def unlock_key(request, key: str, reason: str = ""):
    services.config_unlock(actor=request.auth, key=key, reason=reason)
    return Status(204, None)
