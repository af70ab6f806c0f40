"""Pages: the persona list, a persona with its layers, audit, runs and versions; layer edits in forms that fit each
layer, item-level diffs, and restoring a version. A save answers the layers and, out of band, every other place
that names the current version (header, audit card, versions table), so the page never needs a reload."""

from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from personas.access import access_persona
from personas.api import card_response
from personas.card_export import FORMATS, SPECS
from personas.layer_forms import form_fields, layer_errors, layer_from_form
from personas.layers import LAYERS
from personas.models import Persona, PersonaCard, PersonaStatus
from personas.pages import persona_list_context, persona_page_context
from personas.services import persona_update, persona_version_restore, version_diff
from studio.errors import Invalid, NotFound, StudioError
from studio.views import org_page

DEFAULT_MIN_SCORE = 3.5  # the audit threshold shown before any run says which one it used
AUDIT_LABELS = {
    "coherence": "Coherence", "depth": "Depth", "cultural_fidelity": "Cultural fidelity",
    "voice_distinctiveness": "Voice", "realism": "Realism", "overall": "Overall",
}


@org_page
@require_GET
def persona_list(request):
    org = request.principal.organization
    q, status, workspace = request.GET.get("q", "")[:200], request.GET.get("status", ""), request.GET.get("workspace", "")
    personas = Persona.objects.filter(organization=org).select_related("workspace", "current_version").search(q)
    if status in PersonaStatus.values:
        personas = personas.filter(status=status)
    if workspace:
        personas = personas.filter(workspace__slug=workspace)
    page = Paginator(personas, 25).get_page(request.GET.get("page"))
    context = {"page": page, "q": q, "status": status, "workspace": workspace, "statuses": PersonaStatus.values,
               "workspaces": org.workspaces.all()}
    if request.htmx:
        return render(request, "personas/partials/persona_rows.html", context)
    return render(request, "personas/list.html", {**context, **persona_list_context(org)})  # near-clones: the audits app's


def audit_bars(audit: dict | None) -> list[dict]:
    if not audit:
        return []
    labels = {**AUDIT_LABELS, **({"card_fidelity": "Card fidelity"} if "card_fidelity" in audit else {})}
    return [{"key": key, "label": label, "value": audit.get(key, 0), "width": round(audit.get(key, 0) / 5 * 100, 1)}
            for key, label in labels.items()]


def persona_detail_context(persona: Persona, *, edit: dict | None = None, **extra) -> dict:
    """`edit` is a refused layer edit: {layer, document, errors, message}, shown in that layer's form."""
    version = persona.current_version
    # the runs, the audit threshold and the audits under way: the pipeline's
    context = {"runs": [], "min_score": DEFAULT_MIN_SCORE, "auditing": {}, "can_audit_versions": False, **persona_page_context(persona)}
    edit = edit or {}
    forms = {name: form_fields(name, edit["document"] if edit.get("layer") == name else data,
                               edit.get("errors") if edit.get("layer") == name else None)
             for name, data in persona.layers.items()}
    return {
        **context, "persona": persona, "version": version, "layers": persona.layers, "layer_forms": forms, "edit": edit,
        "versions": persona.versions.all(), "audit_bars": audit_bars(version.audit if version else None),
        "min_score_pct": round(float(context["min_score"]) / 5 * 100, 1),
        "card": PersonaCard.objects.filter(persona=persona).defer("original", "avatar", "document").first(),
        "card_specs": SPECS, "card_formats": FORMATS,
        **extra,
    }


def render_saved(request, persona: Persona, **extra):
    """The layers (the swap's target) and, out of band, the header's version, the audit card and the versions table."""
    context = persona_detail_context(persona, oob=True, **extra)
    return render(request, "personas/partials/saved.html", context)


@org_page
@require_GET
def persona_detail(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    return render(request, "personas/detail.html", persona_detail_context(persona))


@org_page
@require_POST
def persona_layer_edit(request, persona_id, layer):
    persona = access_persona(request.principal.organization, persona_id)
    if layer not in LAYERS:
        raise NotFound(f"no layer named {layer}")
    document, errors = layer_from_form(layer, request.POST), {}
    try:
        request.principal.require_scope("personas:write")
        if errors := layer_errors(layer, document):
            first = next(iter(errors))
            raise Invalid(f"{layer}.{first}: {errors[first]}" + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
                          field=f"{layer}.{first}")
        persona = persona_update(principal=request.principal, persona=persona, layers={layer: document}, note=f"edited {layer}")
    except StudioError as exc:
        edit = {"layer": layer, "document": document, "errors": errors, "message": exc.message}
        return render(request, "personas/partials/layers.html", persona_detail_context(persona, edit=edit), status=exc.status_code)
    persona = access_persona(request.principal.organization, persona.public_id)
    return render_saved(request, persona, saved=f"Saved {layer} as version {persona.current_version.number}.")


@org_page
@require_POST
def persona_version_restore_view(request, persona_id, number):
    """"Restore" in the versions table: that version's layers become a new version (the history only grows)."""
    persona = access_persona(request.principal.organization, persona_id)
    request.principal.require_scope("personas:write")
    try:
        persona = persona_version_restore(principal=request.principal, persona=persona, number=number)
    except StudioError as exc:
        if not request.htmx:
            raise
        return render(request, "personas/partials/layers.html", persona_detail_context(persona, edit={"message": exc.message}),
                      status=exc.status_code)
    if not request.htmx:
        return redirect("persona_detail", request.principal.organization.slug, persona.public_id)
    persona = access_persona(request.principal.organization, persona.public_id)
    version = persona.current_version
    return render_saved(request, persona, saved=f"Restored v{number} as version {version.number}.")


@org_page
@require_GET
def persona_audit_card(request, persona_id):
    """The audit card alone: what the page polls while a version is being audited (with the versions table, out of
    band, once the audit is over: its Audit column changed)."""
    persona = access_persona(request.principal.organization, persona_id)
    return render(request, "personas/partials/audit_card.html", persona_detail_context(persona, polled=True))


@org_page
@require_GET
def persona_version_diff(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    versions = {v.number: v for v in persona.versions.all()}
    try:
        old, new = versions[int(request.GET.get("from", 0))], versions[int(request.GET.get("to", 0))]
    except (KeyError, ValueError):
        raise NotFound("pick two versions of this persona to compare") from None
    context = {"persona": persona, "old": old, "new": new, "changes": version_diff(old, new), "versions": persona.versions.all(),
               "can_restore": request.principal.has_scope("personas:write") and old.pk != persona.current_version_id}
    return render(request, "personas/diff.html", context)


@org_page
@require_GET
def persona_card_download(request, persona_id):
    """The persona as a character card file (the page's Export buttons): ?spec=v2|v3&format=json|png|charx."""
    persona = access_persona(request.principal.organization, persona_id)
    request.principal.require_scope("personas:read")
    return card_response(request, persona, request.GET.get("spec", "v2")[:8], request.GET.get("format", "json")[:8])
