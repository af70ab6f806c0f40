"""Background work for datasets: generating rows (work on the engine, studio.work: the reaper in
training_jobs.datasets.work fails a generation whose worker died), and clearing previews nobody confirmed. Tasks take ids."""

import logging

from celery import shared_task
from django.db import transaction

from studio.work.lifecycle import Heartbeat, TakenOver, claim
from training_jobs.datasets.models import DatasetGeneration
from training_jobs.datasets.services import dataset_generation_execute, dataset_generation_fail, dataset_imports_reap

logger = logging.getLogger(__name__)


def generation_run(generation_id: int) -> None:
    """Claim the generation and write its rows; nothing to do when it ended, is gone, or a live worker holds it."""
    generation = claim(DatasetGeneration.objects.select_related("dataset", "organization"), generation_id,
                       running_status=DatasetGeneration.Status.RUNNING)
    if generation is None:
        return
    try:
        with Heartbeat(generation):
            dataset_generation_execute(generation)
    except TakenOver as exc:  # the reaper ended it while we were slow: its outcome stands
        logger.warning("%s", exc)
    except Exception as exc:  # a bug or an outage still ends the generation in a clear state
        logger.exception("dataset generation %s failed", generation_id)
        with transaction.atomic():
            locked = DatasetGeneration.objects.select_for_update().get(pk=generation.pk)
            if locked.claimed_by == generation.claimed_by and not locked.is_finished:
                dataset_generation_fail(locked, f"internal error: {type(exc).__name__}: {exc}")


@shared_task
def generate_dataset_rows(generation_id: int) -> None:
    generation_run(generation_id)


@shared_task
def clear_stale_dataset_imports() -> int:
    """(beat) Housekeeping: remove previews nobody confirmed within a day, and their files."""
    return dataset_imports_reap()
