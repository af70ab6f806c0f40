"""Eval runs on the work engine: a run whose worker died goes on from its saved trials (up to WORK_MAX_ATTEMPTS
claims), then fails saying how far it got."""

from audits.evals.models import EvalRun
from studio.work.reaper import Kind, register


def _fail(run: EvalRun, error: str) -> None:
    from audits.evals.runner import eval_run_fail  # the runner pulls in the LLM gateway

    eval_run_fail(run, error)


def _resume(run: EvalRun) -> None:
    from audits.evals.runner import eval_run_requeue

    eval_run_requeue(run)


def _where(run: EvalRun) -> str:
    return f" after {run.progress_done} of {run.progress_total} trials" if run.status in EvalRun.RUNNING else ""


register(Kind(name="eval run", model=EvalRun, fail=_fail, resume=_resume, stale_reason=_where,
              advice=lambda run: "start the run again"))
