"""Run events: persisted with a per-run sequence number, then broadcast to the run's group."""

from django.db import IntegrityError, transaction

from pipeline.models import PipelineRun, RunEvent
from studio.realtime import send_event

RUN_EVENT = "run.event"  # the realtime event name consumers render


class RunTakenOver(Exception):
    """Someone else (the stale-run reaper) wrote to this run's event stream since we last did."""


def emit(run: PipelineRun, type: str, data: dict, **run_fields) -> RunEvent:
    """Append an event; subscribers get it once the transaction commits (Last-Event-ID = seq).

    One writer owns a run's stream at a time (the worker that claimed it, or the reaper holding the
    run's row lock), so it keeps the last number it wrote on the run object (`event_seq`) instead of
    asking the database each time. The unique (run, seq) constraint catches a second writer: the
    loser gets RunTakenOver and its transaction changes nothing. `run_fields` are saved on the run
    in the same transaction (one UPDATE).
    """
    if getattr(run, "event_seq", None) is None:
        run.event_seq = run.last_event_seq()
    seq = run.event_seq + 1
    try:
        with transaction.atomic(savepoint=False):  # joins the caller's transaction, or is its own
            event = RunEvent.objects.create(run=run, seq=seq, type=type, data=data)
            if run_fields:
                PipelineRun.objects.filter(pk=run.pk).update(**run_fields)
            send_event(run.channel_group, RUN_EVENT, {"run_id": str(run.public_id), **event.as_message()})
    except IntegrityError as exc:
        raise RunTakenOver(f"run {run.public_id} already has event #{seq}") from exc
    run.event_seq = seq
    return event


def events_after(run: PipelineRun, seq: int) -> list[RunEvent]:
    return list(RunEvent.objects.filter(run=run, seq__gt=seq).order_by("seq"))


TERMINAL_EVENTS = ("pipeline.completed", "pipeline.failed")
