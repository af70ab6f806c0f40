"""Audits API: audit attempts, the voice fingerprint, provocation suite runs and audit jobs.

Reads need `audits:read`; starting a job needs `personas:write`. Every object is loaded through an
org-scoped access helper: another org's persona, run or job is a 404.
"""

from uuid import UUID

from ninja import Router, Status

from audits.lineage import distinctiveness_of, drift_from_parent, family_tree, near_clones
from audits.models import AuditJob
from audits.attack_runs import attack_run_start
from audits.attacks import ATTACKS, KEEP_GOING, ORDINARY_PROMPTS
from audits.selectors import (
    access_attack_run,
    access_audit_job,
    access_provocation_run,
    active_jobs,
    attack_runs,
    audit_attempts,
    latest_fingerprint,
    latest_provocation_run,
)
from audits.schemas import (
    AttackCatalogOut,
    AttackRunDetailOut,
    AttackRunIn,
    AttackRunOut,
    AttackRunStartOut,
    AuditJobOut,
    AuditJobStartOut,
    DistinctivenessOut,
    LineageOut,
    NearClonesOut,
    FingerprintOut,
    PersonaAuditsOut,
    ProvocationRunDetailOut,
    ProvocationRunOut,
)
from audits.services import audit_job_start
from personas.access import access_persona
from studio.errors import NotFound
from studio.pagination import paginated

router = Router(tags=["audits"])


def _start(request, persona_id: UUID, kind: str):
    request.auth.require_scope("personas:write")
    persona = access_persona(request.auth.organization, persona_id)
    job = audit_job_start(persona=persona, kind=kind, user=request.auth.user)
    return Status(202, {"job_id": job.public_id, "kind": job.kind, "status": job.status, "version": job.version.number})


@router.get("personas/{persona_id}/audits", response=PersonaAuditsOut, summary="Audit attempts, fingerprint and latest provocation results")
def persona_audits(request, persona_id: UUID):
    request.auth.require_scope("audits:read")
    persona = access_persona(request.auth.organization, persona_id)
    fingerprint, suite = latest_fingerprint(persona), latest_provocation_run(persona)
    return {
        "persona_id": persona.public_id,
        "version": persona.current_version.number if persona.current_version else None,
        "attempts": audit_attempts(persona),
        "fingerprint": fingerprint,
        "provocations": suite,
        "active_jobs": active_jobs(persona),
    }


@router.post("personas/{persona_id}/provocations", response={202: AuditJobStartOut}, summary="Run the provocation suite")
def start_provocations(request, persona_id: UUID):
    """202 with the job id; follow it at /v1/audit-jobs/{job_id}. 409 while the persona is generating."""
    return _start(request, persona_id, AuditJob.Kind.PROVOCATIONS)


@router.get("personas/{persona_id}/provocations", response=list[ProvocationRunOut], summary="Provocation suite runs, newest first")
@paginated
def list_provocations(request, persona_id: UUID):
    request.auth.require_scope("audits:read")
    persona = access_persona(request.auth.organization, persona_id)
    return persona.audit_jobs.filter(kind=AuditJob.Kind.PROVOCATIONS).select_related("version", "persona")


@router.get("provocation-runs/{job_id}", response=ProvocationRunDetailOut, summary="A suite run with every transcript and verdict")
def get_provocation_run(request, job_id: UUID):
    request.auth.require_scope("audits:read")
    return access_provocation_run(request.auth.organization, job_id)


@router.post("personas/{persona_id}/fingerprint", response={202: AuditJobStartOut}, summary="Recompute the voice fingerprint")
def start_fingerprint(request, persona_id: UUID):
    return _start(request, persona_id, AuditJob.Kind.FINGERPRINT)


@router.get("personas/{persona_id}/fingerprint", response=FingerprintOut, summary="The newest fingerprint (vector with ?vector=true)")
def get_fingerprint(request, persona_id: UUID, vector: bool = False):
    request.auth.require_scope("audits:read")
    persona = access_persona(request.auth.organization, persona_id)
    fingerprint = latest_fingerprint(persona)
    if fingerprint is None:
        raise NotFound("this persona has no fingerprint yet")
    fingerprint.include_vector = vector
    return fingerprint


