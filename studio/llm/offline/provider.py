"""The offline demo engine as a litellm custom provider: `offline/<anything>` answers with `offline_reply`.

Imports litellm (seconds), so only litellm's own calls (embeddings, streaming, a test's `litellm.completion`)
load it: the gateway calls the engine's completions directly (handler.py), and registers this adapter with
`register_custom_provider("offline", "studio.llm.offline.provider:OfflineLLM", direct=…)`.
"""

import os
import time
from collections.abc import AsyncIterator, Iterator

# As in settings: never fetch the cost map from the network (this module may be imported without Django).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litellm import CustomLLM  # noqa: E402
from litellm.types.utils import EmbeddingResponse, GenericStreamingChunk, ModelResponse, Usage  # noqa: E402

from studio.llm.offline.engine import estimate_tokens  # noqa: E402
from studio.llm.offline.handler import OfflineEngine, full_model  # noqa: E402

STREAM_CHUNK_CHARS = 64


def _usage(reply) -> Usage:
    return Usage(prompt_tokens=reply.prompt_tokens, completion_tokens=reply.completion_tokens,
                 total_tokens=reply.prompt_tokens + reply.completion_tokens)


class OfflineLLM(CustomLLM):
    """litellm calls these with keyword arguments; the ones the engine needs are named, the rest ignored.

    The answers are the OfflineEngine's (handler.py), which the gateway calls directly.
    """

    def __init__(self) -> None:
        super().__init__()
        self._engine = OfflineEngine()

    def completion(self, model: str, messages: list, model_response: ModelResponse | None = None, optional_params: dict | None = None, **_) -> ModelResponse:
        return self._response(model, self._engine.completion(model, messages, optional_params), model_response)

    async def acompletion(self, model: str, messages: list, model_response: ModelResponse | None = None, optional_params: dict | None = None, **_) -> ModelResponse:
        return self._response(model, await self._engine.acompletion(model, messages, optional_params), model_response)

    @staticmethod
    def _response(model: str, reply, model_response: ModelResponse | None) -> ModelResponse:
        response = model_response or ModelResponse()
        response.choices[0].message.content = reply.text
        response.choices[0].finish_reason = "stop"
        response.model = full_model(model)
        response.created = int(time.time())
        setattr(response, "usage", _usage(reply))
        response._hidden_params["response_cost"] = 0.0  # the offline engine is free; litellm's cost map does not know it
        return response

    def streaming(self, model: str, messages: list, optional_params: dict | None = None, **_) -> Iterator[GenericStreamingChunk]:
        reply = self._engine.answer(model, messages, optional_params)
        text, usage = reply.text, _usage(reply)
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
        response.model = full_model(model)
        vectors = self._engine.embedding(model, texts, {"dimensions": dimensions})
        response.data = [{"object": "embedding", "index": i, "embedding": vector} for i, vector in enumerate(vectors)]
        tokens = sum(estimate_tokens(str(t)) for t in texts)
        setattr(response, "usage", Usage(prompt_tokens=tokens, completion_tokens=0, total_tokens=tokens))
        return response

    async def aembedding(self, model: str, input: list, model_response: EmbeddingResponse | None = None, optional_params: dict | None = None, **_) -> EmbeddingResponse:
        return self.embedding(model, input, model_response, optional_params)
