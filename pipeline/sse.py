"""Server-sent events for a run: replay what was persisted after Last-Event-ID, then follow live.

Live events come through the run's channel group; the database is also checked on every
quiet interval, so an event lost in transit (a Redis restart, say) is still delivered, in order.
"""

import asyncio
import json

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.http import StreamingHttpResponse

from pipeline.events import TERMINAL_EVENTS, events_after
from pipeline.models import PipelineRun, RunStatus
from pipeline.runner import reap_stale_runs

QUIET_INTERVAL_S = 1.0
KEEPALIVE_EVERY = 15  # quiet intervals between comment lines that keep proxies from closing the stream


def format_event(seq: int, type: str, data: dict) -> str:
    return f"id: {seq}\nevent: {type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _replay(run: PipelineRun, after: int) -> tuple[list[str], int, bool]:
    chunks, last, done = [], after, False
    for event in events_after(run, after):
        chunks.append(format_event(event.seq, event.type, event.data))
        last, done = event.seq, done or event.type in TERMINAL_EVENTS
    return chunks, last, done


def _finished_without_terminal_event(run: PipelineRun) -> bool:
    reap_stale_runs()  # a dead worker must not leave a stream open forever
    run.refresh_from_db(fields=["status"])
    return run.status not in (RunStatus.QUEUED, RunStatus.RUNNING)


async def run_event_stream(run: PipelineRun, after: int):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(run.channel_group, channel)
    try:
        chunks, last, done = await sync_to_async(_replay)(run, after)
        for chunk in chunks:
            yield chunk
        quiet = 0
        while not done:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=QUIET_INTERVAL_S)
            except asyncio.TimeoutError:
                message = None
            if message is not None and message["payload"]["seq"] == last + 1:
                payload = message["payload"]
                yield format_event(payload["seq"], payload["type"], payload["data"])
                last, done, quiet = payload["seq"], payload["type"] in TERMINAL_EVENTS, 0
                continue
            # Quiet, or a gap / duplicate: the database is the source of truth.
            chunks, last, done = await sync_to_async(_replay)(run, last)
            for chunk in chunks:
                yield chunk
            if chunks:
                quiet = 0
                continue
            quiet += 1
            if quiet % KEEPALIVE_EVERY == 0:
                yield ": keep-alive\n\n"
                if await sync_to_async(_finished_without_terminal_event)(run):
                    chunks, last, done = await sync_to_async(_replay)(run, last)
                    for chunk in chunks:
                        yield chunk
                    done = True
    finally:
        await layer.group_discard(run.channel_group, channel)


def sse_response(run: PipelineRun, after: int) -> StreamingHttpResponse:
    response = StreamingHttpResponse(run_event_stream(run, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def last_event_id(request) -> int:
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        from studio.errors import Invalid

        raise Invalid("Last-Event-ID must be an event sequence number", field="Last-Event-ID") from None
