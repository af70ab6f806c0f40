"""Run events over SSE (replay from Last-Event-ID) and over WebSockets (org-authorized)."""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from pipeline.models import RunEvent
from tests.generation_helpers import BRIEF


def parse_sse(body: str) -> list[dict]:
    events = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if fields:
            events.append(fields)
    return events


def stream(client, url, **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    return b"".join(response).decode()


def test_the_event_stream_replays_the_whole_run_with_sequence_ids(generate, owner_api):
    run_id = generate(BRIEF).json()["run_id"]
    events = parse_sse(stream(owner_api.client, f"/v1/runs/{run_id}/events"))
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))
    assert events[0]["event"] == "step.started" and events[-1]["event"] == "pipeline.completed"
    assert len(events) == RunEvent.objects.filter(run__public_id=run_id).count()


def test_a_client_reconnecting_with_last_event_id_misses_nothing_and_repeats_nothing(generate, owner_api):
    run_id = generate(BRIEF).json()["run_id"]
    events = parse_sse(stream(owner_api.client, f"/v1/runs/{run_id}/events", HTTP_LAST_EVENT_ID="5"))
    assert int(events[0]["id"]) == 6
    total = RunEvent.objects.filter(run__public_id=run_id).count()
    assert [int(e["id"]) for e in events] == list(range(6, total + 1))


def test_post_with_stream_true_answers_with_the_runs_events(generate):
    response = generate(BRIEF, stream=True)
    assert response["Content-Type"] == "text/event-stream"
    events = parse_sse(b"".join(response).decode())
    assert events[-1]["event"] == "pipeline.completed"


def test_a_bad_last_event_id_is_a_clear_422(generate, owner_api):
    run_id = generate(BRIEF).json()["run_id"]
    response = owner_api.get(f"/v1/runs/{run_id}/events", HTTP_LAST_EVENT_ID="yesterday")
    assert response.status_code == 422 and "Last-Event-ID" in str(response.json()["detail"])


def test_an_outsider_cannot_read_a_runs_events(generate, outsider_tenant, api_for):
    run_id = generate(BRIEF).json()["run_id"]
    outsider = api_for(outsider_tenant.org)
    assert outsider.get(f"/v1/runs/{run_id}/events").status_code == 404
    assert outsider.get(f"/v1/runs/{run_id}").status_code == 404


def _connect(user, path):
    from studio.asgi import application

    async def go():
        communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")])
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        first = await communicator.receive_from(timeout=5) if connected else None
        await communicator.disconnect()
        return connected, first

    return async_to_sync(go)()


@pytest.mark.django_db(transaction=True)  # consumers close DB connections between calls
def test_a_member_subscribes_to_a_run_and_gets_what_happened_before(generate, tenant):
    run_id = generate(BRIEF).json()["run_id"]
    connected, first = _connect(tenant.user("viewer"), f"/ws/o/{tenant.org.slug}/runs/{run_id}/?after=0")
    assert connected and 'id="run-panel"' in first and 'hx-swap-oob' in first


@pytest.mark.django_db(transaction=True)
def test_an_outsider_cannot_subscribe_to_a_run(generate, tenant, outsider):
    run_id = generate(BRIEF).json()["run_id"]
    assert _connect(outsider, f"/ws/o/{tenant.org.slug}/runs/{run_id}/")[0] is False
    # Nor by naming their own org with another org's run.
    assert _connect(outsider, f"/ws/o/globex/runs/{run_id}/")[0] is False


@pytest.mark.django_db(transaction=True)
def test_a_panel_only_goes_forward_an_event_the_page_already_shows_is_not_sent_again(generate, tenant):
    """The catch-up on connect sent the panel as of the last event; that event's message, or an earlier one, arriving
    after it sends nothing (a panel rendered for it could be older than what the page shows). A newer one does."""
    from channels.layers import get_channel_layer

    from pipeline.models import PipelineRun
    from studio.realtime import EVENT_TYPE

    run = PipelineRun.objects.get(public_id=generate(BRIEF).json()["run_id"])
    last = run.events.order_by("-seq").first().seq

    async def go():
        from studio.asgi import application

        communicator = WebsocketCommunicator(application, f"/ws/o/{tenant.org.slug}/runs/{run.public_id}/?after=0",
                                             headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")])
        communicator.scope["user"] = tenant.user("viewer")
        assert (await communicator.connect())[0]
        caught_up = await communicator.receive_from(timeout=5)
        layer = get_channel_layer()
        for seq in (last - 1, last):
            await layer.group_send(run.channel_group, {"type": EVENT_TYPE, "payload": {"seq": seq, "type": "step.completed"}})
        repeated = not await communicator.receive_nothing(timeout=0.3)
        await layer.group_send(run.channel_group, {"type": EVENT_TYPE, "payload": {"seq": last + 1, "type": "step.completed"}})
        newer = await communicator.receive_from(timeout=5)
        await communicator.disconnect()
        return caught_up, repeated, newer

    caught_up, repeated, newer = async_to_sync(go)()
    assert 'id="run-panel"' in caught_up and not repeated and 'id="run-panel"' in newer
