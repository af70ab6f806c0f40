"""Config tree workflows: set, unset, bulk, lock, presets, snapshots, rollback, export and import.

Every write goes through `_write`: validate (outside the transaction: a model
check may import litellm), then in one transaction lock the org scope row (and
the workspace's), check expected versions and locks, apply with bulk queries,
bump the scope version and append history. API, pages and management commands
all call these functions, so permissions and locks are enforced here.

Versions (optimistic concurrency): every scope has a version that grows on each
write; an item's version is the scope version that last wrote it, 0 meaning "no
value at this scope". A write may carry the version it read — per key
(`versions`) and/or for the whole scope tree (`version`); if it is stale the
write is refused with 409 and nothing is applied.
"""

import getpass
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from studio.config import model_names, schema, selectors
from studio.config.models import (
    ChangeAction,
    ConfigChange,
    ConfigItem,
    ConfigLock,
    ConfigScope,
    ConfigSnapshot,
    SnapshotKind,
)
from studio.config.presets import PRESETS
from studio.errors import Conflict, Forbidden, Invalid, NotFound
from studio.models import Organization, Provider, Workspace
from studio.words import clip

UNSET = object()  # a change that removes the key from the scope
MAX_REASON = 500
MAX_ITEMS = 10_000
CHUNK = 500
EXPORT_FORMAT = "persona-studio.config/1"


def _shell_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


@dataclass(frozen=True)
class Operator:
    """Someone at the server's shell (management commands): full rights, recorded by name."""

    organization: Organization
    name: str = field(default_factory=_shell_user)
    user = None
    api_key = None

    @property
    def label(self) -> str:
        return f"operator {self.name} (manage.py)"

    def has_scope(self, scope: str) -> bool:
        return True

    def require_scope(self, scope: str) -> None:
        return None


@dataclass
class WriteResult:
    version: int  # the scope's version after the write
    changes: list[ConfigChange]
    before_snapshot: ConfigSnapshot | None = None


# --- validation ---------------------------------------------------------------------------


def _openai_compatible_configured(organization: Organization) -> bool:
    from studio.services import credential_statuses

    return any(s.provider == Provider.OPENAI_COMPATIBLE and s.source != "none" for s in credential_statuses(organization=organization))


def model_check_for(organization: Organization) -> schema.ModelCheck:
    """litellm's catalogue, offline/…, and openai/… where the org has an OpenAI-compatible endpoint."""
    endpoint: list[bool] = []  # looked up once, and only when a name needs it

    def check(name: str, mode: str) -> str | None:
        error = model_names.check_model(name, mode)
        if error and name.startswith(model_names.OPENAI_COMPATIBLE_PREFIX):
            if not endpoint:
                endpoint.append(_openai_compatible_configured(organization))
            if endpoint[0]:
                return model_names.check_model(name, mode, openai_compatible=True)
        return error

    return check


def _invalid(exc: schema.SchemaError) -> Invalid:
    return Invalid(str(exc), field=exc.key)


def _validate(organization: Organization, changes: dict[str, Any], *, replace: bool = False) -> dict[str, Any]:
    """Every value checked against the schema; the first bad one → 422 naming its key, nothing applied."""
    check = model_check_for(organization)
    validated = {}
    try:
        for key, value in changes.items():
            if value is UNSET:
                if not replace:
                    schema.require(key)  # removing what a snapshot lacks is always allowed
                validated[key] = UNSET
            else:
                validated[key] = schema.validate(key, value, check)
    except schema.SchemaError as exc:
        raise _invalid(exc) from None
    return validated


def _clean_reason(reason: str | None, *, required: bool = False) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise Invalid("a reason is required", field="reason")
    if len(reason) > MAX_REASON:
        raise Invalid(f"reason must be at most {MAX_REASON} characters", field="reason")
    return reason


def _check_workspace(organization: Organization, workspace: Workspace | None) -> None:
    if workspace is not None and workspace.organization_id != organization.pk:
        raise NotFound("workspace not found")


# --- the write path -------------------------------------------------------------------------


def _lock_scopes(organization: Organization, workspace: Workspace | None) -> ConfigScope:
    """Lock the org scope row (all config writes of an org serialize on it), then the workspace's."""
    scope, _ = ConfigScope.objects.select_for_update().get_or_create(organization=organization, workspace=None)
    if workspace is not None:
        scope, _ = ConfigScope.objects.select_for_update().get_or_create(organization=organization, workspace=workspace)
    return scope


def _scope_name(workspace: Workspace | None) -> str:
    return f"workspace '{workspace.slug}'" if workspace is not None else "org"


