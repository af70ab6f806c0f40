"""In-process providers called directly by the gateway, against the same calls through litellm.

1. Per call: `gateway.complete` on the offline engine (the handler called directly) against the same
   calls through `litellm.completion` and the offline engine's litellm adapter (the baseline), in one
   process, alternating rounds; CPU ms per call and the ratio.
2. Per process: a fresh Python with Django loaded making one offline completion and one embedding, as a
   worker with no credentials does, against the same process importing litellm first (the baseline):
   CPU seconds and the ratio.

Only sanity is asserted, never timing. Run:
    STUDIO_BENCHMARKS=1 .venv/bin/pytest tests/benchmarks/test_inprocess_provider_bench.py -s
"""

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from studio.llm import attempts, gateway, runtime
from studio.llm.gateway import StepConfig

ROOT = Path(__file__).resolve().parents[2]
CALLS = 400
ROUNDS = 5
PROCESSES = 3
CONFIG = StepConfig("offline/studio", max_tokens=400)


def _messages(i: int) -> list[dict]:
    return [{"role": "system", "content": "You are Ann, a baker in Porto who loves rye bread."},
            {"role": "user", "content": f"What did you bake this morning, take {i}?"}]


def _direct(offset: int) -> None:
    for i in range(CALLS):
        assert gateway.complete(_messages(offset + i), CONFIG).text


def _through_litellm(offset: int) -> None:
    route = attempts.Route(CONFIG.model)
    for i in range(CALLS):
        response = runtime.litellm().completion(**attempts.call_kwargs(route, _messages(offset + i), CONFIG))
        assert response.choices[0].message.content


def _cpu_ms_per_call(run, offset: int) -> float:
    started = time.process_time()
    run(offset)
    return (time.process_time() - started) * 1000 / CALLS


def test_an_offline_call_costs_a_fraction_of_the_same_call_through_litellm(settings):
    settings.OFFLINE_LLM_LATENCY_S = 0
    _direct(10**6), _through_litellm(10**6)  # warm: handlers installed, litellm loaded
    direct, baseline = [], []
    for r in range(ROUNDS):
        direct.append(_cpu_ms_per_call(_direct, r * 2 * CALLS))
        baseline.append(_cpu_ms_per_call(_through_litellm, r * 2 * CALLS + CALLS))
    d, b = statistics.median(direct), statistics.median(baseline)
    print(f"\noffline completion, CPU per call (median of {ROUNDS} rounds of {CALLS}): direct {d:.3f} ms, "
          f"through litellm (baseline) {b:.3f} ms: ×{d / b:.2f} of the baseline ({b / d:.1f}× fewer ms)")
    assert d > 0 and b > 0


PROCESS_CODE = """
import os, sys, resource
import django; django.setup()
if sys.argv[1] == "litellm":
    from studio.llm import runtime; runtime.litellm()
from studio.llm import gateway as g
c = g.complete([{"role": "user", "content": "Hello"}], g.StepConfig("offline/studio"))
v, _ = g.embed(["Hello"], "offline/embed")
usage = resource.getrusage(resource.RUSAGE_SELF)
print(usage.ru_utime + usage.ru_stime, "litellm" in sys.modules)
"""


def _process_cpu_s(mode: str) -> tuple[float, bool]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "studio.settings", "OFFLINE_LLM_LATENCY_S": "0"}
    out = subprocess.run([sys.executable, "-c", PROCESS_CODE, mode], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True).stdout.split()
    return float(out[0]), out[1] == "True"


def test_a_process_that_only_uses_the_offline_engine_never_pays_for_litellm():
    direct, baseline = [], []
    for _ in range(PROCESSES):
        seconds, imported = _process_cpu_s("direct")
        assert not imported
        direct.append(seconds)
        seconds, imported = _process_cpu_s("litellm")
        assert imported
        baseline.append(seconds)
    d, b = statistics.median(direct), statistics.median(baseline)
    print(f"\na process's first offline completion and embedding, CPU (median of {PROCESSES}): without litellm "
          f"{d:.2f} s, importing litellm (baseline) {b:.2f} s: ×{d / b:.2f} of the baseline, {b - d:.2f} s saved "
          f"per process (load average {os.getloadavg()[0]:.1f})")
    assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime > 0