@router.get("audit-jobs/{job_id}", response=AuditJobOut, summary="An audit job's status and progress")
def get_audit_job(request, job_id: UUID):
    request.auth.require_scope("audits:read")
    return access_audit_job(request.auth.organization, job_id)


def _drift_out(drift) -> dict | None:
    return drift.as_dict() if drift is not None else None


@router.get("personas/{persona_id}/lineage", response=LineageOut, summary="A persona's parent, drift from it, and its family tree")
def persona_lineage(request, persona_id: UUID):
    """`drift_from_parent.distance` is the cosine distance between the newest voice fingerprints of the fork and its
    parent; `flagged` past engine.pipeline.fork.max_drift_from_parent."""
    request.auth.require_scope("audits:read")
    persona = access_persona(request.auth.organization, persona_id)
    parent = persona.parent if persona.parent_id and persona.parent.organization_id == persona.organization_id else None
    return {
        "persona_id": persona.public_id, "parent": parent, "parent_version": persona.parent_version, "fork_note": persona.fork_note,
        "drift_from_parent": _drift_out(drift_from_parent(persona)),
        "tree": [{"persona": row["persona"], "depth": row["depth"], "fork_note": row["persona"].fork_note,
                  "parent_version": row["persona"].parent_version, "drift_from_parent": _drift_out(row["drift"]),
                  "parent_id": row["persona"].parent.public_id if row["depth"] else None}
                 for row in family_tree(persona)],
    }


@router.get("personas/{persona_id}/distinctiveness", response=DistinctivenessOut,
            summary="Distance of the persona's voice fingerprint from a generic assistant's")
def persona_distinctiveness(request, persona_id: UUID):
    request.auth.require_scope("audits:read")
    persona = access_persona(request.auth.organization, persona_id)
    found = distinctiveness_of(persona) or {}
    return {"persona_id": persona.public_id, **{k: found.get(k) for k in (
        "score", "fingerprint_id", "version", "chat_model", "embedding_model", "scenarios", "baseline_prompt")}}


@router.get("persona-clones", response=NearClonesOut, summary="Pairs of the org's personas closer than the clone floor")
def persona_clones(request):
    request.auth.require_scope("audits:read")
    pairs, floor = near_clones(request.auth.organization)
    return {"clone_floor": floor, "pairs": pairs}


# --- robustness attacks ----------------------------------------------------------------------------


@router.get("attacks", response=AttackCatalogOut, summary="The robustness attacks (a control, 8 adversarial suffixes, the prefill attack) and the ordinary prompts")
def list_attacks(request):
    request.auth.require_scope("audits:read")
    return {"attacks": list(ATTACKS), "prompts": list(ORDINARY_PROMPTS), "keep_going": KEEP_GOING}


@router.post("personas/{persona_id}/attacks", response={202: AttackRunStartOut}, summary="Run the robustness attacks on a persona")
def start_attacks(request, persona_id: UUID, payload: AttackRunIn = None):
    """Every chosen attack on each ordinary prompt, answered in persona; each reply judged and drift-scored against the
    newest fingerprint. 202 with the run id: follow it at /v1/attack-runs/{run_id} (progress in `done`/`total`).
    422 naming `attacks` or `prompts`; 409 while the persona generates or another attack run on it is unfinished."""
    request.auth.require_scope("personas:write")
    persona = access_persona(request.auth.organization, persona_id)
    payload = payload or AttackRunIn()
    job = attack_run_start(persona=persona, user=request.auth.user, attacks=payload.attacks, prompts=payload.prompts)
    return Status(202, AttackRunStartOut.of(job))


@router.get("personas/{persona_id}/attacks", response=list[AttackRunOut], summary="A persona's attack runs (its own and its training jobs'), newest first")
@paginated
def list_attack_runs(request, persona_id: UUID):
    request.auth.require_scope("audits:read")
    return attack_runs(access_persona(request.auth.organization, persona_id))


@router.get("attack-runs/{job_id}", response=AttackRunDetailOut, summary="An attack run: per-attack figures and every reply")
def get_attack_run(request, job_id: UUID):
    request.auth.require_scope("audits:read")
    return access_attack_run(request.auth.organization, job_id)
