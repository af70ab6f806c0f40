"""Realtime helpers: channel groups per object, events sent after commit, a thread-safe in-memory layer."""

import asyncio
import logging
import threading

from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

EVENT_TYPE = "studio.event"  # handled by consumers' studio_event()
logger = logging.getLogger(__name__)


class ThreadSafeInMemoryChannelLayer(InMemoryChannelLayer):
    """The in-memory layer, safe to send to from other threads (the embedded Celery worker).

    Its queues belong to the event loop that receives from them (daphne's); a
    send from another thread is handed to that loop instead of touching its
    queues from the wrong thread.
    """

    _receiving_loop: asyncio.AbstractEventLoop | None = None

    async def receive(self, channel):
        self._receiving_loop = asyncio.get_running_loop()
        return await super().receive(channel)

    async def _on_receiving_loop(self, coroutine_function, *args):
        target = self._receiving_loop
        if target is None or target.is_closed() or target is asyncio.get_running_loop():
            return await coroutine_function(*args)
        future = asyncio.run_coroutine_threadsafe(coroutine_function(*args), target)
        return await asyncio.wrap_future(future)

    async def send(self, channel, message):
        return await self._on_receiving_loop(super().send, channel, message)

    async def group_send(self, group, message):
        return await self._on_receiving_loop(super().group_send, group, message)


class Broadcaster:
    """Sends group messages, in order, from one long-lived event loop thread.

    A sync caller (a Celery task, a view) would otherwise start an event loop per message
    (async_to_sync), and channels_redis would open connections for each new loop.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def _start(self) -> None:
        ready = threading.Event()

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._queue = asyncio.Queue()
            self._loop.create_task(self._drain())
            ready.set()
            self._loop.run_forever()

        # After a fork (prefork workers) the parent's thread is gone: start one in this process.
        self._thread = threading.Thread(target=run, name="studio-broadcaster", daemon=True)
        self._thread.start()
        ready.wait()

    async def _drain(self):
        while True:
            group, message = await self._queue.get()
            try:
                await get_channel_layer().group_send(group, message)
            except Exception:  # a realtime hiccup must not stop later messages; events are persisted anyway
                logger.exception("could not broadcast %s to %s", message.get("event"), group)

    def send(self, group: str, message: dict) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._start()
        self._loop.call_soon_threadsafe(self._queue.put_nowait, (group, message))


broadcaster = Broadcaster()


def send_event(group: str, event: str, payload: dict) -> None:
    """Send `event` to every consumer in `group` once the current transaction commits."""
    message = {"type": EVENT_TYPE, "event": event, "payload": payload}
    transaction.on_commit(lambda: broadcaster.send(group, message))
