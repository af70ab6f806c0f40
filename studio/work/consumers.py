"""WebSocket consumers: one channel group per object, authorized on connect with the access helpers.

A Redis restart fails a consumer in two ways: its receive raises (the connection dropped), or — quieter —
its group membership is gone with Redis' data and it simply hears nothing more. So every WATCH_EVERY_S a
consumer joins its group again (idempotent; it also refreshes the membership's expiry) and an event-log
consumer compares the log in the database with the last event it forwarded, sending the panel when it fell
behind. When the layer fails outright, the consumer ends with the error, which daphne turns into close code
1011; the htmx ws extension reconnects on 1011 (and 1006, 1012, 1013 — but daphne's WebSocket library only
lets an application send 1000 or 3000-4999), and the new socket sends what the page missed, read from the
database (its `?after=` cursor). A consumer that cannot join its group on connect sends the state it can
read first. Either way the page reaches the object's final state.
"""

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import parse_qs

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import WebsocketConsumer

from studio.access import access_membership
from studio.errors import NotFound
from studio.work.events import last_event_seq

CLOSE_NOT_FOUND = 4404
WATCH_EVERY_S = 5.0
logger = logging.getLogger(__name__)


class LayerLost(Exception):
    """The channel layer failed under a consumer: daphne closes the socket with 1011 and the page reconnects."""


class GroupConsumer(WebsocketConsumer):
    """Joins the group of the object named in the URL, if the user may see it; else closes with 4404."""

    def resolve_group(self, membership, **url_kwargs) -> str:
        raise NotImplementedError  # each consumer names its object's group

    def on_joined(self) -> None:
        """Hook for sending what happened before the socket opened."""

    def catch_up(self) -> None:
        """Hook, called every WATCH_EVERY_S: send what the page missed if live events were lost."""

    def after_cursor(self) -> int:
        """The event number the page was rendered at (`?after=`): anything newer happened before the socket opened."""
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            return int((query.get("after") or ["0"])[0])
        except ValueError:
            return 0  # a malformed cursor: the consumer sends its current state

    def connect(self):
        kwargs = dict(self.scope["url_route"]["kwargs"])
        try:
            self.membership = access_membership(self.scope["user"], kwargs.pop("org_slug"))
            group = self.resolve_group(self.membership, **kwargs)
        except NotFound:
            self.close(code=CLOSE_NOT_FOUND)
            return
        try:
            async_to_sync(self.channel_layer.group_add)(group, self.channel_name)
        except Exception as exc:  # Redis down: the stored state now, then the page reconnects
            self.accept()
            self.on_joined()
            raise LayerLost(f"could not join {group}: {exc}") from exc
        self.group = group
        self.accept()
        self.on_joined()

    def disconnect(self, code):
        if hasattr(self, "group"):
            try:
                async_to_sync(self.channel_layer.group_discard)(self.group, self.channel_name)
            except Exception:
                pass  # the layer is gone; its group entries expire

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY_S)
            if not hasattr(self, "group"):
                continue  # not joined (yet)
            try:
                await self.channel_layer.group_add(self.group, self.channel_name)
            except Exception as exc:
                raise LayerLost(f"could not rejoin {self.group}: {exc}") from exc
            try:
                await database_sync_to_async(self.catch_up)()
            except Exception:
                logger.exception("WebSocket on %s could not catch up from the database", self.group)

    async def __call__(self, scope, receive, send):
        consumer = asyncio.ensure_future(super().__call__(scope, receive, send))
        watch = asyncio.ensure_future(self._watch())
        try:
            await asyncio.wait({consumer, watch}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (watch, consumer):
                if not task.done():
                    task.cancel()
        if consumer.done() and not consumer.cancelled():
            error = consumer.exception()
        else:
            error = watch.exception()
        if error is not None:
            logger.warning("WebSocket lost the channel layer (%s); it closes with 1011 and the page reconnects", error)
            raise error


class EventLogConsumer(GroupConsumer):
    """The live page of a work item with an event log: the item's panel, re-rendered from the database as events come.

    On connect it sends the panel when the log moved past the page's cursor (events it missed, a reconnect). A panel
    only goes forward: an event at or before what the page shows is not sent again.
    """

    item = None
    seen = 0  # the last event the page has (by seq)

    def panel(self, seq: int | None, *, ended: bool) -> str:
        raise NotImplementedError  # the kind's panel HTML as of event `seq`

    def on_joined(self):
        self.seen = self.after_cursor()
        self.catch_up()

    def catch_up(self) -> None:
        last = last_event_seq(self.item)
        if last > self.seen:
            self.seen = last
            self.send(text_data=self.panel(last, ended=True))

    def studio_event(self, message):
        payload = message["payload"]
        seq = payload.get("seq")
        if isinstance(seq, int):
            if seq <= self.seen:
                # The page already shows this event: a catch-up sent a newer panel while the message was on its
                # way, and a panel rendered for this event (another watcher's, cached) could be older than that.
                return
            self.seen = seq
        if self.should_render(payload):
            self.send(text_data=self.panel(seq, ended=payload.get("type", "") in self.RESULT_EVENTS))

    RESULT_EVENTS: tuple[str, ...] = ()

    def should_render(self, payload: dict) -> bool:
        return True  # a kind may skip rendering frequent events (the next one it renders reads the newest state)


class PanelCache:
    """Rendered panels by (object, event seq, …), shared by one process's subscribers: one render per event."""

    def __init__(self, size: int = 256):
        self.size, self._panels, self._lock = size, OrderedDict(), threading.Lock()

    def get(self, key: tuple, render: Callable[[], str]) -> str:
        cacheable = key[1] is not None
        with self._lock:
            if cacheable and key in self._panels:
                return self._panels[key]
        html = render()
        if cacheable:
            with self._lock:
                self._panels[key] = html
                while len(self._panels) > self.size:
                    self._panels.popitem(last=False)
        return html
