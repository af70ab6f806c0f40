"""Drift figure (issue 5): the time drift scoring adds to a chat reply — the embedding call for the reply
plus the cosine distance to the fingerprint — as a ratio to the chat LLM call it follows.

Both calls go to the test server in its own process (as a provider is), at the same latency (0.1 s),
so the ratio shows how much of a round trip scoring costs beside the reply; the cosine alone is also
printed. Medians over a conversation of ROUNDS turns through chat_send (the API's service); only
sanity is asserted, never timing.

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_drift_bench.py -s
"""

import statistics
import time

import pytest

from audits.chat import services as chat_services
from audits.drift import cosine_distance
from audits.models import Fingerprint
from personas.models import Persona
from studio.llm import gateway
from studio.principal import Principal
from tests.benchmarks.conftest import provider_process
from tests.generation_helpers import use_test_server

LATENCY = 0.1
ROUNDS = 15
WARMUP = 2
EMBEDDING_MODEL = "openai/text-embedding-test"
DIMENSIONS = 8  # the test server's embedding size


@pytest.fixture
def llm_process():
    with provider_process(LATENCY) as server:
        yield server


def _cosine_us(dims: int, repeat: int = 1000) -> float:
    """Microseconds per cosine distance between two JSON-style (list) vectors, as the fingerprint is stored."""
    a, b = [0.1 * (i + 1) for i in range(dims)], [((i * 7) % 5 - 2) / 3 for i in range(dims)]
    started = time.perf_counter()
    for _ in range(repeat):
        cosine_distance(a, b)
    return (time.perf_counter() - started) / repeat * 1e6


class Timed:
    """Wraps a function, keeping the wall time of each call."""

    def __init__(self, function):
        self.function, self.seconds = function, []

    def __call__(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.function(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - started)


def test_drift_scoring_time_per_reply_against_the_chat_call(tenant, generate, llm_process, monkeypatch):
    persona = Persona.objects.get(public_id=generate().json()["id"])  # offline engine: no credentials yet
    use_test_server(tenant, llm_process, steps=["mask_build"], fallbacks=[])
    vector = [((i * 7) % 5 - 2) / 3 for i in range(DIMENSIONS)]
    Fingerprint.objects.create(
        organization=tenant.org, persona=persona, version=persona.current_version, status="ready",
        vector=vector, embedding_model=EMBEDDING_MODEL, engine="providers", scenarios=50,
    )
    complete, drift = Timed(gateway.complete), Timed(chat_services.drift_score)
    monkeypatch.setattr(gateway, "complete", complete)
    monkeypatch.setattr(chat_services, "drift_score", drift)
    principal = Principal.from_membership(tenant.membership("editor"))

    turns, session_id = [], None
    for i in range(WARMUP + ROUNDS):
        started = time.perf_counter()
        turn = chat_services.chat_send(principal=principal, persona=persona, message=f"Tell me about day {i} at work.", session_id=session_id)
        turns.append(time.perf_counter() - started)
        session_id = turn.session.public_id
        assert turn.drift is not None, turn.reply.drift_note
    chat_s, drift_s, turn_s = (statistics.median(values[WARMUP:]) for values in (complete.seconds, drift.seconds, turns))

    cosine_us = {dims: _cosine_us(dims) for dims in (DIMENSIONS, 1536)}  # 1536: text-embedding-3-small

    print(f"\nBENCH drift: test server latency {LATENCY * 1000:.0f} ms per call, {ROUNDS} turns (medians)")
    print(f"BENCH drift: chat LLM call {chat_s * 1000:.1f} ms · drift scoring (embedding call + cosine) {drift_s * 1000:.1f} ms "
          f"→ ratio {drift_s / chat_s:.2f}")
    print(f"BENCH drift: cosine distance alone {cosine_us[DIMENSIONS]:.1f} µs ({DIMENSIONS} dims), {cosine_us[1536]:.1f} µs (1536 dims); "
          f"whole chat_send {turn_s * 1000:.1f} ms, "
          f"of which {max(turn_s - chat_s - drift_s, 0) * 1000:.1f} ms outside the two calls")
    assert 0 < drift_s and 0 < chat_s
