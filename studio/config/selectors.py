"""Reads of the config tree. `effective_tree` is what the pipeline calls for its knobs."""

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Max, Q

from studio.access import access_workspace, access_workspace_by_slug, get_in_org
from studio.config import schema
from studio.config.models import ConfigChange, ConfigItem, ConfigLock, ConfigScope, ConfigSnapshot
from studio.errors import NotFound
from studio.models import Organization, Workspace

@dataclass(frozen=True)
class LockInfo:
    reason: str
    author_label: str
    created_at: Any


@dataclass(frozen=True)
class EffectiveItem:
    spec: schema.KeySpec
    value: Any
    source: str  # default | org | workspace
    version: int  # version of the key at the scope read (0: no override there); send it back to write
    lock: LockInfo | None = None
    shadowed: bool = False  # a workspace override exists, but the org lock hides it

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def locked(self) -> bool:
        return self.lock is not None

    @property
    def dom_id(self) -> str:
        return "cfg-" + self.key.replace(".", "-")


@dataclass(frozen=True)
class EffectiveTree:
    organization: Organization
    workspace: Workspace | None
    version: int  # version of the scope read (the workspace's, else the org's)
    items: dict[str, EffectiveItem] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.items[key].value

    def step(self, step: str) -> dict:
        """Every key under engine.pipeline.<step>. by its last part: model, temperature, max_tokens, fallbacks, enabled…"""
        prefix = f"engine.pipeline.{step}."
        return {key.removeprefix(prefix): item.value for key, item in self.items.items() if key.startswith(prefix)}

    def axis_weights(self, persona_id=None) -> dict:
        """Reviewer axis weights for a persona: its own if set, else the scope's general weights."""
        if persona_id is not None and (item := self.items.get(schema.persona_weights_key(persona_id))):
            return item.value
        return self.items["reviews.axis_weights"].value

    def groups(self) -> list[tuple[str, list[EffectiveItem]]]:
        grouped: dict[str, list[EffectiveItem]] = {}
        for item in self.items.values():
            grouped.setdefault(item.spec.group, []).append(item)
        return list(grouped.items())


@dataclass(frozen=True)
class TreeFilter:
    """What the tree page shows: a search over key, name and help; one group (a pipeline step…); a source; locked or not."""

    q: str = ""
    group: str = ""
    source: str = ""  # default | org | workspace
    locked: str = ""  # yes | no

    @classmethod
    def of(cls, params) -> "TreeFilter":
        get = lambda name, allowed=None: (v if (v := str(params.get(name, "")).strip()[:200]) and (allowed is None or v in allowed) else "")  # noqa: E731
        return cls(q=get("q"), group=get("group"), source=get("source", {"default", "org", "workspace"}), locked=get("locked", {"yes", "no"}))

    @property
    def active(self) -> bool:
        return bool(self.q or self.group or self.source or self.locked)

    def keeps(self, item: EffectiveItem) -> bool:
        words = self.q.lower().split()
        text = f"{item.key} {item.spec.name} {item.spec.help}".lower()
        return (all(word in text for word in words) and (not self.group or item.spec.group == self.group)
                and (not self.source or item.source == self.source)
                and (not self.locked or item.locked == (self.locked == "yes")))

    def groups(self, tree: EffectiveTree) -> list[tuple[str, list[EffectiveItem]]]:
        kept = [(group, [item for item in items if self.keeps(item)]) for group, items in tree.groups()]
        return [(group, items) for group, items in kept if items]


def _scope_filter(workspace: Workspace | None) -> Q:
    return Q(workspace=None) | Q(workspace=workspace) if workspace is not None else Q(workspace=None)


def _check_same_org(organization: Organization, workspace: Workspace | None) -> None:
    if workspace is not None and workspace.organization_id != organization.pk:
        raise NotFound("workspace not found")


def _resolve(spec, org_item, ws_item, lock, workspace, inherited=None) -> EffectiveItem:
    """Precedence default → org → workspace; a lock makes the org value (or default) win."""
    if ws_item is not None and lock is None:
        value, source = ws_item[0], "workspace"
    elif org_item is not None:
        value, source = org_item[0], "org"
    else:
        value, source = (spec.default if inherited is None else inherited), "default"
    here = ws_item if workspace is not None else org_item
    return EffectiveItem(spec, value, source, here[1] if here else 0, lock, ws_item is not None and lock is not None)


def effective_tree(organization: Organization, workspace: Workspace | None = None) -> EffectiveTree:
    """Every key's effective value for `workspace` (or the org), with source and lock. Three queries, any tree size."""
    _check_same_org(organization, workspace)
    scopes = {s.pk: s for s in ConfigScope.objects.filter(_scope_filter(workspace), organization=organization)}
    stored: dict[bool, dict[str, tuple]] = {False: {}, True: {}}  # is-workspace → key → (value, version)
    rows = ConfigItem.objects.filter(scope__in=list(scopes)).values_list("scope_id", "key", "value", "version")
    for scope_id, key, value, version in rows:
        stored[scopes[scope_id].workspace_id is not None][key] = (value, version)
    locks = {
        key: LockInfo(reason, label, created)
        for key, reason, label, created in ConfigLock.objects.filter(organization=organization).values_list(
            "key", "reason", "author_label", "created_at"
        )
    }
    items = _resolve_all(stored[False], stored[True], locks, workspace)
    here = next((s.version for s in scopes.values() if (s.workspace_id is not None) == (workspace is not None)), 0)
    return EffectiveTree(organization, workspace, here, items)


