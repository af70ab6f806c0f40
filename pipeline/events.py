"""Run events: persisted with a per-run sequence number, then broadcast to the run's group."""

from django.db import transaction

from pipeline.models import PipelineRun, RunEvent
from studio.realtime import send_event

RUN_EVENT = "run.event"  # the realtime event name consumers render


def emit(run: PipelineRun, type: str, data: dict) -> RunEvent:
    """Append an event; subscribers get it once the transaction commits (Last-Event-ID = seq)."""
    with transaction.atomic(savepoint=False):  # joins the caller's transaction when there is one
        # Lock the run row and take the next number: one writer at a time per run (worker or reaper).
        seq = PipelineRun.objects.select_for_update().values_list("last_seq", flat=True).get(pk=run.pk) + 1
        event = RunEvent.objects.create(run=run, seq=seq, type=type, data=data)
        PipelineRun.objects.filter(pk=run.pk).update(last_seq=seq)
        send_event(run.channel_group, RUN_EVENT, {"run_id": str(run.public_id), **event.as_message()})
    run.last_seq = seq
    return event


def events_after(run: PipelineRun, seq: int) -> list[RunEvent]:
    return list(RunEvent.objects.filter(run=run, seq__gt=seq).order_by("seq"))


TERMINAL_EVENTS = ("pipeline.completed", "pipeline.failed")
