"""Server-sent events for a work item's event log: replay after Last-Event-ID, then follow live.

Live events come through the item's channel group; the database is the source of truth, read after
every quiet second and on any gap, so an event lost in transit is still delivered, in order, once.
When the channel layer fails (Redis restarting), the stream keeps going on the database alone and
joins the group again every few seconds. A comment line goes out every KEEPALIVE_S of silence, so
proxies keep the stream open and a client can tell a quiet stream from a dead one. The stream ends
after a terminal event, or when the item has ended without one.
"""

import asyncio
import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.http import StreamingHttpResponse

from studio.errors import Invalid
from studio.work.events import events_after

QUIET_INTERVAL_S = 1.0
KEEPALIVE_S = 15.0  # of silence before a comment line
REJOIN_EVERY_S = 3.0  # while the channel layer is down: how often to try joining the group again
logger = logging.getLogger(__name__)


class StoredEvent(Protocol):
    seq: int
    type: str
    data: dict


@dataclass(frozen=True)
class EventSource:
    group: str  # the channel group its live events are sent to, payload {"seq", "type", "data", ...}
    events_after: Callable[[int], Iterable[StoredEvent]]  # persisted events with seq > n, in order
    terminal: tuple[str, ...]  # event types after which nothing more comes
    finished: Callable[[], bool]  # ended without a terminal event? (a read: it never reaps)

    @classmethod
    def of(cls, item) -> "EventSource":
        """The event source of a work item with an event log (`events`) and a `channel_group`."""

        def finished() -> bool:
            item.refresh_from_db(fields=["status"])
            return item.is_finished

        return cls(group=item.channel_group, events_after=lambda seq: events_after(item, seq),
                   terminal=item.TERMINAL_EVENTS, finished=finished)


def format_event(seq: int, type: str, data: dict) -> str:
    return f"id: {seq}\nevent: {type}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _replay(source: EventSource, after: int) -> tuple[list[str], int, bool]:
    chunks, last, done = [], after, False
    for event in source.events_after(after):
        chunks.append(format_event(event.seq, event.type, event.data))
        last, done = event.seq, done or event.type in source.terminal
    return chunks, last, done


class _Live:
    """The stream's seat in the channel group; `receive` returns None on silence or while the layer is down."""

    def __init__(self, group: str):
        self.group, self.layer, self.channel, self.joined, self.tried_at = group, get_channel_layer(), None, False, 0.0

    async def join(self) -> None:
        self.tried_at = time.monotonic()
        try:
            self.channel = self.channel or await self.layer.new_channel()
            await self.layer.group_add(self.group, self.channel)
            self.joined = True
        except Exception as exc:  # Redis down: follow the database until it is back
            logger.warning("SSE on %s without the channel layer (%s); reading the database", self.group, exc)
            self.joined = False

    async def receive(self) -> dict | None:
        if not self.joined:
            if time.monotonic() - self.tried_at >= REJOIN_EVERY_S:
                await self.join()
            if not self.joined:
                await asyncio.sleep(QUIET_INTERVAL_S)
                return None
        try:
            return await asyncio.wait_for(self.layer.receive(self.channel), timeout=QUIET_INTERVAL_S)
        except asyncio.TimeoutError:
            return None
        except Exception as exc:
            logger.warning("SSE on %s lost the channel layer (%s); reading the database", self.group, exc)
            self.joined, self.tried_at, self.channel = False, time.monotonic(), None
            return None

    async def leave(self) -> None:
        if self.joined:
            try:
                await self.layer.group_discard(self.group, self.channel)
            except Exception:  # the layer is down: its group entries expire on their own
                pass


async def event_stream(source: EventSource, after: int):
    live = _Live(source.group)
    await live.join()
    replay = sync_to_async(_replay)
    try:
        chunks, last, done = await replay(source, after)
        for chunk in chunks:
            yield chunk
        wrote_at = time.monotonic()
        while not done:
            payload = ((await live.receive()) or {}).get("payload") or {}
            if payload.get("seq") == last + 1:
                yield format_event(payload["seq"], payload["type"], payload["data"])
                last, done, wrote_at = payload["seq"], payload["type"] in source.terminal, time.monotonic()
                continue
            # Quiet, a gap, a duplicate, or no layer: the database is the source of truth.
            chunks, last, done = await replay(source, last)
            for chunk in chunks:
                yield chunk
            if chunks:
                wrote_at = time.monotonic()
                continue
            if time.monotonic() - wrote_at >= KEEPALIVE_S:
                yield ": keep-alive\n\n"
                wrote_at = time.monotonic()
                if await sync_to_async(source.finished)():
                    chunks, last, done = await replay(source, last)  # anything written just before it ended
                    for chunk in chunks:
                        yield chunk
                    done = True
    finally:
        await live.leave()


def sse_response(source, after: int) -> StreamingHttpResponse:
    """The event stream of `source` (an EventSource, or a work item with an event log) after event `after`."""
    if not isinstance(source, EventSource):
        source = EventSource.of(source)
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
