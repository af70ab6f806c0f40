"""(a) of issue 7's Measure: DPO-data generation throughput of a training job vs bare litellm.

The real `dpo_data` stage (training_jobs.character_stages: teacher with the constitution → chosen, student without →
rejected, quality filters and data-quality gate per chunk, JSONL + preview, progress and cost saved per chunk)
of a freshly launched job, run by `job_execute` (what the worker's task runs) with the job's other stages
skipped, against the OpenAI-compatible test server in its own process (as a provider is) answering with the
offline engine's text, at provider latency 1 s. Timed: the stage (its StageRun start to finish).

- concurrency 64, 320 pairs = 640 calls (ideal 64 calls/s; target ≥ 0.90 of it):
  - after the job's smoke stage (size small), as the default plan runs it: the runner knows the provider's pace
    from the smoke's calls and sizes its chunks by it;
  - as the job's first stage (smoke "none"): the first chunk is 4 waves, before the pace is known;
- concurrency 1, 5 pairs = 10 calls (ideal 1 call/s);
- bare `litellm.acompletion` behind an asyncio.Semaphore(64), 640 calls, in a fresh interpreter with stock
  litellm (SPEC §9: ~0.75 of the ideal on this kind of machine);
- for reference: the gateway's `abatch` of 640 such calls in one batch (the most any chunking can reach).

Each figure is a fraction of its own ideal, all measured in this run (the machine is shared and noisy): median of
a few rounds, each round in brackets, with the chunks the stage sent (from its progress events). Only sanity is
asserted, never timing.

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_training_dpo_data_bench.py -s -q
"""

import importlib.util
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
from tests.benchmarks.conftest import provider_process
from tests.benchmarks.training_runs import run_only
from training_jobs.models import StageRun
from training_jobs.params import STOP_SEQUENCES

ROOT = Path(__file__).resolve().parents[2]
LATENCY_S = 1.0
CONCURRENCY = 64
PAIRS = 320  # 640 calls: ten waves of 64, so the steady state dominates
SEQUENTIAL_PAIRS = 5  # 10 calls at concurrency 1
ROUNDS = 3
TEACHER, STUDENT = "openai/teacher-bench", "openai/student-bench"
API_KEY = "sk-bench-12345678"


@pytest.fixture
def provider_server():
    with provider_process(LATENCY_S) as server:
        yield server


def _stats(url: str, reset: bool = False) -> dict:
    if reset:
        urllib.request.urlopen(urllib.request.Request(url + "/_reset", method="POST")).read()
    with urllib.request.urlopen(url + "/_stats") as response:
        return json.load(response)


def _dpo_data(persona, launch, *, pairs: int, concurrency: int, smoke: bool = False) -> dict:
    """A new job's dpo_data stage (after its smoke stage when `smoke`) run by job_execute: seconds and chunks."""
    job = launch(persona, execute=False, teacher_model=TEACHER, student_model=STUDENT, dpo_pairs=pairs,
                 concurrency=concurrency, smoke_test="small" if smoke else "none", budget_usd=None)  # queued
    run_only(job, *(["smoke"] if smoke else []), "dpo_data")
    stage = job.stages.get(stage="dpo_data")
    assert stage.status == StageRun.Status.COMPLETED and stage.done == stage.total == 2 * pairs
    assert stage.stats["pairs"] > 0.9 * pairs, stage.stats  # the offline engine's answers pass the filters
    done = [e["done"] for e in job.events.filter(type="stage.progress").order_by("seq").values_list("data", flat=True)
            if e["stage"] == "dpo_data"]
    chunks = [b - a for a, b in zip(done, done[1:]) if b > a]
    assert sum(chunks) == 2 * pairs, done
    return {"seconds": stage.duration_s, "chunks": chunks}


def _bare_in_a_fresh_process(url: str, calls: int) -> float:
    out = subprocess.run(
        [sys.executable, str(Path(bare_litellm_loop.__file__)), url, str(calls), str(CONCURRENCY)],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])["seconds"]


