"""Job events: persisted with a per-job sequence number (the SSE id), then broadcast to the job's group."""

import math

from django.db import IntegrityError, transaction

from studio.realtime import send_event
from training_jobs.models import JobEvent, TrainingJob

JOB_EVENT = "training.event"  # the realtime event name consumers render
TERMINAL_EVENTS = ("job.succeeded", "job.failed", "job.cancelled", "job.killed")


class JobTakenOver(Exception):
    """Someone else (the reaper, a resume) wrote to this job's event stream since this worker did."""


def emit(job: TrainingJob, type: str, data: dict, **job_fields) -> JobEvent:
    """Append an event (and save `job_fields` on the job in the same transaction); subscribers get it after commit.

    Like pipeline.events.emit: the writer keeps the last number it wrote; the unique (job, seq)
    constraint turns a second writer into JobTakenOver.
    """
    if getattr(job, "event_seq", None) is None:
        job.event_seq = job.last_event_seq()
    seq = job.event_seq + 1
    data = json_safe(data)
    try:
        with transaction.atomic():
            event = JobEvent.objects.create(job=job, seq=seq, type=type, data=data)
            if job_fields:
                TrainingJob.objects.filter(pk=job.pk).update(**job_fields)
            send_event(job.channel_group, JOB_EVENT, {"job_id": str(job.public_id), **event.as_message()})
    except IntegrityError as exc:
        if JobEvent.objects.filter(job=job, seq=seq).exists():
            raise JobTakenOver(f"job {job.public_id} already has event #{seq}") from exc
        raise
    job.event_seq = seq
    return event


def json_safe(value):
    """NaN and ±inf (a diverging loss) as the strings "nan", "inf", "-inf": JSON has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    return value


def events_after(job: TrainingJob, seq: int) -> list[JobEvent]:
    return list(JobEvent.objects.filter(job=job, seq__gt=seq).order_by("seq"))
