"""Background work for reviews: the studio writing pairs, and the LLM judge. Tasks take ids."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from audits.reviews.models import BackgroundWork, ComparisonGeneration, JudgeRun
from audits.reviews.services import comparison_generation_execute, judge_comparisons_execute

logger = logging.getLogger(__name__)
GENERATION_STALE_AFTER = timedelta(minutes=30)


UNFINISHED = [BackgroundWork.Status.QUEUED, BackgroundWork.Status.RUNNING]


def _fail(model, ids, error: str) -> int:
    """End unfinished generations or judge runs as failed, saying why."""
    return model.objects.filter(pk__in=ids, status__in=UNFINISHED).update(
        status=BackgroundWork.Status.FAILED, error=error[:4000], finished_at=timezone.now()
    )


@shared_task
def generate_comparisons(generation_id: int) -> None:
    try:
        comparison_generation_execute(generation_id)
    except Exception as exc:  # a bug or an outage still ends the generation in a clear state
        logger.exception("comparison generation %s failed", generation_id)
        _fail(ComparisonGeneration, [generation_id], f"internal error: {type(exc).__name__}: {exc}")


@shared_task
def judge_comparisons(run_id: int) -> int:
    try:
        return judge_comparisons_execute(run_id)
    except Exception as exc:  # ends in a clear state, like a generation
        logger.exception("judge run %s failed", run_id)
        _fail(JudgeRun, [run_id], f"internal error: {type(exc).__name__}: {exc}")
        return 0


@shared_task
def reap_comparison_generations() -> int:
    """Fail generations and judge runs whose worker died (beat): queued or running longer than any real one takes."""
    cutoff = timezone.now() - GENERATION_STALE_AFTER
    reasons = {
        ComparisonGeneration: "the worker stopped before the pairs were written; start the generation again",
        JudgeRun: "the worker stopped before the judge finished; run the judge again",
    }
    return sum(
        _fail(model, list(model.objects.filter(status__in=UNFINISHED, created_at__lt=cutoff).values_list("pk", flat=True)), reason)
        for model, reason in reasons.items()
    )