def _gateway_one_batch(org, calls: int) -> float:
    """The same kind of calls (teacher, student alternately; the stage's sampling settings) in one abatch."""
    config = {"temperature": 0.7, "top_p": 0.95, "max_tokens": 96, "stop": tuple(STOP_SEQUENCES)}
    requests = [([{"role": "user", "content": f"Question {i}: what does the sea mean to you?"}],
                 StepConfig(model=TEACHER if i % 2 == 0 else STUDENT, seed=i, **config)) for i in range(calls)]
    started = time.perf_counter()
    results = async_to_sync(gateway.abatch)(requests, organization=org, concurrency=CONCURRENCY)
    elapsed = time.perf_counter() - started
    assert all(isinstance(r, Completion) for r in results), [r for r in results if not isinstance(r, Completion)][:3]
    return elapsed


def test_dpo_data_generation_throughput(persona, launch, tenant, provider_server):
    url = provider_server.url
    services.credential_set(organization=tenant.org, provider="openai_compatible", api_key=API_KEY, api_base=url + "/v1")
    calls = 2 * PAIRS
    processes = gateway.batch_processes(calls, [TEACHER, STUDENT], concurrency=CONCURRENCY)
    smoke = importlib.util.find_spec("trl") is not None  # the smoke stage trains the tiny model

    _gateway_one_batch(tenant.org, 2 * CONCURRENCY)  # worker processes started, connections open, pacer measured
    _stats(url, reset=True)
    first_stage, after_smoke, one_batch, bare = [], [], [], []
    for _ in range(ROUNDS):  # each round one of each, so load from other work on the machine hits all alike
        first_stage.append(_dpo_data(persona, launch, pairs=PAIRS, concurrency=CONCURRENCY))
        if smoke:
            after_smoke.append(_dpo_data(persona, launch, pairs=PAIRS, concurrency=CONCURRENCY, smoke=True))
        bare.append(_bare_in_a_fresh_process(url, calls))
        one_batch.append(_gateway_one_batch(tenant.org, calls))
    sequential = [_dpo_data(persona, launch, pairs=SEQUENTIAL_PAIRS, concurrency=1)]
    peak = _stats(url)["peak_concurrency"]

    def fraction(n: int, concurrency: int, seconds: float) -> float:
        return n / seconds / (concurrency / LATENCY_S)

    def chunks(runs):
        return "chunks " + " | ".join("+".join(map(str, r["chunks"])) for r in runs)

    mode = f"{processes} worker processes" if processes > 1 else "in this process"
    print(f"\nBENCH (7a) DPO-data generation: provider latency {LATENCY_S:g} s, {os.cpu_count()} CPUs, gateway batches "
          f"over {mode}; fraction of the ideal (concurrency / latency calls/s), median of rounds [each round]")
    rows = [
        ("stage", f"dpo_data stage after the smoke stage, concurrency {CONCURRENCY}, {calls} calls", calls, CONCURRENCY,
         [r["seconds"] for r in after_smoke], chunks(after_smoke)),
        ("first", f"dpo_data stage as the job's first stage, concurrency {CONCURRENCY}, {calls} calls", calls, CONCURRENCY,
         [r["seconds"] for r in first_stage], chunks(first_stage)),
        ("one", f"dpo_data stage, concurrency 1, {2 * SEQUENTIAL_PAIRS} calls", 2 * SEQUENTIAL_PAIRS, 1,
         [r["seconds"] for r in sequential], chunks(sequential)),
        ("bare", f"bare litellm.acompletion + Semaphore({CONCURRENCY}), {calls} calls", calls, CONCURRENCY, bare,
         "fresh interpreter, stock litellm"),
        ("batch", f"  for reference: gateway abatch, {calls} calls in one batch", calls, CONCURRENCY, one_batch, ""),
    ]
    figures = {}
    for key, label, n, concurrency, runs, note in rows:
        if not runs:
            print(f"BENCH (7a)   {label:<72} skipped (no train extras for the smoke stage)")
            continue
        figures[key] = f = fraction(n, concurrency, statistics.median(runs))
        each = " ".join(f"{fraction(n, concurrency, s):.2f}" for s in runs)
        print(f"BENCH (7a)   {label:<72} {f * concurrency / LATENCY_S:5.1f} calls/s = {f:.2f} of ideal  [{each}]  {note}")
    stage_f = figures.get("stage", figures["first"])
    print(f"BENCH (7a) summary: dpo_data stage at concurrency {CONCURRENCY} {stage_f:.2f} of ideal (target >= 0.90; "
          f"{figures['first']:.2f} as a job's first stage), concurrency 1 {figures['one']:.2f}, bare litellm "
          f"{figures['bare']:.2f}; stage / bare {stage_f / figures['bare']:.2f}")
    assert peak <= CONCURRENCY
