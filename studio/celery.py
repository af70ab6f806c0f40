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
    """Importing litellm takes seconds: do it when a worker starts, not in the first run's first step.

    Only where a call could need it: the offline engine is called without litellm, so a worker with no
    provider key (in the environment or on any org) and the local models off would import it for nothing
    (5 s of CPU); a key added later costs its first call the import instead."""

    def load():
        from django.db import connections

        from studio.llm import runtime

        try:
            needed = litellm_may_be_needed()
        finally:
            connections.close_all()  # this thread's own connections: it ends here
        if needed:
            runtime.litellm()

    threading.Thread(target=load, name="litellm-warmup", daemon=True).start()


def litellm_may_be_needed() -> bool:
    """Whether a call could go through litellm: the local models on, or a provider key in the environment or on an org."""
    from django.conf import settings

    from studio.models import ProviderCredential
    from studio.services import ENV_FALLBACK

    if settings.LOCAL_MODELS_DEFAULT or any(os.environ.get(key_var) for key_var, _ in ENV_FALLBACK.values()):
        return True
    try:
        return ProviderCredential.objects.exists()
    except Exception:  # the database is not reachable yet: warm up, as before
        return True


# `celery worker` with a thread/solo pool sends worker_ready; a prefork child sends worker_process_init.
worker_ready.connect(_load_litellm_in_background, weak=False)
worker_process_init.connect(_load_litellm_in_background, weak=False)
