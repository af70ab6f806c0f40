from studio.access import get_in_org
from training_jobs.models import TrainingJob


def access_training_job(organization, job_id) -> TrainingJob:
    return get_in_org(
        TrainingJob.objects.select_related("persona", "workspace", "organization", "constitution"),
        organization, job_id, what="training job",
    )
