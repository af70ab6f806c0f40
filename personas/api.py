"""Persona reads and edits. Generation (POST /personas) is attached by the pipeline app."""

import base64
import json
from datetime import datetime
from uuid import UUID

from django.db import transaction
from django.db.models import ProtectedError, Q
from ninja import Query, Router, Status

from personas.access import access_persona
from personas.models import Persona, PersonaStatus
from personas.schemas import PersonaOut, PersonaPageOut, PersonaPatchIn, VersionDiffOut, VersionOut
from personas.services import persona_update, version_diff
from studio.errors import Conflict, Invalid, NotFound

router = Router(tags=["personas"])
LIST_DEFERRED = (
    "brief", "current_version__intent", "current_version__soul", "current_version__self_layer",
    "current_version__mask", "current_version__surface",
)


def summary(p: Persona) -> dict:
    audit = p.current_version.audit if p.current_version else None
    return {
        "id": p.public_id, "name": p.display_name, "status": p.status,
        "workspace": {"id": p.workspace.public_id, "slug": p.workspace.slug},
        "audit_overall": audit.get("overall") if audit else None, "cost_usd": float(p.cost_usd),
        "created_at": p.created_at, "updated_at": p.updated_at,
    }


def detail(p: Persona) -> dict:
    version = p.current_version
    latest = p.runs.order_by("-created_at").values_list("public_id", flat=True).first()
    return {
        **summary(p), "brief": p.brief, "version": version.number if version else None, "layers": p.layers,
        "intent": version.intent if version else None, "audit": version.audit if version else None,
        "latest_run_id": latest,
    }


def _encode_cursor(p: Persona) -> str:
    return base64.urlsafe_b64encode(json.dumps([p.created_at.isoformat(), p.pk]).encode()).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        created, pk = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return datetime.fromisoformat(created), int(pk)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise Invalid("cursor is not a cursor this API returned", field="cursor") from None


@router.get("", response=PersonaPageOut)
def list_personas(
    request,
    workspace: str | None = None,
    status: str | None = None,
    q: str = Query("", max_length=200),
    cursor: str | None = None,
    limit: int = Query(50, ge=1, le=100),
):
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
    if cursor:
        created, pk = _decode_cursor(cursor)
        personas = personas.filter(Q(created_at__lt=created) | Q(created_at=created, id__lt=pk))
    page = list(personas.order_by("-created_at", "-id")[: limit + 1])
    more = len(page) > limit
    page = page[:limit]
    return {"items": [summary(p) for p in page], "next_cursor": _encode_cursor(page[-1]) if more else None}


def _uuid_or_none(value: str):
    try:
        return UUID(value)
    except ValueError:
        return None


@router.get("/{persona_id}", response=PersonaOut)
def get_persona(request, persona_id: UUID):
    request.auth.require_scope("personas:read")
    return detail(access_persona(request.auth.organization, persona_id))


@router.patch("/{persona_id}", response=PersonaOut)
def patch_persona(request, persona_id: UUID, payload: PersonaPatchIn):
    request.auth.require_scope("personas:write")
    persona = access_persona(request.auth.organization, persona_id)
    persona = persona_update(principal=request.auth, persona=persona, layers=payload.layers, name=payload.name, note=payload.note)
    return detail(access_persona(request.auth.organization, persona.public_id))


@router.delete("/{persona_id}", response={204: None})
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
def list_versions(request, persona_id: UUID):
    request.auth.require_scope("personas:read")
    persona = access_persona(request.auth.organization, persona_id)
    return [
        {"number": v.number, "source": v.source, "note": v.note, "audit": v.audit, "created_at": v.created_at}
        for v in persona.versions.all()
    ]


@router.get("/{persona_id}/versions/diff", response=VersionDiffOut)
def diff_versions(request, persona_id: UUID, from_version: int = Query(..., alias="from"), to_version: int = Query(..., alias="to")):
    request.auth.require_scope("personas:read")
    persona = access_persona(request.auth.organization, persona_id)
    versions = {v.number: v for v in persona.versions.filter(number__in=[from_version, to_version])}
    for number, field in ((from_version, "from"), (to_version, "to")):
        if number not in versions:
            raise NotFound(f"version {number} not found", field=field)
    return {"from_version": from_version, "to_version": to_version, "changes": version_diff(versions[from_version], versions[to_version])}
