"""An ASGI guard that refuses oversized dataset uploads before the server buffers them.

Django's ASGI handler reads the whole request body (into a spooled temporary file) before any Django
middleware runs, so a 2 GB upload would reach the disk before training_jobs.datasets.uploads could refuse
it. This guard sits in front: on the upload routes it answers 413 at once when Content-Length is over
settings.DATASET_UPLOAD_MAX_BYTES (plus room for the form's other fields), and for a body without a
Content-Length (chunked) it counts bytes as the app reads them — passing each chunk on, never holding the
body — and answers 413 as soon as the count passes the limit, without reading the rest.
"""

import json

from django.conf import settings


def _limit() -> int:
    from training_jobs.datasets.uploads import MULTIPART_SLACK

    return settings.DATASET_UPLOAD_MAX_BYTES + MULTIPART_SLACK


async def _refuse(send) -> None:
    from training_jobs.datasets.uploads import too_large_message

    body = json.dumps({"detail": too_large_message(settings.DATASET_UPLOAD_MAX_BYTES)}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class UploadSizeGuard:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        from training_jobs.datasets.uploads import UPLOAD_PATHS

        if scope["type"] != "http" or scope.get("method") != "POST" or not UPLOAD_PATHS.match(scope.get("path", "")):
            return await self.app(scope, receive, send)
        limit = _limit()
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return await _refuse(send)
        # Pass the body through as the app reads it, one chunk at a time, counting (a missing or false
        # Content-Length included): past the limit, answer 413 and tell the app the client left.
        total, refused = 0, False

        async def counted():
            nonlocal total, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                total += len(message.get("body", b""))
                if total > limit:
                    refused = True
                    await _refuse(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:  # after the 413, whatever the app still says is dropped
                await send(message)

        return await self.app(scope, counted, guarded_send)
