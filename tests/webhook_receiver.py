"""A local webhook receiver: a real HTTP server in a thread that records requests and can fail on purpose."""

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many requests, then 200
    status: int = 200

    @property
    def last(self) -> Received:
        return self.requests[-1]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_URLS = True  # it listens on 127.0.0.1
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers), body))
            if state.fail_next > 0:
                state.fail_next -= 1
                code, text = 500, b"receiver is down"
            else:
                code, text = state.status, b"thanks"
            self.send_response(code)
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/studio"
    # a short poll: shutdown() waits up to one poll interval (0.5 s by default, in every test that used it)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
