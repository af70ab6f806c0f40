"""The offline demo engine as a litellm custom provider: `offline/<anything>` answers with `offline_reply`.

Imports litellm (seconds), so only the LLM gateway imports this module, lazily, when it registers
the provider: `register_custom_provider("offline", "studio.llm.offline.provider:OfflineLLM")`.
"""

import asyncio
import hashlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterator

# As in settings: never fetch the cost map from the network (this module may be imported without Django).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litellm import CustomLLM  # noqa: E402
from litellm.types.utils import EmbeddingResponse, GenericStreamingChunk, ModelResponse, Usage  # noqa: E402

from studio.llm.offline.engine import estimate_tokens, offline_embedding, offline_reply  # noqa: E402

STREAM_CHUNK_CHARS = 64
REMEMBERED_PROMPTS = 4096


def _reply(model: str, messages: list, optional_params: dict | None, repeat: int) -> tuple[str, Usage]:
    text = offline_reply(messages, model=model, repeat=repeat, seed=(optional_params or {}).get("seed"))
    stops = (optional_params or {}).get("stop") or ()
    for stop in [stops] if isinstance(stops, str) else stops:
        if stop and stop in text:
            text = text[: text.index(stop)]
    prompt_tokens = sum(estimate_tokens(str(m.get("content") or "")) for m in messages)
    completion_tokens = estimate_tokens(text)
    return text, Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, total_tokens=prompt_tokens + completion_tokens)


def _pace() -> float:
    """Seconds to wait per call, so people can watch a run's steps go by (settings.OFFLINE_LLM_LATENCY_S)."""
    from django.conf import settings

    return float(getattr(settings, "OFFLINE_LLM_LATENCY_S", 0.0)) if settings.configured else 0.0


def _full_model(model: str) -> str:
    return model if model.startswith("offline/") else f"offline/{model}"


class OfflineLLM(CustomLLM):
    """litellm calls these with keyword arguments; the ones the engine needs are named, the rest ignored.

    The handler remembers how often it has answered each exact prompt (the last few thousand), so a
    caller's retry of the same prompt is told apart from the first call (see `offline_reply`'s `repeat`).
    """

    def __init__(self) -> None:
        super().__init__()
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

    def completion(self, model: str, messages: list, model_response: ModelResponse | None = None, optional_params: dict | None = None, **_) -> ModelResponse:
        if pace := _pace():
            time.sleep(pace)
        return self._respond(model, messages, model_response, optional_params)

    def _respond(self, model: str, messages: list, model_response: ModelResponse | None, optional_params: dict | None) -> ModelResponse:
        text, usage = _reply(model, messages, optional_params, self._repeat(messages))
        response = model_response or ModelResponse()
        response.choices[0].message.content = text
        response.choices[0].finish_reason = "stop"
        response.model = _full_model(model)
        response.created = int(time.time())
        setattr(response, "usage", usage)
        response._hidden_params["response_cost"] = 0.0  # the offline engine is free; litellm's cost map does not know it
        return response

    async def acompletion(self, model: str, messages: list, model_response: ModelResponse | None = None, optional_params: dict | None = None, **_) -> ModelResponse:
        if pace := _pace():
            await asyncio.sleep(pace)
        return self._respond(model, messages, model_response, optional_params)

    def streaming(self, model: str, messages: list, optional_params: dict | None = None, **_) -> Iterator[GenericStreamingChunk]:
        text, usage = _reply(model, messages, optional_params, self._repeat(messages))
        pieces = [text[i : i + STREAM_CHUNK_CHARS] for i in range(0, len(text), STREAM_CHUNK_CHARS)] or [""]
        for index, piece in enumerate(pieces):
            last = index == len(pieces) - 1
            yield GenericStreamingChunk(
                text=piece, tool_use=None, is_finished=last, finish_reason="stop" if last else "", index=0,
                usage={"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens, "total_tokens": usage.total_tokens} if last else None,
            )

    async def astreaming(self, model: str, messages: list, optional_params: dict | None = None, **_) -> AsyncIterator[GenericStreamingChunk]:
        for chunk in self.streaming(model, messages, optional_params):
            yield chunk

    def embedding(self, model: str, input: list, model_response: EmbeddingResponse | None = None, optional_params: dict | None = None, **_) -> EmbeddingResponse:
        texts = [input] if isinstance(input, str) else list(input)
        dimensions = (optional_params or {}).get("dimensions") or 512
        response = model_response or EmbeddingResponse()
        response.model = _full_model(model)
        response.data = [{"object": "embedding", "index": i, "embedding": offline_embedding(str(t), dimensions)} for i, t in enumerate(texts)]
        tokens = sum(estimate_tokens(str(t)) for t in texts)
        setattr(response, "usage", Usage(prompt_tokens=tokens, completion_tokens=0, total_tokens=tokens))
        return response

    async def aembedding(self, model: str, input: list, model_response: EmbeddingResponse | None = None, optional_params: dict | None = None, **_) -> EmbeddingResponse:
        return self.embedding(model, input, model_response, optional_params)
