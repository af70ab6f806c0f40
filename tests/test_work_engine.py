"""The work engine's pieces on their own: the broker transport's fix, the SSE stream without a channel layer,
the WebSocket consumer catching up from the database when live events were lost, claim and heartbeat."""

import asyncio
import os
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from pipeline.models import PipelineRun
from studio.work import consumers as work_consumers
from studio.work import sse as work_sse
from studio.work.lifecycle import Heartbeat, claim
from tests.generation_helpers import BRIEF


# --- the broker transport -------------------------------------------------------------------------


@pytest.mark.services
@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: runs in services mode")
@pytest.mark.parametrize("transport, error", [(None, AttributeError), ("studio.work.broker:Transport", ConnectionError)],
                         ids=["kombu's own: unrecoverable", "ours: a connection error celery recovers from"])
def test_closing_a_channel_after_its_connection_keeps_its_unacked_message_and_raises_a_connection_error(transport, error):
    """What a Redis restart does to a worker with an acks_late task in flight, step by step: the consumer's
    connection is closed (kombu sets transport.client to None), then its channel closes and restores the
    unacknowledged message, which needs the connection parameters."""
    from kombu import Connection, Producer, Queue
    from redis.exceptions import ConnectionError as RedisConnectionError

    url = os.environ["REDIS_URL"]
    name = f"work-engine-test-{uuid.uuid4().hex[:8]}"
    connection = Connection(url, transport=transport)
    channel = connection.channel()
    queue = Queue(name, channel=channel)
    queue.declare()
    Producer(channel).publish({"run": 1}, routing_key=name)
    message = queue.get(no_ack=False)
    assert message is not None and len(channel.qos._delivered) == 1
    connection._do_close_transport()
    expected = RedisConnectionError if error is ConnectionError else error
    with pytest.raises(expected):
        channel.close()
    if transport:
        assert issubclass(expected, connection.connection_errors)  # what celery's consumer treats as "broker down"
        with Connection(url) as fresh:  # the message is still in Redis' unacked hash, to be restored
            client = fresh.default_channel.client
            assert client.hexists("unacked", message.delivery_tag)
            client.hdel("unacked", message.delivery_tag)
            client.zrem("unacked_index", message.delivery_tag)
            fresh.default_channel.queue_delete(name)


# --- SSE without a channel layer ------------------------------------------------------------------


@dataclass
class Stored:
    seq: int
    type: str
    data: dict


class BrokenLayer:
    """A channel layer whose Redis is down."""

    async def new_channel(self):
        return "specific.test!x"

    async def group_add(self, group, channel):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    async def receive(self, channel):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")

    async def group_discard(self, group, channel):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")


def test_an_sse_stream_whose_channel_layer_is_down_follows_the_database_with_keepalives_to_the_end(monkeypatch):
    monkeypatch.setattr(work_sse, "get_channel_layer", BrokenLayer)
    monkeypatch.setattr(work_sse, "QUIET_INTERVAL_S", 0.01)
    monkeypatch.setattr(work_sse, "REJOIN_EVERY_S", 0.01)
    monkeypatch.setattr(work_sse, "KEEPALIVE_S", 0.05)
    log = [Stored(1, "step.started", {})]
    source = work_sse.EventSource(group="run-x", events_after=lambda seq: [e for e in list(log) if e.seq > seq],
                                  terminal=("pipeline.completed",), finished=lambda: False)

    async def follow():
        chunks = []

        async def write_later():  # the worker goes on writing to the database meanwhile
            await asyncio.sleep(0.12)
            log.append(Stored(2, "step.completed", {}))
            await asyncio.sleep(0.12)
            log.append(Stored(3, "pipeline.completed", {}))

        writer = asyncio.ensure_future(write_later())
        async for chunk in work_sse.event_stream(source, after=0):
            chunks.append(chunk)
        await writer
        return chunks

    chunks = asyncio.run(asyncio.wait_for(follow(), timeout=10))
    ids = [line[4:] for chunk in chunks for line in chunk.splitlines() if line.startswith("id: ")]
    assert ids == ["1", "2", "3"]  # every event once, in order, and the stream ended after the terminal one
    assert ": keep-alive\n\n" in chunks  # silence longer than KEEPALIVE_S sends a comment line


def test_an_sse_stream_of_an_item_that_ended_without_a_terminal_event_ends_after_a_keepalive(monkeypatch):
    monkeypatch.setattr(work_sse, "get_channel_layer", BrokenLayer)
    monkeypatch.setattr(work_sse, "QUIET_INTERVAL_S", 0.01)
    monkeypatch.setattr(work_sse, "KEEPALIVE_S", 0.03)
    source = work_sse.EventSource(group="run-x", events_after=lambda seq: [Stored(1, "step.started", {})] if seq < 1 else [],
                                  terminal=("pipeline.completed",), finished=lambda: True)

    async def follow():
        return [chunk async for chunk in work_sse.event_stream(source, after=0)]

    chunks = asyncio.run(asyncio.wait_for(follow(), timeout=10))
    assert chunks[0].startswith("id: 1\n") and chunks[-1] == ": keep-alive\n\n"


