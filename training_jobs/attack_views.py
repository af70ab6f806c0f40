"""A training job's robustness attacks page: its checkpoint attack runs (base vs tuned), and starting one."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from audits.models import AuditJob
from audits.selectors import attack_runs
from audits.views import attack_view
from studio.errors import StudioError
from studio.views import org_page
from training_jobs.access import access_training_job
from training_jobs.attacks import checkpoint_attacks_start
from training_jobs.checkpoint import has_checkpoint


@org_page
@require_http_methods(["GET", "POST"])
def training_job_attacks(request, training_job_id):
    """GET: the job's newest attack runs; POST (training:write): attack its base and tuned checkpoints, then back here."""
    org = request.principal.organization
    job = access_training_job(org, training_job_id)
    request.principal.require_scope("training:read")
    if request.method == "POST":
        request.principal.require_scope("training:write")
        try:
            checkpoint_attacks_start(job=job, user=request.user)
        except StudioError as exc:
            messages.error(request, exc.message)
        return redirect("training_job_attacks", org.slug, job.public_id)
    runs = list(attack_runs(job.persona, training_job=job.public_id)[:5]) if job.persona else []
    return render(request, "training/attacks.html", {
        "job": job, "runs": [attack_view(run) for run in runs],
        "active": [run.progress_payload() for run in runs if run.status in (AuditJob.Status.QUEUED, AuditJob.Status.RUNNING)],
        "can_start": request.principal.has_scope("training:write") and job.persona is not None and has_checkpoint(job),
    })
