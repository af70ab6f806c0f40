"""Reads for the Tests page and the audits API: audit attempts, fingerprints, suite runs, jobs."""

from audits.models import AuditJob, Fingerprint
from personas.audit_history import audit_attempts  # noqa: F401  (the Tests page and the API read the attempts here)
from personas.models import Persona
from studio.access import get_in_org

CRITERIA_LABELS = {
    "coherence": "Coherence", "depth": "Depth", "cultural_fidelity": "Cultural fidelity",
    "voice_distinctiveness": "Voice", "realism": "Realism",
}


def access_audit_job(organization, job_id) -> AuditJob:
    return get_in_org(AuditJob.objects.select_related("persona", "version", "organization"), organization, job_id, what="audit job")


def access_provocation_run(organization, job_id) -> AuditJob:
    queryset = AuditJob.objects.filter(kind=AuditJob.Kind.PROVOCATIONS).select_related("persona", "version", "organization")
    return get_in_org(queryset, organization, job_id, what="provocation run")


def latest_fingerprint(persona: Persona) -> Fingerprint | None:
    """The newest fingerprint attempt of any status (the page shows pending and failed ones too)."""
    return persona.fingerprints.select_related("version", "job").order_by("-created_at", "-id").first()


def provocation_runs(persona: Persona, limit: int = 20) -> list[AuditJob]:
    return list(persona.audit_jobs.filter(kind=AuditJob.Kind.PROVOCATIONS).select_related("version", "persona")[:limit])


def latest_provocation_run(persona: Persona) -> AuditJob | None:
    """The newest completed suite run, else the newest of any status."""
    runs = persona.audit_jobs.filter(kind=AuditJob.Kind.PROVOCATIONS).select_related("version", "persona")
    return runs.filter(status=AuditJob.Status.COMPLETED).first() or runs.first()


def active_jobs(persona: Persona) -> list[AuditJob]:
    return list(persona.audit_jobs.unfinished().select_related("persona", "version"))


ATTACK_KINDS = (AuditJob.Kind.ATTACKS, AuditJob.Kind.CHECKPOINT_ATTACKS)


def access_attack_run(organization, job_id) -> AuditJob:
    """An attack run (on a persona or a training job's checkpoints) of `organization`; 404 for anyone else's."""
    queryset = AuditJob.objects.filter(kind__in=ATTACK_KINDS).select_related("persona", "version", "organization")
    return get_in_org(queryset, organization, job_id, what="attack run")


def attack_runs(persona: Persona, *, kind: str | None = None, training_job=None):
    """The persona's attack runs, newest first: of one kind, or of one training job (its public id)."""
    runs = persona.audit_jobs.filter(kind__in=(kind,) if kind else ATTACK_KINDS).select_related("version", "persona")
    if training_job is not None:
        runs = runs.filter(params__training_job=str(training_job))
    return runs


def latest_attack_run(persona: Persona, *, kind: str = AuditJob.Kind.ATTACKS, training_job=None) -> AuditJob | None:
    """The newest completed attack run, else the newest of any status."""
    runs = attack_runs(persona, kind=kind, training_job=training_job)
    return runs.filter(status=AuditJob.Status.COMPLETED).first() or runs.first()
