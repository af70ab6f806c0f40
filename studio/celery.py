"""The Celery app, and the embedded worker that runs inside the server process when there is no broker."""

import logging
import os
import socket
import threading

from celery import Celery
from celery.signals import worker_process_init, worker_ready

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
    from celery.beat import EmbeddedService
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
    # Periodic tasks (the stale-run reaper) from a beat thread; the worker's own -B would fork a process.
    EmbeddedService(app, thread=True, schedule_filename=app.conf.beat_schedule_filename).start()
    _load_litellm_in_background()  # worker_ready is only sent by `celery worker`, not a bare WorkController
    logger.info("embedded Celery worker started with %d threads", concurrency)
    return thread


def _load_litellm_in_background(**_):
    """Importing litellm takes seconds: do it when a worker starts, not in the first run's first step."""

    def load():
        from studio.llm import runtime

        runtime.litellm()

    threading.Thread(target=load, name="litellm-warmup", daemon=True).start()


# `celery worker` with a thread/solo pool sends worker_ready; a prefork child sends worker_process_init.
worker_ready.connect(_load_litellm_in_background, weak=False)
worker_process_init.connect(_load_litellm_in_background, weak=False)
