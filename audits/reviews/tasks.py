"""Background work for reviews: the studio writing pairs, and the LLM judge. Tasks take ids.

Both are work on the engine (studio.work): the task claims the item, a heartbeat keeps it alive while the
calls run, and the reaper (audits.reviews.work) fails it if its worker dies. Any exception ends it failed.
"""

import logging

from celery import shared_task
from django.db import transaction

from audits.reviews.models import ComparisonGeneration, JudgeRun
from audits.reviews.services import background_work_fail, comparison_generation_execute, judge_comparisons_execute
from studio.work.lifecycle import Heartbeat, TakenOver, claim

logger = logging.getLogger(__name__)


def _work(model, item_id: int, execute):
    """Claim the item, run `execute` on it with a heartbeat, and end it failed on any exception; None when there was
    nothing to do (it ended, is gone, or a live worker holds it) or it failed."""
    item = claim(model.objects.select_related("persona__organization"), item_id, running_status=model.Status.RUNNING)
    if item is None:
        return None
    try:
        with Heartbeat(item):
            return execute(item)
    except TakenOver as exc:  # the reaper ended it while we were slow: its outcome stands
        logger.warning("%s", exc)
    except Exception as exc:  # a bug or an outage still ends the item in a clear state
        logger.exception("%s %s failed", model._meta.verbose_name, item_id)
        with transaction.atomic():
            locked = model.objects.select_for_update().get(pk=item.pk)
            if locked.claimed_by == item.claimed_by and not locked.is_finished:
                background_work_fail(locked, f"internal error: {type(exc).__name__}: {exc}")
    return None


@shared_task
def generate_comparisons(generation_id: int) -> None:
    _work(ComparisonGeneration, generation_id, comparison_generation_execute)


@shared_task
def judge_comparisons(run_id: int) -> int:
    return _work(JudgeRun, run_id, judge_comparisons_execute) or 0
