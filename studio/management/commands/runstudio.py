import os

from daphne.cli import CommandLineInterface
from django.conf import settings
from django.core.management.base import BaseCommand

from studio.celery import start_embedded_worker
from studio.config import model_names


class Command(BaseCommand):
    help = "Serve the studio with daphne (HTTP + WebSockets); in embedded mode also run the Celery worker in-process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))

    def handle(self, *args, host, port, **options):
        if settings.EMBEDDED_MODE:
            start_embedded_worker(concurrency=settings.EMBEDDED_WORKER_CONCURRENCY)
            mode = "embedded: SQLite-or-DATABASE_URL, in-memory channel layer, in-process Celery worker"
        else:
            mode = "services: Redis channel layer and broker; run `make worker` for background work"
        self.stdout.write(f"Persona Studio on http://{host}:{port}/ ({mode})")
        allow_long_request_lines()
        # In services mode nothing else in this process imports litellm before a request needs its catalogue.
        model_names.warm_in_background()
        CommandLineInterface().run(["-b", host, "-p", str(port), "--proxy-headers", "studio.asgi:application"])


# Twisted drops the connection, with no response at all, on a request line over 16 KB (and answers an empty 400 past
# 16 KB of request line and headers together); let 64 KB through so the input boundary answers a long query string
# with 414 and a message (studio.input_boundary.MAX_QUERY_STRING).
REQUEST_LINE_MAX = 64 * 1024


def allow_long_request_lines() -> None:
    from twisted.web.http import HTTPChannel

    HTTPChannel.MAX_LENGTH = REQUEST_LINE_MAX
    HTTPChannel.totalHeadersSize = REQUEST_LINE_MAX + 16 * 1024
