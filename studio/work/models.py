"""The abstract models every kind of background work builds on."""

from datetime import timedelta
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone


class WorkStatus(models.TextChoices):
    """The statuses of most kinds; a kind with others (a training job's stages, a persona run's ready/flagged)
    declares its own and says which mean waiting, working and ended."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"


class WorkItem(models.Model):
    """A piece of background work: queued → running → ended, in the kind's own status names.

    The engine reads only QUEUED, RUNNING and ENDED: which of the kind's statuses mean waiting, working and ended.
    """

    Status = WorkStatus
    QUEUED: ClassVar[tuple[str, ...]] = (WorkStatus.QUEUED,)
    RUNNING: ClassVar[tuple[str, ...]] = (WorkStatus.RUNNING,)
    ENDED: ClassVar[tuple[str, ...]] = (WorkStatus.COMPLETED, WorkStatus.FAILED)
    TERMINAL_EVENTS: ClassVar[tuple[str, ...]] = ()  # kinds with an event log: the event types that end it

    attempt = models.PositiveSmallIntegerField(default=0, help_text="Claims so far: a resume after a dead worker adds one")
    claimed_by = models.CharField(max_length=120, blank=True, help_text="host:pid of the worker that holds it")
    heartbeat_at = models.DateTimeField(default=timezone.now, help_text="Last sign of life of its worker (or when it was queued)")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_finished(self) -> bool:
        return self.status in self.ENDED

    @property
    def is_running(self) -> bool:
        return self.status in self.RUNNING

    @property
    def duration_ms(self) -> int | None:
        if self.started_at and self.finished_at:
            return int((self.finished_at - self.started_at).total_seconds() * 1000)
        return None

    def heartbeat_is_stale(self, now=None) -> bool:
        return self.heartbeat_at < (now or timezone.now()) - timedelta(seconds=settings.WORK_STALE_AFTER_S)


class WorkEvent(models.Model):
    """One numbered event of a work item's log (the SSE id); each kind adds the foreign key to its item."""

    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=40)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        abstract = True
        ordering = ["seq"]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type}"

    def as_message(self) -> dict:
        return {"seq": self.seq, "type": self.type, "data": self.data, "at": self.created_at.isoformat()}
