from pipeline.models import PipelineRun
from studio.access import get_in_org


def access_run(organization, run_id) -> PipelineRun:
    return get_in_org(PipelineRun.objects.select_related("persona", "workspace", "organization"), organization, run_id, what="run")
