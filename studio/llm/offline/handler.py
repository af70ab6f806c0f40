"""The offline engine as an in-process provider the gateway calls directly, without litellm.

Importing litellm costs about 5 s of CPU in each process, so a process that only ever talks to the
offline engine (the demo, a worker with no credentials, the test servers) never imports it. The
litellm adapter (provider.py) wraps the same answers for callers that go through litellm.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections import OrderedDict

from studio.llm.offline.engine import estimate_tokens, offline_embedding, offline_reply
from studio.llm.results import Reply

REMEMBERED_PROMPTS = 4096


def pace() -> float:
    """Seconds to wait per call, so people can watch a run's steps go by (settings.OFFLINE_LLM_LATENCY_S)."""
    from django.conf import settings

    return float(getattr(settings, "OFFLINE_LLM_LATENCY_S", 0.0)) if settings.configured else 0.0


def full_model(model: str) -> str:
    return model if model.startswith("offline/") else f"offline/{model}"


class OfflineEngine:
    """Answers `offline/<anything>` with `offline_reply`.

    It remembers how often it has answered each exact prompt (the last few thousand), so a caller's
    retry of the same prompt is told apart from the first call (see `offline_reply`'s `repeat`).
    """

    def __init__(self) -> None:
        self._answered: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def _repeat(self, messages: list) -> int:
        key = hashlib.sha256(json.dumps(messages, sort_keys=True, default=str).encode()).hexdigest()
        with self._lock:
            count = self._answered.pop(key, 0)
            self._answered[key] = count + 1
            if len(self._answered) > REMEMBERED_PROMPTS:
                self._answered.popitem(last=False)
        return count

    def answer(self, model: str, messages: list, optional_params: dict | None = None) -> Reply:
        """The reply, cut at the first stop sequence, with the engine's token estimates."""
        params = optional_params or {}
        text = offline_reply(messages, model=model, repeat=self._repeat(messages), seed=params.get("seed"))
        stops = params.get("stop") or ()
        for stop in [stops] if isinstance(stops, str) else stops:
            if stop and stop in text:
                text = text[: text.index(stop)]
        prompt_tokens = sum(estimate_tokens(str(m.get("content") or "")) for m in messages)
        return Reply(text=text, prompt_tokens=prompt_tokens, completion_tokens=estimate_tokens(text))

    # The direct-call interface (studio.llm.runtime.handler_arguments): litellm's keyword arguments, a Reply back.

    def completion(self, model: str, messages: list, optional_params: dict | None = None, **_) -> Reply:
        if seconds := pace():
            time.sleep(seconds)
        return self.answer(model, messages, optional_params)

    async def acompletion(self, model: str, messages: list, optional_params: dict | None = None, **_) -> Reply:
        if seconds := pace():
            await asyncio.sleep(seconds)
        return self.answer(model, messages, optional_params)

    def embedding(self, model: str, input: list, optional_params: dict | None = None, **_) -> list[list[float]]:
        """One vector per text, in order (the engine's hashed n-grams; `dimensions` 512 unless asked)."""
        dimensions = (optional_params or {}).get("dimensions") or 512
        return [offline_embedding(str(text), dimensions) for text in ([input] if isinstance(input, str) else input)]
