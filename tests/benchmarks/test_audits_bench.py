"""Provocation suite figure (issue 5): wall time of one suite run (33 tests, 78 LLM calls, multi-turn
tests sequential within themselves) at settings.AUDIT_CONCURRENCY = 8 vs 1, against the test server
at 100 ms per reply in its own process (as a provider is), answering with the offline engine's text
(the judge prompt gets a valid verdict from the offline engine, studio.llm.offline). Target ≥ 6×. Medians of a few rounds;
only sanity is asserted, never timing.

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_audits_bench.py -s
"""

import statistics
import time

import pytest

from audits.models import AuditJob
from audits.provocations import calls_per_suite
from audits.services import audit_job_execute, audit_job_start
from personas.models import Persona
from tests.benchmarks.conftest import provider_process
from tests.generation_helpers import use_test_server

LATENCY = 0.1
ROUNDS = 3


@pytest.fixture
def provider_server():
    with provider_process(LATENCY) as server:
        yield server


def _suite_seconds(persona: Persona) -> float:
    job = audit_job_start(persona=persona, kind=AuditJob.Kind.PROVOCATIONS)  # queued: on-commit does not run here
    started = time.perf_counter()
    audit_job_execute(job.pk)
    elapsed = time.perf_counter() - started
    job.refresh_from_db()
    assert job.status == "completed", job.error
    assert job.passed + job.failed == 33 and job.done == calls_per_suite()
    return elapsed


def test_provocation_suite_concurrency(generate, tenant, provider_server, settings):
    persona = Persona.objects.get(public_id=generate().json()["id"])  # the offline engine writes the persona
    use_test_server(tenant, provider_server)
    settings.LLM_RETRY_BACKOFF_S = 0.001
    settings.AUDIT_CONCURRENCY = 8
    _suite_seconds(persona)  # warm-up: litellm's import and first connections
    timings = {}
    for concurrency in (1, 8):
        settings.AUDIT_CONCURRENCY = concurrency
        timings[concurrency] = statistics.median(_suite_seconds(persona) for _ in range(ROUNDS if concurrency > 1 else 1))
    calls = calls_per_suite()
    print(f"\nBENCH provocation suite: {calls} LLM calls at {LATENCY * 1000:.0f} ms each")
    print(f"BENCH provocation suite sequential (concurrency 1): {timings[1]:.2f} s")
    print(f"BENCH provocation suite concurrency 8: {timings[8]:.2f} s")
    print(f"BENCH provocation suite speed-up 8 vs 1: {timings[1] / timings[8]:.1f}x (target >= 6x)")
    assert timings[8] < timings[1]
