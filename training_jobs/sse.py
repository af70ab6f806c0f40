"""Server-sent events for a training job: its event source for studio.sse (replay after Last-Event-ID, then follow live)."""

from django.http import StreamingHttpResponse

from studio import sse
from training_jobs.events import TERMINAL_EVENTS, events_after
from training_jobs.models import TrainingJob


def _finished_without_terminal_event(job: TrainingJob) -> bool:
    from training_jobs.runner import reap_stale_jobs  # the runner pulls in the LLM gateway and training code

    reap_stale_jobs()  # a dead worker must not leave a stream open forever
    job.refresh_from_db(fields=["status"])
    return job.is_finished


def job_event_source(job: TrainingJob) -> sse.EventSource:
    return sse.EventSource(
        group=job.channel_group,
        events_after=lambda seq: events_after(job, seq),
        terminal=TERMINAL_EVENTS,
        finished=lambda: _finished_without_terminal_event(job),
    )


def sse_response(job: TrainingJob, after: int) -> StreamingHttpResponse:
    return sse.sse_response(job_event_source(job), after)
