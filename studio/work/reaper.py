"""One reaper for every kind of background work: items whose worker died are resumed or failed.

A kind registers how to fail an item (with a reason in words) and, if it can continue from a checkpoint,
how to queue it again. The reaper runs from one beat task (studio.work.tasks.reap_stale_work) — never
from a request: reads do not write.

- running, heartbeat older than WORK_STALE_AFTER_S: queued again to resume (kinds that can, up to
  WORK_MAX_ATTEMPTS claims), else failed naming where it stopped;
- queued, never picked up for the kind's `queued_stale_s` (the message was lost): failed.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Kind:
    name: str  # e.g. "pipeline run"
    model: type
    fail: Callable[[object, str], None]  # ends the item failed with this reason (and tells its subscribers)
    resume: Callable[[object], None] | None = None  # queues a stale running item again (inside a transaction)
    stale_reason: Callable[[object], str] = field(default=lambda item: "")  # where it stopped: " during dpo_data"
    advice: Callable[[object], str] = field(default=lambda item: "start it again")  # what the user can do about it
    queued_stale_s: Callable[[], float] = field(default=lambda: settings.WORK_QUEUED_STALE_S)


REGISTRY: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    REGISTRY[kind.name] = kind
    return kind


def stale_running(kind: Kind, now):
    cutoff = now - timedelta(seconds=settings.WORK_STALE_AFTER_S)
    return kind.model.objects.filter(status__in=kind.model.RUNNING, heartbeat_at__lt=cutoff)


def stale_queued(kind: Kind, now):
    cutoff = now - timedelta(seconds=kind.queued_stale_s())
    return kind.model.objects.filter(status__in=kind.model.QUEUED, heartbeat_at__lt=cutoff)


def reap_kind(kind: Kind, now=None) -> dict[str, int]:
    now = now or timezone.now()
    counts = {"resumed": 0, "failed": 0}
    for pk in list(stale_running(kind, now).values_list("pk", flat=True)):
        with transaction.atomic():
            item = stale_running(kind, now).select_for_update(skip_locked=True).filter(pk=pk).first()
            if item is None:
                continue  # it beat, ended or another reaper has it
            where = kind.stale_reason(item)
            if kind.resume is not None and item.attempt < settings.WORK_MAX_ATTEMPTS:
                kind.resume(item)
                counts["resumed"] += 1
                logger.warning("%s %s: its worker stopped%s; queued again to resume", kind.name, item.pk, where)
                continue
            silent = settings.WORK_STALE_AFTER_S
            tries = f" after {item.attempt} tries" if item.attempt > 1 else ""
            kind.fail(item, f"the worker stopped{where} (no heartbeat for {silent} s{tries}); {kind.advice(item)}")
            counts["failed"] += 1
    for pk in list(stale_queued(kind, now).values_list("pk", flat=True)):
        with transaction.atomic():
            item = stale_queued(kind, now).select_for_update(skip_locked=True).filter(pk=pk).first()
            if item is None:
                continue
            waited = int(kind.queued_stale_s())
            kind.fail(item, f"no worker picked it up in {waited} s (is a worker running?); {kind.advice(item)}")
            counts["failed"] += 1
    return counts


def reap(now=None) -> dict[str, dict[str, int]]:
    """Reap every registered kind; {kind name: {"resumed": n, "failed": n}} for the kinds that had any."""
    _load_kinds()
    report = {}
    for kind in REGISTRY.values():
        try:
            counts = reap_kind(kind, now)
        except Exception:  # one kind's trouble (a bug, a table mid-migration) must not stop the others' reaping
            logger.exception("could not reap %s items", kind.name)
            continue
        if any(counts.values()):
            report[kind.name] = counts
    return report


def _load_kinds() -> None:
    """Kinds register when their app's `work` module is imported (the apps' ready() does it)."""
    from django.apps import apps
    from django.utils.module_loading import autodiscover_modules

    if not getattr(_load_kinds, "done", False) and apps.ready:
        autodiscover_modules("work")
        _load_kinds.done = True