# --- the WebSocket consumer -----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the consumer reads from its own thread
def test_a_run_page_whose_live_events_were_lost_catches_up_from_the_database(generate, tenant, monkeypatch):
    """A Redis restart wipes group memberships silently: events sent after it never reach the socket. The consumer
    rejoins its group and compares the log with what it sent, every WATCH_EVERY_S."""
    from studio.asgi import application
    from studio.work.events import emit

    monkeypatch.setattr(work_consumers, "WATCH_EVERY_S", 0.2)
    run = PipelineRun.objects.get(public_id=generate(BRIEF).json()["run_id"])
    last = run.events.count()

    async def go():
        path = f"/ws/o/{tenant.org.slug}/runs/{run.public_id}/?after={last}"
        communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")])
        communicator.scope["user"] = tenant.user("viewer")
        connected, _ = await communicator.connect()
        assert connected
        assert await communicator.receive_nothing(timeout=0.5)  # nothing new since the page was rendered
        # An event written while the socket's membership was lost: stored, never broadcast to this socket.
        await asyncio.to_thread(_emit_unheard, emit, run)
        panel = await communicator.receive_from(timeout=5)
        await communicator.disconnect()
        return panel

    panel = async_to_sync(go)()
    assert 'id="run-panel"' in panel and "hx-swap-oob" in panel


def _emit_unheard(emit, run):
    from django.db import connection

    from studio.realtime import broadcaster

    original = broadcaster.send
    broadcaster.send = lambda group, message: None  # lost in transit
    try:
        emit(run, "audit.scored", {"attempt": 9, "scores": {}, "overall": 1.0, "passed": True, "notes": ""})
    finally:
        broadcaster.send = original
        connection.close()


# --- claim and heartbeat --------------------------------------------------------------------------


def test_a_claimed_item_is_not_claimed_again_while_its_heartbeat_is_fresh_and_is_once_it_is_stale(generate_queued, settings):
    run = generate_queued()
    first = claim(PipelineRun.objects.all(), run.pk, running_status="running")
    assert first is not None and first.attempt == 1 and first.claimed_by and first.resumed is False
    assert claim(PipelineRun.objects.all(), run.pk, running_status="running") is None
    PipelineRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=settings.WORK_STALE_AFTER_S + 1))
    second = claim(PipelineRun.objects.all(), run.pk, running_status="running")
    assert second is not None and second.attempt == 2 and second.resumed is True
    PipelineRun.objects.filter(pk=run.pk).update(status="ready")
    assert claim(PipelineRun.objects.all(), run.pk, running_status="running") is None  # ended: nothing to do


@pytest.mark.real_worker  # not eager: the heartbeat thread runs as in a worker
@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_keeps_a_slow_item_alive_and_notices_when_it_was_taken(generate_queued, monkeypatch):
    from pipeline import tasks

    monkeypatch.setattr(tasks.execute_run, "delay", lambda *args: None)  # no worker here: the run stays queued
    run = generate_queued()
    item = claim(PipelineRun.objects.all(), run.pk, running_status="running")
    old = timezone.now() - timedelta(hours=1)
    PipelineRun.objects.filter(pk=run.pk).update(heartbeat_at=old)
    with Heartbeat(item, every_s=0.05) as beat:
        _wait(lambda: PipelineRun.objects.get(pk=run.pk).heartbeat_at > old)
        PipelineRun.objects.filter(pk=run.pk).update(claimed_by="another-host:1")  # taken over
        _wait(lambda: beat.lost)
    assert PipelineRun.objects.get(pk=run.pk).claimed_by == "another-host:1"


def _wait(predicate, timeout=5.0):
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture
def generate_queued(owner_api):
    def make():
        return PipelineRun.objects.get(public_id=owner_api.post("/v1/personas", json={"brief": BRIEF}).json()["run_id"])

    return make


def test_one_kind_failing_to_reap_does_not_stop_the_others(generate_queued, settings, monkeypatch):
    from studio.work import reaper

    run = generate_queued()
    claim(PipelineRun.objects.all(), run.pk, running_status="running")
    PipelineRun.objects.filter(pk=run.pk).update(attempt=settings.WORK_MAX_ATTEMPTS,
                                                 heartbeat_at=timezone.now() - timedelta(seconds=settings.WORK_STALE_AFTER_S + 1))
    broken = reaper.Kind(name="broken kind", model=PipelineRun, fail=lambda item, error: 1 / 0)
    monkeypatch.setattr(reaper, "REGISTRY", {"broken kind": broken, **reaper.REGISTRY})
    assert reaper.reap()["persona run"] == {"resumed": 0, "failed": 1}
