"""Pages: the persona list, a persona with its layers, audit, runs and versions, and layer edits."""

import json

from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from personas.access import access_persona
from personas.api import card_response
from personas.card_export import FORMATS, SPECS
from personas.layers import LAYERS
from personas.models import Persona, PersonaCard, PersonaStatus
from personas.pages import persona_list_context, persona_page_context
from personas.services import persona_update, version_diff
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


def persona_detail_context(persona: Persona, **extra) -> dict:
    version = persona.current_version
    context = {"runs": [], "min_score": DEFAULT_MIN_SCORE, **persona_page_context(persona)}  # the runs: the pipeline's
    return {
        **context, "persona": persona, "version": version, "layers": persona.layers,
        "versions": persona.versions.all(), "audit_bars": audit_bars(version.audit if version else None),
        "min_score_pct": round(float(context["min_score"]) / 5 * 100, 1),
        "layer_json": {name: json.dumps(data, indent=2, ensure_ascii=False) for name, data in persona.layers.items()},
        "card": PersonaCard.objects.filter(persona=persona).defer("original", "avatar", "document").first(),
        "card_specs": SPECS, "card_formats": FORMATS,
        **extra,
    }


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
    text = request.POST.get("document", "")
    try:
        request.principal.require_scope("personas:write")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise Invalid(f"{layer}: not valid JSON ({exc.msg}, line {exc.lineno})", field=layer) from None
        persona = persona_update(principal=request.principal, persona=persona, layers={layer: data}, note=f"edited {layer}")
    except StudioError as exc:
        context = persona_detail_context(persona, edit_error={"layer": layer, "message": exc.message}, edit_text={layer: text})
        return render(request, "personas/partials/layers.html", context, status=exc.status_code)
    persona = access_persona(request.principal.organization, persona.public_id)
    return render(request, "personas/partials/layers.html", persona_detail_context(persona, saved_layer=layer))


@org_page
@require_GET
def persona_version_diff(request, persona_id):
    persona = access_persona(request.principal.organization, persona_id)
    versions = {v.number: v for v in persona.versions.all()}
    try:
        old, new = versions[int(request.GET.get("from", 0))], versions[int(request.GET.get("to", 0))]
    except (KeyError, ValueError):
        raise NotFound("pick two versions of this persona to compare") from None
    return render(request, "personas/diff.html", {"persona": persona, "old": old, "new": new, "changes": version_diff(old, new)})


@org_page
@require_GET
def persona_card_download(request, persona_id):
    """The persona as a character card file (the page's Export buttons): ?spec=v2|v3&format=json|png|charx."""
    persona = access_persona(request.principal.organization, persona_id)
    request.principal.require_scope("personas:read")
    return card_response(request, persona, request.GET.get("spec", "v2")[:8], request.GET.get("format", "json")[:8])
