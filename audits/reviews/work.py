"""Comparison generations and judge runs on the work engine. Neither keeps a checkpoint (the pairs and votes are stored
at the end), so one whose worker died is failed, saying how far its calls got."""

from audits.reviews.models import ComparisonGeneration, JudgeRun
from studio.work.reaper import Kind, register


def _fail(record, error: str) -> None:
    from audits.reviews.services import background_work_fail

    background_work_fail(record, error)


def _where(record) -> str:
    if record.status not in record.RUNNING or not record.calls_total:
        return ""
    return f" after {record.calls_done} of {record.calls_total} calls"


register(Kind(name="comparison generation", model=ComparisonGeneration, fail=_fail, stale_reason=_where,
              advice=lambda generation: "no pairs were written; start the generation again"))
register(Kind(name="judge run", model=JudgeRun, fail=_fail, stale_reason=_where,
              advice=lambda run: "no votes were stored; run the judge again"))
