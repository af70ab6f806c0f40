"""An OpenAI-compatible HTTP server for tests: scripted replies, latency and injected faults.

It speaks enough of the OpenAI API for litellm's `openai/<model>` route with an
`api_base`: `POST /v1/chat/completions` (plain and `stream: true` as SSE, with a
final usage chunk), `POST /v1/embeddings` and `GET /v1/models`.

In tests it runs on aiohttp in a background thread (`LLMServer().start()`) and the
`llm_server` fixture (tests/llm_fixtures.py) hands each test a reset one:

    llm_server.script(Reply('{"desire": "..."}'), RATE_LIMIT, model="gpt-4o-mini")
    llm_server.latency_s = 0.05
    ... call the gateway ...
    assert llm_server.requests[0].params["temperature"] == 0.2

Each request takes the next scripted item for its model (scripted with `model=`),
else the next unkeyed one, else `default_reply(request)`. Benchmarks run it as a
separate process: `python tests/llm_server.py --latency 1` prints its URL, and
`GET /_stats` / `POST /_reset` report and reset the request count and the peak
number of requests in flight (`peak_concurrency` in-process).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    """A chat completion the server answers with. Token counts default to word counts."""

    content: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    finish_reason: str = "stop"
    delay_s: float | None = None  # overrides the server's latency for this reply


@dataclass(frozen=True)
class Fault:
    """A failure the server answers with instead of a completion."""

    kind: str  # "status" | "timeout" | "malformed_json" | "truncated_stream"
    status: int = 500
    retry_after: float | None = None
    delay_s: float = 30.0  # how long "timeout" keeps the client waiting


RATE_LIMIT = Fault("status", status=429, retry_after=0)
SERVER_ERROR = Fault("status", status=500)
UNAVAILABLE = Fault("status", status=503)
UNAUTHORIZED = Fault("status", status=401)
TIMEOUT = Fault("timeout")
MALFORMED_JSON = Fault("malformed_json")
TRUNCATED_STREAM = Fault("truncated_stream")


def rate_limit(retry_after: float = 0) -> Fault:
    return Fault("status", status=429, retry_after=retry_after)


@dataclass
class ReceivedRequest:
    """One request the server received, as sent by the client."""

    path: str
    model: str
    body: dict
    headers: dict
    received_at: float

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    @property
    def params(self) -> dict:
        """Everything in the body except model and messages/input: temperature, max_tokens, stop…"""
        return {k: v for k, v in self.body.items() if k not in {"model", "messages", "input"}}


def echo_reply(request: ReceivedRequest) -> str:
    """The default reply: short, deterministic, and different per prompt."""
    last = request.messages[-1]["content"] if request.messages else ""
    if isinstance(last, list):
        last = " ".join(part.get("text", "") for part in last if isinstance(part, dict))
    return f"echo: {str(last)[:200]}"


def count_tokens(text: str) -> int:
    return max(1, len(text.split()))


def _model_key(model: str) -> str:
    return model.removeprefix("openai/")


@dataclass
class LLMServer:
    host: str = "127.0.0.1"
    port: int = 0
    latency_s: float = 0.0
    default_reply: Callable[[ReceivedRequest], str] = echo_reply
    embedding_dim: int = 8
    record: bool = True  # benchmarks switch recording off to keep memory flat
    requests: list[ReceivedRequest] = field(default_factory=list)
    peak_concurrency: int = 0
    received_count: int = 0
    _in_flight: int = 0
    _queues: dict = field(default_factory=dict)  # model key (None: any model) -> deque of Reply | Fault
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None

    # --- what tests use -----------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def script(self, *items: Reply | Fault | str, model: str | None = None) -> None:
        """Queue replies or faults, taken in order by the next requests (for `model` only, when given)."""
        key = _model_key(model) if model else None
        with self._lock:
            queue = self._queues.setdefault(key, deque())
            queue.extend(Reply(item) if isinstance(item, str) else item for item in items)

    def reset(self) -> None:
        with self._lock:
            self._queues.clear()
            self.requests.clear()
            self.peak_concurrency = 0
            self.received_count = 0
        self.latency_s = 0.0
        self.default_reply = echo_reply
        self.record = True

    def requests_for(self, model: str) -> list[ReceivedRequest]:
        return [r for r in self.requests if r.model == _model_key(model)]

    @property
    def pending(self) -> int:
        """Scripted items not yet taken."""
        with self._lock:
            return sum(len(queue) for queue in self._queues.values())

    # --- lifecycle ----------------------------------------------------------------

    def start(self) -> "LLMServer":
        """Serve from a daemon thread with its own event loop; returns once the port is bound."""
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve_forever, args=(ready,), name="llm-test-server", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the LLM test server did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    def _serve_forever(self, ready: threading.Event) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self.bind())
        ready.set()
        self._loop.run_forever()

    async def bind(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/_stats", self._stats)
        app.router.add_post("/_reset", self._reset)
        # handler_cancellation: a client that gave up (timeout fault) frees its handler at once
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024, reuse_address=True)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    # --- handlers -----------------------------------------------------------------

    async def _receive(self, request: web.Request) -> tuple[ReceivedRequest, Reply | Fault | None]:
        body = await request.json()
        received = ReceivedRequest(
            path=request.path,
            model=_model_key(str(body.get("model", ""))),
            body=body,
            headers=dict(request.headers),
            received_at=time.time(),
        )
        with self._lock:
            self.received_count += 1
            if self.record:
                self.requests.append(received)
            item = None
            for key in (received.model, None):
                if self._queues.get(key):
                    item = self._queues[key].popleft()
                    break
        return received, item

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        received, item = await self._receive(request)
        self._in_flight += 1  # only touched on the server's loop
        self.peak_concurrency = max(self.peak_concurrency, self._in_flight)
        try:
            if isinstance(item, Fault):
                return await self._fault(request, received, item)
            reply = item if isinstance(item, Reply) else Reply(self.default_reply(received))
            await asyncio.sleep(self.latency_s if reply.delay_s is None else reply.delay_s)
            if received.body.get("stream"):
                return await self._stream(request, received, reply)
            return web.json_response(self._completion(received, reply))
        finally:
            self._in_flight -= 1

    async def _fault(self, request: web.Request, received: ReceivedRequest, fault: Fault) -> web.StreamResponse:
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay_s)
            return web.json_response(self._completion(received, Reply("too late")))
        await asyncio.sleep(self.latency_s)
        if fault.kind == "malformed_json":
            return web.Response(text='{"id": "chatcmpl-broken", "choices": [{"message": ', content_type="application/json")
        if fault.kind == "truncated_stream":
            return await self._stream(request, received, Reply("this reply is cut off half way"), truncate=True)
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        error = {"message": f"injected fault: HTTP {fault.status}", "type": "test_fault", "code": str(fault.status)}
        return web.json_response({"error": error}, status=fault.status, headers=headers)

    def _usage(self, received: ReceivedRequest, reply: Reply) -> dict:
        prompt = reply.prompt_tokens or count_tokens(json.dumps(received.messages))
        completion = reply.completion_tokens or count_tokens(reply.content)
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _completion(self, received: ReceivedRequest, reply: Reply) -> dict:
        return {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": received.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": self._usage(received, reply),
        }

    async def _stream(self, request, received: ReceivedRequest, reply: Reply, truncate: bool = False):
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        base = {"id": "chatcmpl-stream", "object": "chat.completion.chunk", "created": int(time.time()), "model": received.model}

        async def send(payload) -> None:
            data = payload if isinstance(payload, str) else json.dumps({**base, **payload})
            await response.write(f"data: {data}\n\n".encode())

        await send({"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
        words = reply.content.split(" ")
        for i, word in enumerate(words):
            if truncate and i >= len(words) // 2:
                request.transport.close()  # cut the connection mid-stream: no finish, no [DONE]
                return response
            piece = word if i == 0 else " " + word
            await send({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        await send({"choices": [{"index": 0, "delta": {}, "finish_reason": reply.finish_reason}]})
        await send({"choices": [], "usage": self._usage(received, reply)})
        await send("[DONE]")
        await response.write_eof()
        return response

    async def _embeddings(self, request: web.Request) -> web.Response:
        received, item = await self._receive(request)
        if isinstance(item, Fault):
            return await self._fault(request, received, item)
        await asyncio.sleep(self.latency_s)
        inputs = received.body.get("input", [])
        inputs = [inputs] if isinstance(inputs, str) else inputs
        data = [{"object": "embedding", "index": i, "embedding": self.vector(str(text))} for i, text in enumerate(inputs)]
        tokens = sum(count_tokens(str(text)) for text in inputs)
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return web.json_response({"object": "list", "data": data, "model": received.model, "usage": usage})

    def vector(self, text: str) -> list[float]:
        """A deterministic unit-ish vector for `text`, so tests can predict embeddings."""
        digest = hashlib.sha256(text.encode()).digest()
        return [round((digest[i % len(digest)] - 127.5) / 127.5, 6) for i in range(self.embedding_dim)]

    async def _models(self, request: web.Request) -> web.Response:
        with self._lock:
            named = sorted(key for key in self._queues if key)
        data = [{"id": name, "object": "model", "owned_by": "llm-test-server"} for name in named or ["test-model"]]
        return web.json_response({"object": "list", "data": data})


    async def _stats(self, request: web.Request) -> web.Response:
        """For a server in another process: how many requests, and the most at once."""
        return web.json_response({"received": self.received_count, "peak_concurrency": self.peak_concurrency})

    async def _reset(self, request: web.Request) -> web.Response:
        with self._lock:
            self.received_count = 0
            self.peak_concurrency = 0
        return web.json_response({"ok": True})


def main() -> None:
    """Serve in the foreground (benchmarks run it as its own process): prints the URL, then serves."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds before each reply")
    args = parser.parse_args()
    server = LLMServer(host=args.host, port=args.port, latency_s=args.latency, record=False)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(server.bind())
    print(server.url, flush=True)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
