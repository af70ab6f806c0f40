"""Claiming work, keeping it alive, and noticing that someone else took it.

A worker claims an item in one locked transaction: a queued item, or a running one whose heartbeat is
older than WORK_STALE_AFTER_S (its worker died; the message came back or the reaper queued it again).
While the work runs, a `Heartbeat` thread writes `heartbeat_at` every WORK_HEARTBEAT_S, so a long
provider call or a training step is not taken for a dead worker, and a dead worker is noticed within
WORK_STALE_AFTER_S. The heartbeat only writes while `claimed_by` still names this worker: once another
worker took the item over (or it ended), `Heartbeat.lost` is set and the old worker's next write raises
`TakenOver`.
"""

import logging
import os
import socket
import threading

from django.conf import settings
from django.db import OperationalError, close_old_connections, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)


class TakenOver(Exception):
    """Someone else (the reaper, another worker, a cancel) ended or took this item since this worker last wrote."""


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def claim(queryset, pk, *, running_status, extra_fields: tuple[str, ...] = ()):
    """Take item `pk` for this worker, or None if it ended, is gone, or a live worker holds it.

    The returned item has `resumed` set when an earlier worker had started it, and `event_seq` unset.
    `running_status` is the status it gets when it was queued, or a function of the item that says
    (a training job starts in its first remaining stage); a running item keeps its own.
    """
    with transaction.atomic():
        item = queryset.select_for_update(of=("self",)).filter(pk=pk).first()
        if item is None or item.is_finished:
            return None
        if item.is_running and not item.heartbeat_is_stale():
            return None  # a live worker is on it
        now = timezone.now()
        item.resumed = item.started_at is not None
        if not item.is_running:
            item.status = running_status(item) if callable(running_status) else running_status
        item.attempt += 1
        item.claimed_by = worker_name()
        item.started_at = item.started_at or now
        item.heartbeat_at = now
        item.save(update_fields=["status", "attempt", "claimed_by", "started_at", "heartbeat_at", *extra_fields])
        return item


class Heartbeat:
    """While the `with` block runs, write the item's heartbeat every WORK_HEARTBEAT_S from a thread.

    `lost` turns true when the item is no longer this worker's (ended, cancelled, or claimed by another).
    """

    def __init__(self, item, *, every_s: float | None = None):
        self.model, self.pk = type(item), item.pk
        self.running = tuple(item.RUNNING)
        self.owner = item.claimed_by
        self.every_s = every_s if every_s is not None else settings.WORK_HEARTBEAT_S
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.model.__name__}-{self.pk}", daemon=True)

    def beat(self) -> bool:
        """One heartbeat; False once the item is not ours any more."""
        updated = self.model.objects.filter(pk=self.pk, claimed_by=self.owner, status__in=self.running).update(
            heartbeat_at=timezone.now())
        if not updated:
            self.lost = True
        return not self.lost

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every_s):
                try:
                    if not self.beat():
                        return
                except OperationalError:  # a locked SQLite file or a database blip: the next beat tries again
                    logger.warning("heartbeat of %s %s could not be written", self.model.__name__, self.pk)
                    close_old_connections()
        finally:
            connection.close()

    def __enter__(self):
        from celery import current_app

        # An eager task (tests) runs inside the caller's transaction, which the thread's connection cannot see.
        if self.every_s > 0 and not current_app.conf.task_always_eager:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        return False
