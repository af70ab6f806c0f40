from celery import shared_task

from audits.services import audit_job_execute


@shared_task
def run_audit_job(job_id: int) -> None:
    """A fingerprint or provocation job; a worker that dies mid-job leaves it to the reaper."""
    audit_job_execute(job_id)
