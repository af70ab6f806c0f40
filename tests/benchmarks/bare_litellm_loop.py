"""The baseline of benchmark (e): litellm.acompletion behind an asyncio.Semaphore, nothing else.

Run as a script it uses stock litellm in a fresh interpreter and prints the seconds:
    python tests/benchmarks/bare_litellm_loop.py <server url> <calls> <concurrency>
"""

import asyncio
import json
import os
import sys
import time

MODEL = "openai/gpt-4o-mini"
API_KEY = "sk-bench-12345678"


def messages(i: int) -> list[dict]:
    return [{"role": "user", "content": f"Write one line in character, take {i}."}]


async def bare_loop(url: str, calls: int, concurrency: int) -> float:
    """Seconds for `calls` calls at most `concurrency` at once, after one warm-up wave."""
    import litellm

    semaphore = asyncio.Semaphore(concurrency)

    async def one(i):
        async with semaphore:
            response = await litellm.acompletion(
                model=MODEL, messages=messages(i), api_key=API_KEY, api_base=url + "/v1", max_retries=0
            )
            return response.choices[0].message.content

    await asyncio.gather(*(one(i) for i in range(concurrency)))  # clients and connections warm
    started = time.perf_counter()
    results = await asyncio.gather(*(one(i) for i in range(calls)))
    elapsed = time.perf_counter() - started
    assert all(results)
    return elapsed


if __name__ == "__main__":
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    url, calls, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps({"seconds": asyncio.run(bare_loop(url, calls, concurrency))}))
