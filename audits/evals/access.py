from audits.evals.models import EvalCase, EvalRun
from studio.access import get_in_org


def access_eval_case(organization, case_id) -> EvalCase:
    return get_in_org(EvalCase.objects.select_related("persona"), organization, case_id, what="eval case")


def access_eval_run(organization, run_id) -> EvalRun:
    return get_in_org(EvalRun.objects.select_related("persona", "version", "organization"), organization, run_id, what="eval run")
