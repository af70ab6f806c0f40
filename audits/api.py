"""Audits API: audit attempts, the voice fingerprint, provocation suite runs and audit jobs.

Reads need `audits:read`; starting a job needs `personas:write`. Every object is loaded through an
org-scoped access helper: another org's persona, run or job is a 404.
"""

from uuid import UUID

from ninja import Router, Status

from audits.chat.services import fingerprint_drift_bound
from audits.models import AuditJob, Fingerprint
from audits.selectors import (
    access_audit_job,
    access_provocation_run,
    active_jobs,
    audit_attempts,
    latest_fingerprint,
    latest_provocation_run,
    provocation_runs,
)
from audits.schemas import (
    AuditJobOut,
    AuditJobStartOut,
    FingerprintOut,
    PersonaAuditsOut,
    ProvocationRunDetailOut,
    ProvocationRunOut,
)
from audits.services import audit_job_start
from personas.access import access_persona
from studio.config.selectors import effective_tree
from studio.errors import NotFound

router = Router(tags=["audits"])


def job_out(job: AuditJob) -> dict:
    return {
        "id": job.public_id, "persona_id": job.persona.public_id, "version": job.version.number, "kind": job.kind,
        "status": job.status, "trigger": job.trigger, "engine": job.engine, "chat_model": job.chat_model,
        "judge_model": job.judge_model, "total": job.total, "done": job.done, "percent": job.percent, "error": job.error,
        "created_at": job.created_at, "started_at": job.started_at, "finished_at": job.finished_at,
    }


def provocation_run_out(job: AuditJob) -> dict:
    return {
        "id": job.public_id, "persona_id": job.persona.public_id, "version": job.version.number, "status": job.status,
        "engine": job.engine, "chat_model": job.chat_model, "judge_model": job.judge_model,
        "tests": job.passed + job.failed + job.errors, "passed": job.passed, "failed": job.failed, "errors": job.errors,
        "pass_rate": job.pass_rate, "categories": job.category_rates, "error": job.error, "cost_usd": float(job.cost_usd),
        "created_at": job.created_at, "finished_at": job.finished_at,
    }


def fingerprint_out(fp: Fingerprint, *, vector: bool = False) -> dict:
    bound = fingerprint_drift_bound(fp, effective_tree(fp.organization, fp.persona.workspace))
    return {
        "id": fp.public_id, "version": fp.version.number, "status": fp.status, "engine": fp.engine,
        "chat_model": fp.chat_model, "embedding_model": fp.embedding_model, "embedding_label": fp.embedding_label,
        "scenarios": fp.scenarios, "calibration": fp.calibration if fp.own_spread else None,
        "drift_threshold": round(bound.value, 4), "drift_threshold_source": bound.source,
        "dimensions": len(fp.vector) if fp.vector else None, "vector": fp.vector if vector else None, "error": fp.error,
        "job_id": fp.job.public_id if fp.job_id else None, "cost_usd": float(fp.cost_usd),
        "created_at": fp.created_at, "finished_at": fp.finished_at,
    }


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
        "fingerprint": fingerprint_out(fingerprint) if fingerprint else None,
        "provocations": provocation_run_out(suite) if suite else None,
        "active_jobs": [job_out(job) for job in active_jobs(persona)],
    }


@router.post("personas/{persona_id}/provocations", response={202: AuditJobStartOut}, summary="Run the provocation suite")
def start_provocations(request, persona_id: UUID):
    """202 with the job id; follow it at /v1/audit-jobs/{job_id}. 409 while the persona is generating."""
    return _start(request, persona_id, AuditJob.Kind.PROVOCATIONS)


@router.get("personas/{persona_id}/provocations", response=list[ProvocationRunOut], summary="Provocation suite runs, newest first")
def list_provocations(request, persona_id: UUID):
    request.auth.require_scope("audits:read")
    persona = access_persona(request.auth.organization, persona_id)
    return [provocation_run_out(job) for job in provocation_runs(persona)]


@router.get("provocation-runs/{job_id}", response=ProvocationRunDetailOut, summary="A suite run with every transcript and verdict")
def get_provocation_run(request, job_id: UUID):
    request.auth.require_scope("audits:read")
    job = access_provocation_run(request.auth.organization, job_id)
    results = [
        {"test_id": r.test_id, "category": r.category, "title": r.title, "criterion": r.criterion,
         "transcript": r.transcript, "verdict": r.verdict, "reason": r.reason}
        for r in job.results.all()
    ]
    return {**provocation_run_out(job), "results": results}


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
    return fingerprint_out(fingerprint, vector=vector)


@router.get("audit-jobs/{job_id}", response=AuditJobOut, summary="An audit job's status and progress")
def get_audit_job(request, job_id: UUID):
    request.auth.require_scope("audits:read")
    return job_out(access_audit_job(request.auth.organization, job_id))
