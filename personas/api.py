"""Persona reads and edits. Generation (POST /personas) is attached by the pipeline app."""

from uuid import UUID

from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse
from django.db.models import ProtectedError, Q
from ninja import Query, Router, Status

from personas.access import access_persona
from personas.card_export import persona_card_export
from personas.models import Persona, PersonaStatus
from personas.schemas import PersonaOut, PersonaPatchIn, PersonaSummaryOut, VersionDiffOut, VersionOut
from personas.services import persona_update, persona_version_restore, version_diff
from studio.errors import Conflict, Invalid, NotFound
from studio.pagination import paginated

router = Router(tags=["personas"])
LIST_DEFERRED = (
    "brief", "current_version__intent", "current_version__soul", "current_version__self_layer",
    "current_version__mask", "current_version__surface",
)


@router.get("", response=list[PersonaSummaryOut])
@paginated
def list_personas(
    request,
    workspace: str | None = None,
    status: str | None = None,
    q: str = Query("", max_length=200),
):
    """Newest first."""
    request.auth.require_scope("personas:read")
    org = request.auth.organization
    personas = (
        Persona.objects.filter(organization=org)
        .select_related("workspace", "current_version")
        # A row shows the audit's overall score only: leave the layers (large JSON) in the database.
        .defer(*LIST_DEFERRED)
        .search(q)
    )
    if workspace:
        personas = personas.filter(Q(workspace__slug=workspace) | Q(workspace__public_id=_uuid_or_none(workspace)))
    if status:
        if status not in PersonaStatus.values:
            raise Invalid(f"status must be one of {', '.join(PersonaStatus.values)}", field="status")
        personas = personas.filter(status=status)
    return personas.order_by("-created_at", "-id")


def _uuid_or_none(value: str):
    try:
        return UUID(value)
    except ValueError:
        return None


@router.get("/{uuid:persona_id}", response=PersonaOut)
def get_persona(request, persona_id: UUID):
    request.auth.require_scope("personas:read")
    return access_persona(request.auth.organization, persona_id)


@router.patch("/{uuid:persona_id}", response=PersonaOut)
def patch_persona(request, persona_id: UUID, payload: PersonaPatchIn):
    request.auth.require_scope("personas:write")
    persona = access_persona(request.auth.organization, persona_id)
    persona = persona_update(principal=request.auth, persona=persona, layers=payload.layers, name=payload.name, note=payload.note)
    return access_persona(request.auth.organization, persona.public_id)


@router.delete("/{uuid:persona_id}", response={204: None})
def delete_persona(request, persona_id: UUID):
    request.auth.require_scope("personas:write")
    persona = access_persona(request.auth.organization, persona_id)
    with transaction.atomic():
        if persona.status == PersonaStatus.GENERATING:
            raise Conflict("this persona is still generating: wait for the run to finish")
        try:
            persona.delete()
        except ProtectedError as exc:  # its training jobs and review comparisons keep it (their records would lose their subject)
            kinds = sorted({str(obj._meta.verbose_name_plural) for obj in exc.protected_objects})
            raise Conflict(f"this persona cannot be deleted while it has {' and '.join(kinds)}; delete those first") from None
    return Status(204, None)


@router.get("/{persona_id}/versions", response=list[VersionOut])
@paginated
def list_versions(request, persona_id: UUID):
    request.auth.require_scope("personas:read")
    persona = access_persona(request.auth.organization, persona_id)
    return persona.versions.all()


@router.post("/{persona_id}/versions/{number}/restore", response=PersonaOut,
             summary="Restore a version: its layers saved again as a new version")
def restore_version(request, persona_id: UUID, number: int):
    request.auth.require_scope("personas:write")
    persona = access_persona(request.auth.organization, persona_id)
    persona = persona_version_restore(principal=request.auth, persona=persona, number=number)
    return access_persona(request.auth.organization, persona.public_id)


@router.get("/{persona_id}/versions/diff", response=VersionDiffOut)
def diff_versions(request, persona_id: UUID, from_version: int = Query(..., alias="from"), to_version: int = Query(..., alias="to")):
    request.auth.require_scope("personas:read")
    persona = access_persona(request.auth.organization, persona_id)
    versions = {v.number: v for v in persona.versions.filter(number__in=[from_version, to_version])}
    for number, field in ((from_version, "from"), (to_version, "to")):
        if number not in versions:
            raise NotFound(f"version {number} not found", field=field)
    return {"from_version": from_version, "to_version": to_version, "changes": version_diff(versions[from_version], versions[to_version])}


def persona_url(request, persona) -> str:
    """The persona's page, absolute: what an exported card names as its source."""
    return request.build_absolute_uri(reverse("persona_detail", args=[persona.organization.slug, persona.public_id]))


def card_response(request, persona, spec: str, fmt: str) -> HttpResponse:
    card = persona_card_export(persona=persona, spec=spec, fmt=fmt, url=persona_url(request, persona))
    response = HttpResponse(card.content, content_type=card.content_type)
    response["Content-Disposition"] = f'attachment; filename="{card.file_name}"'
    return response


@router.get("/{persona_id}/card", summary="The persona as a character card (V2/V3; JSON, PNG or CHARX)")
def export_card(request, persona_id: UUID, spec: str = Query("v2", max_length=8),
                card_format: str = Query("json", alias="format", max_length=8)):
    """`spec=v2|v3`, `format=json|png|charx` (CHARX: V3 only). Standard fields written from the layers;
    `extensions.persona_studio` holds the layers, the constitution and the version (importing the card again gives
    the same layers). V3 appends the persona's URL to `source`. 422 naming `spec` or `format` for another value."""
    request.auth.require_scope("personas:read")
    persona = access_persona(request.auth.organization, persona_id)
    return card_response(request, persona, spec, card_format)
