"""Server-sent events for a run: its event source for studio.sse (replay after Last-Event-ID, then follow live)."""

from django.http import StreamingHttpResponse

from pipeline.events import TERMINAL_EVENTS, events_after
from pipeline.models import PipelineRun, RunStatus
from pipeline.runner import reap_stale_runs
from studio import sse
from studio.sse import last_event_id  # noqa: F401  (re-exported: the runs API reads it from here)


def _finished_without_terminal_event(run: PipelineRun) -> bool:
    reap_stale_runs()  # a dead worker must not leave a stream open forever
    run.refresh_from_db(fields=["status"])
    return run.status not in (RunStatus.QUEUED, RunStatus.RUNNING)


def run_event_source(run: PipelineRun) -> sse.EventSource:
    return sse.EventSource(
        group=run.channel_group,
        events_after=lambda seq: events_after(run, seq),
        terminal=TERMINAL_EVENTS,
        finished=lambda: _finished_without_terminal_event(run),
    )


def sse_response(run: PipelineRun, after: int) -> StreamingHttpResponse:
    return sse.sse_response(run_event_source(run), after)
