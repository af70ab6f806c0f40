"""(c) of issue 7's Measure: wall time of the tiny-model DPO + SFT smoke run, through the job runner.

A freshly launched job's `smoke` stage at size "small" (SPEC §7: 8 pairs / 20 reflections / 2×3 interactions,
~3 training steps each) run by `job_execute` (what the worker's task runs) with the job's other stages skipped,
with the offline provider as teacher and student (no network, no latency) and the built-in tiny student on the
real TRL backend (CPU): DPO-data generation, DPO training (with the NLL term), introspection (reflections and
self-interactions by the teacher), SFT on the DPO checkpoint. Prints each part's wall time as the runner spends
it, the rest of `job_execute` (claim, events, progress, health checks, end), and the one-off import of torch/transformers/peft/trl measured separately in a
fresh interpreter (the stage itself runs with the stack already imported). Baseline measured in the same
run: the TRL backend alone training DPO then SFT for the same steps on the same rows, so the runner's share
shows as a ratio (rounds interleaved: the machine is shared). A first round (first use) apart, then the median
and best of a few.

Skipped without the train extras. Only sanity is asserted, never timing.

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_training_smoke_bench.py -s -q
"""

import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from django.conf import settings

from tests.benchmarks.training_runs import run_only
from training_jobs import character_stages, engine
from training_jobs.presets import SMOKE_SIZES

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = 5
IMPORT_ROUNDS = 2
SIZE = SMOKE_SIZES["small"]
PARTS = {"generate_dpo_pairs": "DPO data", "stage_dpo_train": "DPO", "generate_introspection": "introspection",
         "stage_sft": "SFT"}
IMPORT_STACK = ("import time; t = time.perf_counter(); import torch, transformers, peft, trl; "
                "from trl import DPOTrainer, SFTTrainer; print(time.perf_counter() - t)")


def _import_seconds() -> float:
    out = subprocess.run([sys.executable, "-c", IMPORT_STACK], cwd=ROOT, capture_output=True, text=True, check=True,
                         timeout=600)
    return float(out.stdout.strip().splitlines()[-1])


def _timed_parts(monkeypatch) -> dict:
    """Wrap the functions stage_smoke calls (looked up in character_stages' namespace at call time) with timers."""
    spent: dict = defaultdict(float)
    for name in PARTS:
        real = getattr(character_stages, name)

        def timed(*args, __real=real, __name=name, **kwargs):
            started = time.perf_counter()
            try:
                return __real(*args, **kwargs)
            finally:
                spent[__name] += time.perf_counter() - started

        monkeypatch.setattr(character_stages, name, timed)
    return spent


def _smoke_round(persona, launch, spent: dict) -> dict:
    job = launch(persona, execute=False, smoke_test="small")  # queued; offline teacher and student, tiny checkpoint
    spent.clear()
    total = run_only(job, "smoke")
    stage = job.stages.get(stage="smoke")
    report = stage.stats["smoke"]["small"]
    assert report["pairs"] > 0 and report["dpo"]["steps"] == SIZE.approx_steps and report["sft"]["steps"] == SIZE.approx_steps
    assert math.isfinite(report["dpo"]["final_metrics"]["loss"]) and math.isfinite(report["sft"]["final_metrics"]["loss"])
    folder = job.artifacts_dir / "smoke" / "small"
    return {"total": total, **{PARTS[name]: spent[name] for name in PARTS}, "report": report, "folder": folder, "job": job}


