"""Background work for datasets: generating rows, and clearing stale previews and generations. Tasks take ids."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from training_jobs.datasets.models import DatasetGeneration
from training_jobs.datasets.services import dataset_generation_execute, dataset_imports_reap

logger = logging.getLogger(__name__)
GENERATION_STALE_AFTER = timedelta(minutes=30)
UNFINISHED = [DatasetGeneration.Status.QUEUED, DatasetGeneration.Status.RUNNING]


def _fail(ids, error: str) -> int:
    return DatasetGeneration.objects.filter(pk__in=ids, status__in=UNFINISHED).update(
        status=DatasetGeneration.Status.FAILED, error=error[:4000], finished_at=timezone.now()
    )


@shared_task
def generate_dataset_rows(generation_id: int) -> None:
    try:
        dataset_generation_execute(generation_id)
    except Exception as exc:  # a bug or an outage still ends the generation in a clear state
        logger.exception("dataset generation %s failed", generation_id)
        _fail([generation_id], f"internal error: {type(exc).__name__}: {exc}")


@shared_task
def reap_dataset_work() -> int:
    """(beat) Fail generations whose worker died; remove previews nobody confirmed within a day."""
    cutoff = timezone.now() - GENERATION_STALE_AFTER
    stale = DatasetGeneration.objects.filter(status__in=UNFINISHED, created_at__lt=cutoff).values_list("pk", flat=True)
    failed = _fail(list(stale), "the worker stopped before the rows were written; start the generation again")
    return failed + dataset_imports_reap()