def _check_versions(scope, current, *, version: int | None, versions: dict[str, int], workspace) -> None:
    if version is not None and version != scope.version:
        raise Conflict(
            f"the {_scope_name(workspace)} config changed since version {version} (now {scope.version}); reload and retry",
            field="version",
        )
    for key, expected in versions.items():
        have = current[key].version if key in current else 0
        if expected is not None and expected != have:
            raise Conflict(f"{key}: version {expected} is stale (current version is {have}); reload and retry", field=key)


def _check_locks(actor, organization: Organization, workspace: Workspace | None, keys) -> None:
    locks = {lock.key: lock for lock in ConfigLock.objects.filter(organization=organization)}
    hit = [locks[key] for key in sorted(keys) if key in locks]
    if not hit:
        return
    named = "; ".join(f"{lock.key} is locked by {lock.author_label}: “{lock.reason}”" for lock in hit)
    if workspace is not None:
        raise Forbidden(f"{named} — a locked key cannot be overridden in a workspace")
    if not actor.has_scope("config:admin"):
        raise Forbidden(f"{named} — only admins and owners change a locked key")


def _diff(current: dict[str, ConfigItem], changes: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """key → (old, new) for the changes that change something; UNSET stands for "no value"."""
    diff = {}
    for key, new in changes.items():
        old = current[key].value if key in current else UNSET
        if old is UNSET and new is UNSET:
            continue
        if old is UNSET or new is UNSET or old != new:
            diff[key] = (old, new)
    return diff


def _apply(scope: ConfigScope, current: dict[str, ConfigItem], diff: dict[str, tuple[Any, Any]]) -> int:
    """Write the diff with bulk queries; returns the new scope version."""
    new_version = scope.version + 1
    # Guards the version even where select_for_update is a no-op (SQLite serializes with BEGIN IMMEDIATE).
    if not ConfigScope.objects.filter(pk=scope.pk, version=scope.version).update(version=F("version") + 1):
        raise Conflict("the config changed during this write; retry")
    stale = [current[key].pk for key in diff if key in current]
    for start in range(0, len(stale), CHUNK):
        ConfigItem.objects.filter(pk__in=stale[start : start + CHUNK]).delete()
    now = timezone.now()
    fresh = [
        ConfigItem(scope_id=scope.pk, key=key, value=new, version=new_version, updated_at=now)
        for key, (old, new) in diff.items() if new is not UNSET
    ]
    ConfigItem.objects.bulk_create(fresh, batch_size=CHUNK)
    scope.version = new_version
    return new_version


def _author(actor) -> dict:
    # Ids rather than instances: thousands of rows per rollback, and FK descriptors cost per row.
    return {
        "author_user_id": getattr(actor.user, "pk", None), "author_api_key_id": getattr(actor.api_key, "pk", None),
        "author_label": actor.label[:200],
    }


def _record(actor, organization, workspace, diff, *, action, reason, version, snapshot=None) -> list[ConfigChange]:
    common = {
        "organization_id": organization.pk, "workspace_id": getattr(workspace, "pk", None), "action": action,
        "reason": reason, "batch": uuid.uuid4(), "snapshot_id": getattr(snapshot, "pk", None),
        "scope_version": version, "created_at": timezone.now(), **_author(actor),
    }
    entries = [
        ConfigChange(key=key, old_value=None if old is UNSET else old, new_value=None if new is UNSET else new, **common)
        for key, (old, new) in diff.items()
    ]
    return ConfigChange.objects.bulk_create(entries, batch_size=CHUNK)


@dataclass
class _Write:
    """One write request: what to change, at which scope, under which checks."""

    changes: dict[str, Any]
    action: str
    reason: str = ""
    version: int | None = None
    versions: dict[str, int] = field(default_factory=dict)
    replace: bool = False  # the changes describe the whole scope tree (rollback, import --replace)
    snapshot: ConfigSnapshot | None = None
    before_snapshot_label: str = ""
    before_snapshot_kind: str = SnapshotKind.BEFORE_ROLLBACK


def _current_items(scope: ConfigScope, request: _Write, changes: dict) -> dict[str, ConfigItem]:
    """The scope's stored items: all of them for whole-tree writes and snapshots, else just the keys named."""
    items = ConfigItem.objects.filter(scope=scope)
    if not (request.replace or request.before_snapshot_label) and len(changes) <= CHUNK:
        items = items.filter(key__in=list(changes))
    return {item.key: item for item in items}


def _write(actor, workspace: Workspace | None, request: _Write) -> WriteResult:
    organization = actor.organization
    _check_workspace(organization, workspace)
    changes = _validate(organization, request.changes, replace=request.replace)
    with transaction.atomic():
        scope = _lock_scopes(organization, workspace)
        current = _current_items(scope, request, changes)
        _check_versions(scope, current, version=request.version, versions=request.versions, workspace=workspace)
        if request.replace:
            changes = {**{key: UNSET for key in current}, **changes}
        diff = _diff(current, changes)
        # A whole-tree write touches only what differs; an explicit write touches what it names.
        _check_locks(actor, organization, workspace, diff if request.replace else changes)
        before = None
        if request.before_snapshot_label:
            before = _snapshot(actor, scope, current, label=request.before_snapshot_label, kind=request.before_snapshot_kind)
        version = _apply(scope, current, diff) if diff else scope.version
        entries = _record(
            actor, organization, workspace, diff, action=request.action, reason=request.reason,
            version=version, snapshot=request.snapshot,
        )
    return WriteResult(version=version, changes=entries, before_snapshot=before)


# --- single and bulk writes -----------------------------------------------------------------


def config_set(
    *, actor, key: str, value: Any, workspace: Workspace | None = None, version: int | None = None, reason: str = ""
) -> WriteResult:
    actor.require_scope("config:write")
    request = _Write({key: value}, ChangeAction.SET, _clean_reason(reason), versions={key: version})
    return _write(actor, workspace, request)


def config_unset(
    *, actor, key: str, workspace: Workspace | None = None, version: int | None = None, reason: str = ""
) -> WriteResult:
    actor.require_scope("config:write")
    request = _Write({key: UNSET}, ChangeAction.UNSET, _clean_reason(reason), versions={key: version})
    return _write(actor, workspace, request)


@dataclass(frozen=True)
class BulkItem:
    key: str
    value: Any = None
    unset: bool = False
    version: int | None = None


def _bulk_changes(items: list[BulkItem]) -> tuple[dict, dict]:
    if not items:
        raise Invalid("items must list at least one change", field="items")
    if len(items) > MAX_ITEMS:
        raise Invalid(f"at most {MAX_ITEMS} items per bulk change", field="items")
    changes, versions = {}, {}
    for item in items:
        if item.key in changes:
            raise Invalid(f"{item.key}: appears twice in one bulk change", field=item.key)
        if not item.unset and item.value is None:
            raise Invalid(f"{item.key}: value is required (or set unset: true)", field=item.key)
        changes[item.key] = UNSET if item.unset else item.value
        versions[item.key] = item.version
    return changes, versions


def config_bulk_set(
    *, actor, items: list[BulkItem], workspace: Workspace | None = None, version: int | None = None, reason: str = ""
) -> WriteResult:
    """Set and unset many keys in one transaction: all applied, or none (the first bad item is named)."""
    actor.require_scope("config:write")
    changes, versions = _bulk_changes(items)
    request = _Write(changes, ChangeAction.BULK, _clean_reason(reason), version=version, versions=versions)
    return _write(actor, workspace, request)


def config_preset_apply(
    *, actor, name: str, workspace: Workspace | None = None, version: int | None = None, reason: str = ""
) -> WriteResult:
    actor.require_scope("config:admin")
    preset = PRESETS.get(name)
    if preset is None:
        raise NotFound(f"unknown preset '{name}'; presets: {', '.join(PRESETS)}")
    note = f"preset “{preset.label}”"
    reason = _clean_reason(f"{reason.strip()} ({note})" if reason and reason.strip() else f"applied {note}")
    return _write(actor, workspace, _Write(dict(preset.values), ChangeAction.PRESET, reason, version=version))


# --- locks ------------------------------------------------------------------------------------


def _lock_target(key: str) -> schema.KeySpec:
    try:
        return schema.require(key)
    except schema.SchemaError as exc:
        raise _invalid(exc) from None


def config_lock(*, actor, key: str, reason: str) -> ConfigLock:
    """Lock a key at org scope: workspaces can no longer override it and only admins change it."""
    actor.require_scope("config:admin")
    _lock_target(key)
    reason = _clean_reason(reason, required=True)
    organization = actor.organization
    with transaction.atomic():
        scope = _lock_scopes(organization, None)
        if ConfigLock.objects.filter(organization=organization, key=key).exists():
            raise Conflict(f"{key} is already locked", field=key)
        lock = ConfigLock.objects.create(organization=organization, key=key, reason=reason, **_author(actor))
        version = _apply(scope, {}, {})
        change = {key: (UNSET, {"locked": True, "reason": reason})}
        _record(actor, organization, None, change, action=ChangeAction.LOCK, reason=reason, version=version)
    return lock


def config_unlock(*, actor, key: str, reason: str = "") -> None:
    actor.require_scope("config:admin")
    _lock_target(key)
    reason = _clean_reason(reason)
    organization = actor.organization
    with transaction.atomic():
        scope = _lock_scopes(organization, None)
        lock = ConfigLock.objects.filter(organization=organization, key=key).first()
        if lock is None:
            raise Conflict(f"{key} is not locked", field=key)
        old = {"locked": True, "reason": lock.reason}
        lock.delete()
        version = _apply(scope, {}, {})
        _record(actor, organization, None, {key: (old, UNSET)}, action=ChangeAction.UNLOCK, reason=reason, version=version)


# --- snapshots and rollback -------------------------------------------------------------------


def _snapshot(actor, scope: ConfigScope, current: dict[str, ConfigItem], *, label: str, kind: str) -> ConfigSnapshot:
    items = {key: current[key].value for key in sorted(current)}
    return ConfigSnapshot.objects.create(
        organization=scope.organization, workspace=scope.workspace, label=label[:200], kind=kind,
        items=items, item_count=len(items), scope_version=scope.version, **_author(actor),
    )


def config_snapshot_create(*, actor, workspace: Workspace | None = None, label: str = "") -> ConfigSnapshot:
    """An immutable copy of one scope's stored tree."""
    actor.require_scope("config:write")
    organization = actor.organization
    _check_workspace(organization, workspace)
    label = (label or "").strip() or f"Snapshot {timezone.now():%Y-%m-%d %H:%M:%S} UTC"
    if len(label) > 200:
        raise Invalid("label must be at most 200 characters", field="label")
    with transaction.atomic():
        scope = _lock_scopes(organization, workspace)
        current = {item.key: item for item in ConfigItem.objects.filter(scope=scope)}
        return _snapshot(actor, scope, current, label=label, kind=SnapshotKind.MANUAL)


def config_rollback(*, actor, snapshot: ConfigSnapshot, reason: str, version: int | None = None) -> WriteResult:
    """Restore a snapshot's scope atomically, after an automatic "before rollback" snapshot (the undo point)."""
    actor.require_scope("config:admin")
    reason = _clean_reason(reason, required=True)
    request = _Write(
        dict(snapshot.items), ChangeAction.ROLLBACK, reason, version=version, replace=True, snapshot=snapshot,
        before_snapshot_label=undo_label(snapshot),
    )
    return _write(actor, snapshot.workspace, request)


_UNDO_LABEL = re.compile(r"^Before (?:rollback to|undoing the rollback to) “(?P<origin>.*)” \(\d{4}-\d\d-\d\d \d\d:\d\d\)$")


def undo_label(snapshot: ConfigSnapshot) -> str:
    """The label of the undo point a rollback to `snapshot` takes. Rolling back to an undo point (undoing a rollback)
    names the original snapshot once instead of nesting labels ("Before rollback to “Before rollback to “…”…”…")."""
    when = f"{timezone.localtime(snapshot.created_at):%Y-%m-%d %H:%M}"  # the target's time: which one it was
    if snapshot.kind == SnapshotKind.BEFORE_ROLLBACK and (match := _UNDO_LABEL.match(snapshot.label)):
        origin = match["origin"]
        while inner := _UNDO_LABEL.match(origin):  # labels written before this rule may nest already
            origin = inner["origin"]
        return f"Before undoing the rollback to “{clip(origin, 120)}” ({when})"
    return f"Before rollback to “{clip(snapshot.label, 120)}” ({when})"


# --- export and import ------------------------------------------------------------------------


def config_export(*, organization: Organization, workspace: Workspace | None = None) -> dict:
    """A scope's stored tree as a JSON document that config_import accepts."""
    _check_workspace(organization, workspace)
    return {
        "format": EXPORT_FORMAT,
        "organization": organization.slug,
        "workspace": workspace.slug if workspace is not None else None,
        "scope_version": selectors.scope_version(organization, workspace),  # informative; import takes `version` only when given
        "exported_at": timezone.now().isoformat(),
        "items": selectors.stored_tree(organization, workspace),
    }


def config_import(
    *, actor, items: Any, workspace: Workspace | None = None, replace: bool = False, reason: str = "", version: int | None = None
) -> WriteResult:
    """Write an exported tree into a scope, validated like any write: merged, or replacing the scope's tree."""
    actor.require_scope("config:admin")
    if not isinstance(items, dict) or not all(isinstance(key, str) for key in items):
        raise Invalid("items must be an object of key → value", field="items")
    if len(items) > MAX_ITEMS:
        raise Invalid(f"at most {MAX_ITEMS} items per import", field="items")
    if any(value is None for value in items.values()):
        key = next(key for key, value in items.items() if value is None)
        raise Invalid(f"{key}: value must not be null", field=key)
    request = _Write(
        dict(items), ChangeAction.IMPORT, _clean_reason(reason), version=version, replace=replace,
        before_snapshot_label=f"Before import ({'replace' if replace else 'merge'})", before_snapshot_kind=SnapshotKind.BEFORE_IMPORT,
    )
    return _write(actor, workspace, request)