def _backend_alone(smoke: dict, out: Path) -> float:
    """Baseline: the TRL backend alone (no callbacks, events or checks), DPO then SFT with the configs the runner
    passes, for the smoke's steps, on the rows a smoke round wrote."""
    ctx, folder, steps = engine.JobContext(smoke["job"]), smoke["folder"], SIZE.approx_steps
    pairs = engine.read_jsonl(folder / "pairs.jsonl")
    examples = engine.read_jsonl(folder / "sft_examples.jsonl")
    backend = ctx.backend()
    started = time.perf_counter()
    dpo = backend.train_dpo(pairs, character_stages.train_config(ctx, out / "dpo", kind="dpo", max_steps=steps))
    sft = backend.train_sft(examples, character_stages.train_config(ctx, out / "sft", kind="sft", max_steps=steps,
                                                                          student=dpo.artifacts["base_dir"],
                                                                          init_adapter=dpo.artifacts["adapter_dir"]))
    elapsed = time.perf_counter() - started
    assert dpo.steps == sft.steps == steps
    return elapsed


def _row(label: str, values: list[float], first: float | None = None) -> str:
    each = " ".join(f"{v:.2f}" for v in values)
    tail = f"  first round {first:.2f} s" if first is not None else ""
    return (f"BENCH (7c)   {label:<36} median {statistics.median(values):6.2f} s, best {min(values):6.2f} s  "
            f"[{each}]{tail}")


def test_tiny_dpo_sft_smoke_run_wall_time(persona, launch, monkeypatch, tmp_path):
    pytest.importorskip("trl")
    import_s = [_import_seconds() for _ in range(IMPORT_ROUNDS)]
    import peft  # noqa: F401  (the stack imported here too: the timed stage pays no import)
    import torch  # noqa: F401
    import transformers  # noqa: F401
    from trl import DPOTrainer, SFTTrainer  # noqa: F401

    spent = _timed_parts(monkeypatch)
    first = _smoke_round(persona, launch, spent)  # first use: trainer set-up paths, caches
    rounds, baseline = [], []
    for i in range(ROUNDS):  # interleaved, so load from other work on the machine hits both alike
        rounds.append(_smoke_round(persona, launch, spent))
        baseline.append(_backend_alone(rounds[-1], tmp_path / f"alone{i}"))

    parts = ("DPO data", "DPO", "introspection", "SFT")
    for r in [first, *rounds]:
        r["rest"] = r["total"] - sum(r[k] for k in parts)
        r["train"] = r["DPO"] + r["SFT"]
    report = rounds[-1]["report"]
    print(f"\nBENCH (7c) tiny-model smoke run through the job runner, size small ({SIZE.dpo_pairs} pairs, "
          f"{SIZE.reflections} reflections, {SIZE.interactions}x{SIZE.interaction_turns} interactions, "
          f"{SIZE.approx_steps} steps each), offline provider, TRL on CPU ({os.cpu_count()} CPUs, torch threads "
          f"{settings.TRAINING_TORCH_THREADS or 'default'}); "
          f"{ROUNDS} rounds [each] after a first one")
    for key in parts:
        print(_row(key, [r[key] for r in rounds], first[key]))
    print(_row("rest (claim, events, checks, end)", [r["rest"] for r in rounds], first["rest"]))
    print(_row("total (job_execute)", [r["total"] for r in rounds], first["total"]))
    print(_row("import of the train stack (fresh)", import_s))
    print(_row("baseline: TRL backend alone DPO+SFT", baseline))
    ratios = [r["train"] / b for r, b in zip(rounds, baseline)]
    print(f"BENCH (7c)   runner's DPO + SFT / backend alone: median {statistics.median(ratios):.2f} "
          f"[{' '.join(f'{x:.2f}' for x in ratios)}]")
    total = statistics.median(r["total"] for r in rounds)
    print(f"BENCH (7c) summary: smoke run {total:.2f} s wall (median; best {min(r['total'] for r in rounds):.2f} s, "
          f"first {first['total']:.2f} s), training {statistics.median(r['train'] for r in rounds) / total:.0%} of it; "
          f"+ {statistics.median(import_s):.2f} s one-off import; DPO loss {report['dpo']['final_metrics']['loss']:.3f}, "
          f"SFT loss {report['sft']['final_metrics']['loss']:.3f}, {json.dumps(report.get('introspection', {}))}")
