"""Persona runs on the work engine: a run whose worker died resumes from its completed steps."""

from pipeline.models import PipelineRun
from pipeline.runner import run_fail, run_requeue
from studio.work.reaper import Kind, register


def _where(run: PipelineRun) -> str:
    step = run.steps.filter(status="running").order_by("-id").values_list("step", flat=True).first()
    return f" during {step}" if step else ""


register(Kind(name="persona run", model=PipelineRun, fail=run_fail, resume=run_requeue, stale_reason=_where))
