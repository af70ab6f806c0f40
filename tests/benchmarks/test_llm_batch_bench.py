"""(e) The gateway's batch path vs bare litellm.acompletion behind a semaphore.

Against the OpenAI-compatible test server in its own process (so neither client
shares a GIL with it), provider latency 1 s, concurrency 64, 256 calls: the ideal
is 64 calls/s. Printed as fractions of that ideal and as a ratio, both measured in
this run; timing is never asserted.

- gateway: `abatch` through the org's OpenAI-compatible credential, as the studio
  calls it (a batch this large is fanned out to worker processes);
- bare: a fresh interpreter running stock litellm (what code calling litellm
  directly gets).
For reference it also prints the gateway kept in one process (pacing only) and
the bare loop inside this process, where the gateway has already tuned litellm.

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_llm_batch_bench.py -s -q
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync

from studio import services
from studio.llm import gateway
from studio.llm.gateway import Completion, StepConfig
from tests.benchmarks import bare_litellm_loop
from tests.benchmarks.bare_litellm_loop import API_KEY, MODEL, bare_loop, messages

ROOT = Path(__file__).resolve().parents[2]
LATENCY_S = 1.0
CONCURRENCY = 64
CALLS = 256
ROUNDS = 3
IDEAL = CALLS / (CALLS / CONCURRENCY * LATENCY_S)  # calls per second


@pytest.fixture
def server():
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "llm_server.py"), "--latency", str(LATENCY_S)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(10)


def _stats(url: str, reset: bool = False) -> dict:
    if reset:
        urllib.request.urlopen(urllib.request.Request(url + "/_reset", method="POST")).read()
    with urllib.request.urlopen(url + "/_stats") as response:
        return json.load(response)


def _bare_in_a_fresh_process(url: str) -> float:
    out = subprocess.run(
        [sys.executable, str(Path(bare_litellm_loop.__file__)), url, str(CALLS), str(CONCURRENCY)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def _gateway_batch(org, calls: int) -> float:
    requests = [(messages(i), StepConfig(model=MODEL, max_tokens=64)) for i in range(calls)]
    started = time.perf_counter()
    results = async_to_sync(gateway.abatch)(requests, organization=org, concurrency=CONCURRENCY)
    elapsed = time.perf_counter() - started
    assert all(isinstance(r, Completion) for r in results), [r for r in results if not isinstance(r, Completion)][:3]
    return elapsed


def _fraction(seconds: float) -> float:
    return CALLS / seconds / IDEAL


def test_gateway_batch_throughput_vs_bare_litellm(tenant, server, settings):
    services.credential_set(organization=tenant.org, provider="openai_compatible", api_key=API_KEY, api_base=server + "/v1")
    processes = gateway.batch_processes(CALLS, [MODEL], concurrency=CONCURRENCY)

    _gateway_batch(tenant.org, 2 * CONCURRENCY)  # workers started, connections open
    _stats(server, reset=True)
    gateway_runs = [_gateway_batch(tenant.org, CALLS) for _ in range(ROUNDS)]
    gateway_peak = _stats(server)

    bare_fresh = [_bare_in_a_fresh_process(server) for _ in range(ROUNDS)]

    settings.LLM_BATCH_PROCESSES = 1  # the same batch path without the worker processes
    _gateway_batch(tenant.org, CONCURRENCY)
    one_process = [_gateway_batch(tenant.org, CALLS) for _ in range(ROUNDS)]
    bare_here = [asyncio.run(bare_loop(server, CALLS, CONCURRENCY)) for _ in range(ROUNDS)]
    peaks = _stats(server)

    gateway_f, bare_f = _fraction(statistics.median(gateway_runs)), _fraction(statistics.median(bare_fresh))
    mode = f"{processes} worker processes" if processes > 1 else "in this process"
    print(
        f"\n(e) LLM batch: {CALLS} calls, provider latency {LATENCY_S:g} s, concurrency {CONCURRENCY},"
        f" {os.cpu_count()} CPUs; ideal {IDEAL:.0f} calls/s; median of {ROUNDS} rounds [each round]"
    )
    rows = [
        (f"gateway abatch ({mode})", gateway_runs),
        ("bare litellm.acompletion + Semaphore(64)", bare_fresh),
        ("  for reference: gateway abatch in one process", one_process),
        ("  for reference: bare loop after the gateway's tuning", bare_here),
    ]
    for label, runs in rows:
        fraction = _fraction(statistics.median(runs))
        each = " ".join(f"{_fraction(seconds):.2f}" for seconds in runs)
        print(f"  {label:<54} {fraction * IDEAL:5.1f} calls/s = {fraction:.2f} of ideal  [{each}]")
    print(f"  {'gateway / bare':<54} {gateway_f / bare_f:.2f}  (target: gateway >= 0.90 of ideal, ahead of bare)")
    assert gateway_peak["peak_concurrency"] <= CONCURRENCY and peaks["peak_concurrency"] <= CONCURRENCY
    assert gateway_peak["received"] == ROUNDS * CALLS
