"""The local engine as a litellm custom provider: `local/smollm2-135m-instruct` and `local/all-minilm-l6-v2`.

Chat completions run SmolLM2-135M-Instruct's GGUF in-process with xllamacpp (llama.cpp, prebuilt wheels):
one model per worker process, loaded on first use, serving `LOCAL_LLM_PARALLEL` sequences at once with
continuous batching (callers' threads block in llama.cpp with the GIL released, so a gateway batch's
concurrent calls share the batch). Honoured: max_tokens, temperature, top_p, seed, stop sequences, and
JSON output — a JSON-schema grammar when the caller's parser names a pydantic model (the gateway passes
it as `response_format`), a generic JSON grammar otherwise.

A prompt longer than the model's context is cut from the left (the oldest non-system turns first, then
the start of what is left) and the reply carries a warning in `_hidden_params["warnings"]`.

Embeddings (`local/all-minilm-l6-v2`) come from studio.llm.local_embeddings.

Imports litellm (seconds): only the gateway imports this module, when it registers the provider.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncIterator, Iterator

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from litellm import CustomLLM  # noqa: E402
from litellm.llms.custom_llm import CustomLLMError  # noqa: E402
from litellm.types.utils import EmbeddingResponse, GenericStreamingChunk, ModelResponse, Usage  # noqa: E402

from studio.llm import local_models  # noqa: E402

logger = logging.getLogger(__name__)

# Characters per token assumed when cutting a prompt to fit before asking llama.cpp (it counts exactly).
_CHARS_PER_TOKEN = 3.5
_FIT_TRIES = 4


def parallel_sequences() -> int:
    """LOCAL_LLM_PARALLEL, or with 0 twice the cores, from 2 to 8. Measured on 2 cores (12 answers sharing a
    478-token system prompt): every sequence reads the shared prompt once, so 8 sequences took 38 s where 4 took
    25 s; decoding 24 × 64 tokens ran at 67 tokens/s with 8 and 66 with 4 (52 with 2)."""
    from django.conf import settings

    configured = int(getattr(settings, "LOCAL_LLM_PARALLEL", 0) or 0)
    return max(1, configured) if configured > 0 else min(8, max(2, 2 * (os.cpu_count() or 1)))


class _Engine:
    """One xllamacpp server per process (lazily); thread-safe: llama.cpp queues and batches concurrent requests."""

    _lock = threading.Lock()
    _server = None
    _server_key = None  # (pid, sequences) the server was loaded for
    _pool = None
    _pool_key = None  # (pid, sequences) the pool was made for
    context_per_sequence = 0

    @classmethod
    def pool(cls) -> ThreadPoolExecutor:
        """Threads that wait in llama.cpp for the async API: one per parallel sequence (asyncio's default pool has
        cpu + 4, 6 on 2 cores, which left slots idle), and its own so that it does not starve other to_thread work."""
        wanted = (os.getpid(), parallel_sequences())
        if cls._pool is None or cls._pool_key != wanted:
            with cls._lock:  # a forked child makes its own; a changed LOCAL_LLM_PARALLEL a new one
                if cls._pool is None or cls._pool_key != wanted:
                    cls._pool = ThreadPoolExecutor(wanted[1], thread_name_prefix="local-llm")
                    cls._pool_key = wanted
        return cls._pool

    @classmethod
    def server(cls):
        """The process's llama.cpp server; loaded again (0.4 s) in a forked child or when LOCAL_LLM_PARALLEL changed."""
        wanted = (os.getpid(), parallel_sequences())
        if cls._server is not None and cls._server_key == wanted:
            return cls._server
        with cls._lock:
            if cls._server is None or cls._server_key != wanted:
                cls._server = None  # the old one's memory goes before the new one's is taken
                cls._server = cls._load()
                cls._server_key = wanted
        return cls._server

    @classmethod
    def _load(cls):
        path = local_models.model_file(local_models.SMOLLM2)
        import xllamacpp

        from django.conf import settings

        parallel = parallel_sequences()
        context = max(512, int(getattr(settings, "LOCAL_LLM_CONTEXT", 2048)))
        threads = int(getattr(settings, "LOCAL_LLM_THREADS", 0)) or max(1, (os.cpu_count() or 2) // 2)
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_parallel = parallel
        params.n_ctx = context * parallel  # llama.cpp splits the context between the sequences
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.warmup = False
        params.verbosity = -1
        started = time.perf_counter()
        server = xllamacpp.Server(params)
        cls.context_per_sequence = context
        logger.info("local model %s loaded in %.1f s (%d sequences × %d tokens)", path.name,
                    time.perf_counter() - started, parallel, context)
        return server


def _content(message) -> str:
    content = message.get("content") if isinstance(message, dict) else getattr(message, "content", "")
    if isinstance(content, list):  # OpenAI content parts
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def _fit(messages: list[dict], budget_chars: int) -> tuple[list[dict], bool]:
    """Messages cut from the left to about `budget_chars`: oldest non-system turns first, then the oldest text."""
    msgs = [{"role": m["role"], "content": _content(m)} for m in messages]
    total = sum(len(m["content"]) for m in msgs)
    if total <= budget_chars:
        return msgs, False
    system = [m for m in msgs if m["role"] == "system"]
    turns = [m for m in msgs if m["role"] != "system"]
    system_chars = sum(len(m["content"]) for m in system)
    if system_chars > budget_chars // 2:  # a system prompt that fills the context keeps its end
        keep = budget_chars // 2
        system = [{"role": "system", "content": "\n".join(m["content"] for m in system)[-keep:]}]
        system_chars = keep
    room = budget_chars - system_chars
    while len(turns) > 1 and sum(len(m["content"]) for m in turns) > room:
        turns.pop(0)
    if turns and sum(len(m["content"]) for m in turns) > room:
        turns[0] = {**turns[0], "content": turns[0]["content"][-max(room, 1):]}
    return system + turns, True


def _request(messages: list[dict], optional_params: dict | None) -> dict:
    params = optional_params or {}
    body: dict = {"messages": messages, "max_tokens": int(params.get("max_tokens") or params.get("max_completion_tokens") or 512)}
    for key in ("temperature", "top_p", "seed"):
        if params.get(key) is not None:
            body[key] = params[key]
    stop = params.get("stop")
    if stop:
        body["stop"] = [stop] if isinstance(stop, str) else list(stop)
    if fmt := params.get("response_format"):
        body["response_format"] = fmt if isinstance(fmt, dict) else {"type": "json_object"}
    return body


def generate(messages: list, optional_params: dict | None = None) -> tuple[str, Usage, list[str]]:
    """(text, usage, warnings) for one chat completion on the local model."""
    server = _Engine.server()
    context = _Engine.context_per_sequence
    max_tokens = int((optional_params or {}).get("max_tokens") or 512)
    max_tokens = min(max_tokens, context // 2)
    warnings: list[str] = []
    budget = int((context - max_tokens) * _CHARS_PER_TOKEN)
    fitted, cut = _fit(list(messages), budget)
    for _ in range(_FIT_TRIES):
        body = _request(fitted, {**(optional_params or {}), "max_tokens": max_tokens})
        result = server.handle_chat_completions(body)
        error = result.get("error") if isinstance(result, dict) else None
        if not error:
            break
        if error.get("type") == "exceed_context_size_error" and error.get("n_prompt_tokens"):
            over = int(error["n_prompt_tokens"]) + max_tokens - context
            budget = max(256, int(sum(len(m["content"]) for m in fitted) * (1 - (over + 32) / error["n_prompt_tokens"])))
            fitted, cut = _fit(fitted, budget)[0], True
            continue
        raise CustomLLMError(status_code=int(error.get("code") or 500), message=str(error.get("message") or error))
    else:
        raise CustomLLMError(status_code=400, message=f"the prompt does not fit the local model's context ({context} tokens)")
    if cut:
        warnings.append(f"prompt cut from the left to fit the local model's {context}-token context")
        logger.warning("local model: %s", warnings[-1])
    choice = result["choices"][0]
    text = _content(choice.get("message") or {})
    usage = result.get("usage") or {}
    return text, Usage(prompt_tokens=int(usage.get("prompt_tokens", 0)), completion_tokens=int(usage.get("completion_tokens", 0)),
                       total_tokens=int(usage.get("total_tokens", 0))), warnings


def _full_model(model: str) -> str:
    return model if model.startswith("local/") else f"local/{model}"


def _check_model(model: str) -> None:
    name = _full_model(model)
    if name != local_models.LOCAL_CHAT_MODEL:
        raise CustomLLMError(status_code=400, message=f"unknown local model {name!r}: the local engine serves {local_models.LOCAL_CHAT_MODEL}")


class LocalLLM(CustomLLM):
    def completion(self, model: str, messages: list, model_response: ModelResponse | None = None,
                   optional_params: dict | None = None, **_) -> ModelResponse:
        _check_model(model)
        try:
            text, usage, warnings = generate(messages, optional_params)
        except local_models.ModelUnavailable as exc:
            raise CustomLLMError(status_code=503, message=str(exc)) from None
        response = model_response or ModelResponse()
        response.choices[0].message.content = text
        response.choices[0].finish_reason = "stop"
        response.model = _full_model(model)
        response.created = int(time.time())
        setattr(response, "usage", usage)
        response._hidden_params["response_cost"] = 0.0  # runs here: no provider bills it
        if warnings:
            response._hidden_params["warnings"] = warnings
        return response

    async def acompletion(self, model: str, messages: list, model_response: ModelResponse | None = None,
                          optional_params: dict | None = None, **kwargs) -> ModelResponse:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(_Engine.pool(), self.completion, model, messages, model_response, optional_params)

    def streaming(self, model: str, messages: list, optional_params: dict | None = None, **_) -> Iterator[GenericStreamingChunk]:
        response = self.completion(model, messages, None, optional_params)
        usage = response.usage
        yield GenericStreamingChunk(text=response.choices[0].message.content or "", tool_use=None, is_finished=True,
                                    finish_reason="stop", index=0,
                                    usage={"prompt_tokens": usage.prompt_tokens, "completion_tokens": usage.completion_tokens,
                                           "total_tokens": usage.total_tokens})

    async def astreaming(self, model: str, messages: list, optional_params: dict | None = None, **_) -> AsyncIterator[GenericStreamingChunk]:
        for chunk in await asyncio.to_thread(lambda: list(self.streaming(model, messages, optional_params))):
            yield chunk

    def embedding(self, model: str, input: list, model_response: EmbeddingResponse | None = None,
                  optional_params: dict | None = None, **_) -> EmbeddingResponse:
        from studio.llm import local_embeddings

        name = _full_model(model)
        if name != local_models.LOCAL_EMBEDDING_MODEL:
            raise CustomLLMError(status_code=400, message=f"unknown local embedding model {name!r}: use {local_models.LOCAL_EMBEDDING_MODEL}")
        texts = [input] if isinstance(input, str) else [str(t) for t in input]
        try:
            vectors, tokens = local_embeddings.encode(texts)
        except local_models.ModelUnavailable as exc:
            raise CustomLLMError(status_code=503, message=str(exc)) from None
        response = model_response or EmbeddingResponse()
        response.model = name
        response.data = [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)]
        setattr(response, "usage", Usage(prompt_tokens=tokens, completion_tokens=0, total_tokens=tokens))
        response._hidden_params["response_cost"] = 0.0
        return response

    async def aembedding(self, model: str, input: list, model_response: EmbeddingResponse | None = None,
                         optional_params: dict | None = None, **_) -> EmbeddingResponse:
        return await asyncio.to_thread(self.embedding, model, input, model_response, optional_params)