def org_value(organization: Organization, key: str) -> Any:
    """One key's value at org scope (stored, else the schema default): one query, for hot paths that need a single knob."""
    stored = (ConfigItem.objects.filter(scope__organization=organization, scope__workspace=None, key=key)
              .values_list("value", flat=True).first())
    return schema.require(key).default if stored is None else stored


def _resolve_all(org_items: dict, ws_items: dict, locks: dict, workspace) -> dict[str, EffectiveItem]:
    items = {}
    for key, spec in schema.SCHEMA.items():
        items[key] = _resolve(spec, org_items.get(key), ws_items.get(key), locks.get(key), workspace)
    # Per-persona keys exist where some scope stores (or the org locks) them; they inherit the general key's value.
    for key in sorted((set(org_items) | set(ws_items) | set(locks)) - set(items)):
        spec = schema.lookup(key)
        if spec is None:
            continue  # a key the schema no longer knows: kept in its scope, ignored here
        inherited = items[spec.inherits].value if spec.inherits else None
        items[key] = _resolve(spec, org_items.get(key), ws_items.get(key), locks.get(key), workspace, inherited)
    return items


def stored_tree(organization: Organization, workspace: Workspace | None = None) -> dict[str, Any]:
    """The values stored at exactly one scope (what a snapshot copies and export writes)."""
    _check_same_org(organization, workspace)
    rows = ConfigItem.objects.filter(scope__organization=organization, scope__workspace=workspace)
    return dict(rows.order_by("key").values_list("key", "value"))


def scope_version(organization: Organization, workspace: Workspace | None = None) -> int:
    scope = ConfigScope.objects.filter(organization=organization, workspace=workspace).only("version").first()
    return scope.version if scope else 0


def snapshots(organization: Organization, *, workspace: Workspace | None = None, org_only: bool = False):
    queryset = ConfigSnapshot.objects.filter(organization=organization).select_related("workspace").defer("items")
    if workspace is not None:
        return queryset.filter(workspace=workspace)
    return queryset.filter(workspace=None) if org_only else queryset


def history(organization: Organization, *, key: str = "", workspace: Workspace | None = None, org_only: bool = False, action: str = ""):
    queryset = ConfigChange.objects.filter(organization=organization).select_related("workspace")
    if key:
        queryset = queryset.filter(key=key)
    if action:
        queryset = queryset.filter(action=action)
    if workspace is not None:
        queryset = queryset.filter(workspace=workspace)
    elif org_only:
        queryset = queryset.filter(workspace=None)
    return queryset


def changes(entries, batches) -> list[dict]:
    """History grouped per change: one entry per operation (a set, a preset, a rollback, a bulk change, an import) with
    the keys it wrote, for the page of `batches` ({batch, at} rows, newest first)."""
    wanted = [row["batch"] for row in batches]
    by_batch: dict = {}
    for entry in entries.filter(batch__in=wanted).order_by("created_at", "id"):
        by_batch.setdefault(entry.batch, []).append(entry)
    return [{"batch": batch, "entries": by_batch[batch], "first": by_batch[batch][0]} for batch in wanted if batch in by_batch]


def change_batches(entries):
    """The batches of `entries`, newest first (what the history page paginates)."""
    return entries.order_by().values("batch").annotate(at=Max("created_at")).order_by("-at", "-batch")


def item_for(tree: EffectiveTree, key: str) -> EffectiveItem | None:
    """One key of a tree, including a per-persona key nobody has set (it shows the inherited value)."""
    if key in tree.items:
        return tree.items[key]
    spec = schema.lookup(key)
    if spec is None:
        return None
    inherited = tree.items[spec.inherits].value if spec.inherits else spec.default
    return EffectiveItem(spec, inherited, "default", 0)


# --- access: the only way to load a snapshot or a workspace named in a config request -----------


def access_snapshot(organization: Organization, snapshot_id) -> ConfigSnapshot:
    return get_in_org(ConfigSnapshot.objects.select_related("workspace"), organization, snapshot_id, what="snapshot")


def access_workspace_ref(organization: Organization, ref: str | None) -> Workspace | None:
    """A workspace named by UUID or slug (None or "" means the org scope); NotFound outside the org."""
    if not ref:
        return None
    try:
        uuid.UUID(str(ref))
    except ValueError:
        return access_workspace_by_slug(organization, ref)
    return access_workspace(organization, ref)


# --- diff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeDiff:
    added: list[dict]  # {key, new}: in the newer tree only
    removed: list[dict]  # {key, old}: in the older tree only
    changed: list[dict]  # {key, old, new}

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def diff_trees(old: dict, new: dict) -> TreeDiff:
    added = [{"key": key, "new": new[key]} for key in sorted(set(new) - set(old))]
    removed = [{"key": key, "old": old[key]} for key in sorted(set(old) - set(new))]
    changed = [{"key": key, "old": old[key], "new": new[key]} for key in sorted(set(old) & set(new)) if old[key] != new[key]]
    return TreeDiff(added, removed, changed)


def snapshot_diff(snapshot: ConfigSnapshot, against: ConfigSnapshot | None = None) -> TreeDiff:
    """What changed from `snapshot` to `against` (another snapshot, or the scope's tree now when None)."""
    newer = against.items if against is not None else stored_tree(snapshot.organization, snapshot.workspace)
    return diff_trees(snapshot.items, newer)
