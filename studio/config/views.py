"""Config pages: the effective tree with inline edits and locks, snapshots with diff and rollback, history.

Views are thin: they parse the form, call the same services as the API (which
enforce scopes and locks) and re-render the fragment, with the error beside the
field and the error's 4xx status.
"""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from studio.config import schema, selectors, services
from studio.config.models import ChangeAction
from studio.config.presets import PRESETS
from studio.errors import Invalid, NotFound, StudioError
from studio.views import org_page
from studio.words import plural


def _workspace(request, ref: str | None):
    return selectors.access_workspace_ref(request.principal.organization, ref)


def _version(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        raise Invalid("version must be a whole number", field="version") from None


def _rights(request) -> dict:
    return {"can_write": request.principal.has_scope("config:write"), "is_admin": request.principal.has_scope("config:admin")}


def _scope_query(workspace) -> str:
    return f"?workspace={workspace.slug}" if workspace is not None else ""


# --- the tree ---------------------------------------------------------------------------------


def _tree_context(request, workspace, **extra) -> dict:
    organization = request.principal.organization
    tree = selectors.effective_tree(organization, workspace)
    shown = selectors.TreeFilter.of(request.GET if request.method == "GET" else request.POST)
    groups = [{"name": name, "items": items, "overridden": sum(item.source != "default" for item in items),
               "locked": sum(item.locked for item in items)} for name, items in shown.groups(tree)]
    return {
        "tree": tree, "groups": groups, "filter": shown, "all_groups": [name for name, _ in tree.groups()],
        "shown_count": sum(len(group["items"]) for group in groups), "key_count": len(tree.items), "workspace": workspace,
        "workspaces": organization.workspaces.all(), "presets": PRESETS.values(),
        "scope_query": _scope_query(workspace), **_rights(request), **extra,
    }


@org_page
@require_GET
def config_tree(request):
    workspace = _workspace(request, request.GET.get("workspace"))
    template = "config/partials/tree_panel.html" if request.htmx else "config/tree.html"
    return render(request, template, _tree_context(request, workspace))


def _row(request, workspace, key: str, *, status: int = 200, **extra):
    tree = selectors.effective_tree(request.principal.organization, workspace)
    item = selectors.item_for(tree, key)
    if item is None:
        raise Invalid(f"{key[:200]}: unknown config key", field="key")
    context = {"item": item, "workspace": workspace, **_rights(request), **extra}
    return render(request, "config/partials/row.html", context, status=status)


def _row_action(request, action):
    """Run `action(key, workspace)`; re-render the key's row, with the error beside it on failure."""
    key = request.POST.get("key", "")
    workspace = _workspace(request, request.POST.get("workspace"))
    try:
        action(key, workspace)
    except NotFound:
        raise
    except StudioError as exc:
        return _row(request, workspace, key, status=exc.status_code, error=exc, typed=request.POST.get("value"))
    return _row(request, workspace, key, saved=True)


@org_page
@require_POST
def config_set(request):
    def save(key, workspace):
        try:
            value = schema.require(key).parse_text(request.POST.get("value", ""))
        except schema.SchemaError as exc:
            raise Invalid(str(exc), field=key) from None
        services.config_set(
            actor=request.principal, key=key, value=value, workspace=workspace,
            version=_version(request.POST.get("version")), reason=request.POST.get("reason", ""),
        )

    return _row_action(request, save)


@org_page
@require_POST
def config_unset(request):
    def unset(key, workspace):
        services.config_unset(actor=request.principal, key=key, workspace=workspace, version=_version(request.POST.get("version")))

    return _row_action(request, unset)


@org_page
@require_POST
def config_lock(request):
    reason = request.POST.get("reason", "")
    return _row_action(request, lambda key, ws: services.config_lock(actor=request.principal, key=key, reason=reason))


@org_page
@require_POST
def config_unlock(request):
    reason = request.POST.get("reason", "")
    return _row_action(request, lambda key, ws: services.config_unlock(actor=request.principal, key=key, reason=reason))


@org_page
@require_POST
def config_preset(request):
    workspace = _workspace(request, request.POST.get("workspace"))
    name = request.POST.get("preset", "")
    try:
        result = services.config_preset_apply(
            actor=request.principal, name=name, workspace=workspace, reason=request.POST.get("reason", "")
        )
    except StudioError as exc:
        context = _tree_context(request, workspace, preset_error=exc)
        return render(request, "config/partials/tree_panel.html", context, status=exc.status_code)
    notice = f"Applied preset “{PRESETS[name].label}”: {plural(len(result.changes), 'key')} changed."
    return render(request, "config/partials/tree_panel.html", _tree_context(request, workspace, notice=notice))


# --- snapshots ------------------------------------------------------------------------------------


def _snapshots_context(request, workspace, **extra) -> dict:
    organization = request.principal.organization
    return {
        "snapshots": selectors.snapshots(organization, workspace=workspace, org_only=workspace is None)[:200],
        "workspace": workspace, "workspaces": organization.workspaces.all(),
        "scope_query": _scope_query(workspace), **_rights(request), **extra,
    }


@org_page
@require_GET
def config_snapshots(request):
    workspace = _workspace(request, request.GET.get("workspace"))
    return render(request, "config/snapshots.html", _snapshots_context(request, workspace))


@org_page
@require_POST
def config_snapshot_create(request):
    workspace = _workspace(request, request.POST.get("workspace"))
    try:
        snapshot = services.config_snapshot_create(actor=request.principal, workspace=workspace, label=request.POST.get("label", ""))
    except StudioError as exc:
        context = _snapshots_context(request, workspace, create_error=exc, label=request.POST.get("label", ""))
        return render(request, "config/partials/snapshots_panel.html", context, status=exc.status_code)
    context = _snapshots_context(request, workspace, notice=f"Snapshot “{snapshot.label}” saved ({plural(snapshot.item_count, 'item')}).")
    return render(request, "config/partials/snapshots_panel.html", context)


@org_page
@require_GET
def config_snapshot_diff(request, snapshot_id):
    organization = request.principal.organization
    snapshot = selectors.access_snapshot(organization, snapshot_id)
    against_ref = request.GET.get("against", "now") or "now"
    against = None if against_ref == "now" else selectors.access_snapshot(organization, against_ref)
    template = "config/partials/diff.html" if request.htmx else "config/diff.html"
    return render(request, template, _diff_context(request, snapshot, against))


def _diff_context(request, snapshot, against) -> dict:
    organization = request.principal.organization
    return {
        "snapshot": snapshot, "against": against, "diff": selectors.snapshot_diff(snapshot, against),
        "others": selectors.snapshots(
            organization, workspace=snapshot.workspace, org_only=snapshot.workspace is None
        ).exclude(pk=snapshot.pk)[:200],
    }


@org_page
@require_POST
def config_rollback(request, snapshot_id):
    snapshot = selectors.access_snapshot(request.principal.organization, snapshot_id)
    workspace = snapshot.workspace
    try:
        result = services.config_rollback(actor=request.principal, snapshot=snapshot, reason=request.POST.get("reason", ""))
    except StudioError as exc:
        context = _snapshots_context(request, workspace, rollback_error={"snapshot": snapshot.public_id, "error": exc})
        return render(request, "config/partials/snapshots_panel.html", context, status=exc.status_code)
    notice = (
        f"Rolled back to “{snapshot.label}”: {plural(len(result.changes), 'key')} changed. "
        f"To undo, roll back to “{result.before_snapshot.label}”."
    )
    # A diff on screen compared a snapshot with the tree before the rollback: the panel comes back, out of band, with
    # the rolled-back-to snapshot against the tree now (no differences, unless something was left out).
    return render(request, "config/partials/snapshots_panel.html",
                  _snapshots_context(request, workspace, notice=notice, refreshed_diff=_diff_context(request, snapshot, None)))


# --- history --------------------------------------------------------------------------------------


@org_page
@require_GET
def config_history(request):
    organization = request.principal.organization
    scope = request.GET.get("scope", "")
    workspace = None if scope in ("", "org") else _workspace(request, scope)
    entries = selectors.history(
        organization, key=request.GET.get("key", "").strip(), action=request.GET.get("action", ""),
        workspace=workspace, org_only=scope == "org",
    )
    page = Paginator(selectors.change_batches(entries), 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request, "config/history.html",
        {
            "page": page, "changes": selectors.changes(entries, page), "filters": request.GET, "query": query.urlencode(),
            "actions": ChangeAction.choices, "workspaces": organization.workspaces.all(),
        },
    )
