"""Background work runs on a real Celery worker and its events reach WebSocket consumers.

Embedded mode: the worker is the in-process thread the server runs. Services mode
(REDIS_URL set): a separate `celery -A studio worker` process started by .ci/run on
the test database, with Redis as broker and channel layer.
"""

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from studio.asgi import application

pytestmark = [pytest.mark.real_worker, pytest.mark.django_db(transaction=True)]

_embedded_worker = []


@pytest.fixture
def worker():
    if settings.EMBEDDED_MODE and not _embedded_worker:
        from studio.celery import start_embedded_worker

        _embedded_worker.append(start_embedded_worker(concurrency=2))
    return "embedded" if settings.EMBEDDED_MODE else "services"


def test_a_worker_check_is_answered_over_the_websocket(tenant, worker):
    client = Client()
    client.force_login(tenant.user("viewer"))

    async def round_trip():
        communicator = WebsocketCommunicator(
            application, f"/ws/o/{tenant.org.slug}/events/", headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")]
        )
        communicator.scope["user"] = tenant.user("viewer")
        connected, _ = await communicator.connect(timeout=30)  # the default 1 s is too short on a loaded CI machine
        assert connected
        from asgiref.sync import sync_to_async

        response = await sync_to_async(client.post)(f"/o/{tenant.org.slug}/worker-check/")
        assert response.status_code == 200
        # generous: CI starts its worker beside this test on 2 busy cores
        message = await communicator.receive_from(timeout=60)
        await communicator.disconnect()
        return message

    message = async_to_sync(round_trip)()
    assert 'data-testid="worker-pong"' in message
    assert f"({worker} mode)" in message
    assert "eager" not in message  # a real worker answered, not an inline call
