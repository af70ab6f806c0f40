"""Audit jobs on the work engine: a job whose worker died is failed (starting it again is one click)."""

from audits.models import AuditJob
from audits.services import audit_job_fail
from studio.work.reaper import Kind, register

register(Kind(name="audit job", model=AuditJob, fail=audit_job_fail,
              stale_reason=lambda job: f" after {job.done} of {job.total} calls"))
