"""Server-sent events for anything with a persisted, numbered event log: replay after Last-Event-ID, then follow live.

An `EventSource` names the object's channel group, how to read its events after a sequence number, which
event types end the stream, and how to tell that the object ended without writing one (a dead worker).
Live events come through the channel group; the database is also checked on every quiet interval, so an
event lost in transit (a Redis restart, say) is still delivered, in order.
"""

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.http import StreamingHttpResponse

from studio.errors import Invalid

QUIET_INTERVAL_S = 1.0
KEEPALIVE_EVERY = 15  # quiet intervals between comment lines that keep proxies from closing the stream


class StoredEvent(Protocol):
    seq: int
    type: str
    data: dict


@dataclass(frozen=True)
class EventSource:
    group: str  # the channel group its live events are sent to, payload {"seq", "type", "data", ...}
    events_after: Callable[[int], Iterable[StoredEvent]]  # persisted events with seq > n, in order
    terminal: tuple[str, ...]  # event types after which nothing more comes
    finished: Callable[[], bool]  # ended without a terminal event? (may reap stale work first)


def format_event(seq: int, type: str, data: dict) -> str:
    return f"id: {seq}\nevent: {type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _replay(source: EventSource, after: int) -> tuple[list[str], int, bool]:
    chunks, last, done = [], after, False
    for event in source.events_after(after):
        chunks.append(format_event(event.seq, event.type, event.data))
        last, done = event.seq, done or event.type in source.terminal
    return chunks, last, done


async def event_stream(source: EventSource, after: int):
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(source.group, channel)
    replay = sync_to_async(_replay)
    try:
        chunks, last, done = await replay(source, after)
        for chunk in chunks:
            yield chunk
        quiet = 0
        while not done:
            try:
                message = await asyncio.wait_for(layer.receive(channel), timeout=QUIET_INTERVAL_S)
            except asyncio.TimeoutError:
                message = None
            payload = (message or {}).get("payload") or {}
            if payload.get("seq") == last + 1:
                yield format_event(payload["seq"], payload["type"], payload["data"])
                last, done, quiet = payload["seq"], payload["type"] in source.terminal, 0
                continue
            # Quiet, or a gap / duplicate: the database is the source of truth.
            chunks, last, done = await replay(source, last)
            for chunk in chunks:
                yield chunk
            if chunks:
                quiet = 0
                continue
            quiet += 1
            if quiet % KEEPALIVE_EVERY == 0:
                yield ": keep-alive\n\n"
                if await sync_to_async(source.finished)():
                    chunks, last, done = await replay(source, last)
                    for chunk in chunks:
                        yield chunk
                    done = True
    finally:
        await layer.group_discard(source.group, channel)


def sse_response(source: EventSource, after: int) -> StreamingHttpResponse:
    response = StreamingHttpResponse(event_stream(source, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def last_event_id(request) -> int:
    """The sequence number a reconnecting client saw last (Last-Event-ID header, or ?after=); 0 for none."""
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    try:
        return max(0, int(raw))
    except ValueError:
        raise Invalid("Last-Event-ID must be an event sequence number", field="Last-Event-ID") from None
