"""The ASGI upload guard refuses oversized dataset uploads before the body is buffered anywhere."""

import asyncio
import json

from studio.upload_guard import UploadSizeGuard

PATH = "/v1/datasets/2b1f0c3e-0000-4000-8000-000000000000/imports"


class Recorder:
    def __init__(self):
        self.called = False
        self.bodies = []

    async def __call__(self, scope, receive, send):
        self.called = True
        while True:
            message = await receive()
            self.bodies.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _run(app, headers, chunks):
    sent, received = [], []
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        received.append(1)
        return queue.pop(0) if queue else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": PATH, "headers": headers}
    asyncio.run(UploadSizeGuard(app)(scope, receive, send))
    return sent, len(received)


def test_a_declared_length_over_the_limit_is_refused_without_reading_the_body(settings):
    settings.DATASET_UPLOAD_MAX_BYTES = 1000
    app = Recorder()
    sent, reads = _run(app, [(b"content-length", str(2 * 1024**3).encode())], [b"x" * 10])
    assert not app.called and reads == 0
    assert sent[0]["status"] == 413 and "upload limit" in json.loads(sent[1]["body"])["detail"]


def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit(settings):
    settings.DATASET_UPLOAD_MAX_BYTES = 1000
    app = Recorder()
    chunks = [b"x" * 64 * 1024] * 50  # 3.2 MB, no Content-Length
    sent, reads = _run(app, [], chunks)
    assert [m.get("status") for m in sent if m["type"] == "http.response.start"] == [413]  # the app's own answer is dropped
    assert reads < len(chunks)  # the rest is never read
    assert sum(len(b) for b in app.bodies) <= 1000 + 64 * 1024 + 64 * 1024  # the app got the chunks up to the limit


def test_the_body_is_streamed_to_the_app_never_held_by_the_guard(settings):
    """Each chunk reaches the app before the next is read: the guard holds at most one chunk, whatever the size."""
    settings.DATASET_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
    reads_when_app_saw = []

    class Counting(Recorder):
        async def __call__(self, scope, receive, send):
            while True:
                message = await receive()
                reads_when_app_saw.append(len(received_log))
                if not message.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 201, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    received_log = []
    chunks = [b"x" * 64 * 1024] * 20
    queue = [{"type": "http.request", "body": c, "more_body": i < len(chunks) - 1} for i, c in enumerate(chunks)]

    async def receive():
        received_log.append(1)
        return queue.pop(0)

    sent = []

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": PATH, "headers": []}
    asyncio.run(UploadSizeGuard(Counting())(scope, receive, send))
    assert reads_when_app_saw == list(range(1, 21)) and sent[0]["status"] == 201


def test_a_small_upload_passes_through_whole(settings):
    settings.DATASET_UPLOAD_MAX_BYTES = 10_000
    app = Recorder()
    sent, _ = _run(app, [], [b"a" * 100, b"b" * 100])
    assert app.called and b"".join(app.bodies) == b"a" * 100 + b"b" * 100 and sent[0]["status"] == 200
