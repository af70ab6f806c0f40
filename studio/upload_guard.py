"""An ASGI guard that refuses oversized uploads before the server buffers them.

Django's ASGI handler reads the whole request body (into a spooled temporary file) before any Django
middleware runs, so a 2 GB upload would reach the disk before the app's own upload handling could refuse
it. This guard sits in front: on the routes that apps register (`register_upload_route`, from their
AppConfig.ready) it answers 413 at once when Content-Length is over the route's limit (plus room for the
form's other fields), and for a body without a Content-Length (chunked) it counts bytes as the app reads
them — passing each chunk on, never holding the body — and answers 413 as soon as the count passes the
limit, without reading the rest. The studio knows no app's routes.
"""

import json
import re
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class UploadRoute:
    pattern: re.Pattern
    max_bytes: Callable[[], int]  # the file's limit, read per request (settings may change)
    slack: int  # the form's other fields and boundaries, beside the file itself
    too_large: Callable[[int], str]  # what the 413 says, given max_bytes

    @property
    def limit(self) -> int:
        return self.max_bytes() + self.slack


_ROUTES: list[UploadRoute] = []


def register_upload_route(pattern: str | re.Pattern, *, max_bytes: Callable[[], int], too_large: Callable[[int], str],
                          slack: int = 0) -> None:
    """Guard POSTs to paths that `pattern` matches (the whole path): bodies past max_bytes() + slack get a 413."""
    pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
    _ROUTES[:] = [r for r in _ROUTES if r.pattern.pattern != pattern.pattern] + [
        UploadRoute(pattern, max_bytes, slack, too_large)]


def upload_route(path: str) -> UploadRoute | None:
    """The registered upload route `path` is, if any."""
    return next((route for route in _ROUTES if route.pattern.match(path)), None)


async def _refuse(send, route: UploadRoute) -> None:
    body = json.dumps({"detail": route.too_large(route.max_bytes())}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


class UploadSizeGuard:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        route = upload_route(scope.get("path", "")) if scope["type"] == "http" and scope.get("method") == "POST" else None
        if route is None:
            return await self.app(scope, receive, send)
        limit = route.limit
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            return await _refuse(send, route)
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
                    await _refuse(send, route)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if not refused:  # after the 413, whatever the app still says is dropped
                await send(message)

        return await self.app(scope, counted, guarded_send)
