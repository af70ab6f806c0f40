"""Realtime helpers: channel groups per object, events sent after commit, a thread-safe in-memory layer."""

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

EVENT_TYPE = "studio.event"  # handled by consumers' studio_event()


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


def send_event(group: str, event: str, payload: dict) -> None:
    """Send `event` to every consumer in `group` once the current transaction commits."""
    message = {"type": EVENT_TYPE, "event": event, "payload": payload}

    def _send():
        async_to_sync(get_channel_layer().group_send)(group, message)

    transaction.on_commit(_send)
