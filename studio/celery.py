"""The Celery app, and the embedded worker that runs inside the server process when there is no broker."""

import logging
import os
import socket
import threading

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

app = Celery("studio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger(__name__)

WORKER_QUEUES = ["celery", "gpu"]


def start_embedded_worker(*, concurrency: int) -> "threading.Thread":
    """Run a real Celery worker (thread pool) in a daemon thread of this process.

    With the in-memory broker this is the only consumer, so tasks enqueued by
    requests run here, asynchronously to the request, and their events reach
    WebSocket consumers through the in-process channel layer.
    """
    from celery.worker import WorkController

    app.finalize()
    app.set_current()
    app.set_default()
    worker = WorkController(
        app=app,
        concurrency=concurrency,
        pool_cls="threads",
        hostname=f"embedded@{socket.gethostname()}",
        queues=WORKER_QUEUES,
        loglevel="WARNING",
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    thread = threading.Thread(target=worker.start, name="embedded-celery-worker", daemon=True)
    thread.start()
    logger.info("embedded Celery worker started with %d threads", concurrency)
    return thread
