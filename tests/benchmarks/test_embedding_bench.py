"""Issue 14, point 4: MiniLM embeddings offline — throughput, and what drift reads in its space.

1. Throughput of `local_embeddings.encode` (all-MiniLM-L6-v2 on this machine's CPU) at batch sizes 1, 16 and 64,
   with 1 and 2 torch threads, on persona answers of mixed length: texts/s and tokens/s, as ratios to batch size 1
   on one thread and to the hashed n-gram embedding (the fallback) measured in the same run. The model's load time
   and the machine's load average are printed apart (threads slow each other down on busy cores).
2. Drift in both spaces: for offline personas, the fingerprint is the unit mean of 50 in-persona answers to the
   audit scenarios (as the fingerprint job computes it); printed is the cosine distance to it of replies in
   character (the offline engine's, a new sentence that uses the persona's own signature phrase, the same
   sentence without it), of SmolLM2's replies in persona (the no-credentials chat model), and of replies out of
   character (a Python function, an AI-assistant disclaimer), under the n-grams and under MiniLM.

Only sanity is asserted, never timing. Run:
    STUDIO_BENCHMARKS=1 .venv/bin/pytest tests/benchmarks/test_embedding_bench.py -s
"""

import os
import statistics
import time

import numpy as np

from audits.scenarios import SCENARIOS
from personas.prompting import persona_system_prompt
from studio.llm.offline.engine import chat_reply, offline_embedding, persona_from_system
from studio.llm import local_embeddings
from tests.benchmarks.generation_services import offline_documents

BRIEFS = [
    "A tram driver in Lisbon who restores old radios",
    "A retired lighthouse keeper in Porto who collects other people's unsent letters and reads the tides.",
    "A night-shift nurse in Osaka who writes haiku about her patients' shoes",
]
BATCH_SIZES = (1, 16, 64)
THREADS = (1, 2)  # settings.LOCAL_EMBEDDING_THREADS
REPEATS = 3
OFF_CHARACTER = {
    "python function": "Sure! Here is a Python function that sorts a list: def sort(x): return sorted(x)",
    "AI disclaimer": "As an AI language model, I cannot have personal experiences, but I can help you with that.",
}


def _answers(system: str, questions) -> list[str]:
    return [chat_reply([{"role": "system", "content": system}, {"role": "user", "content": q}]) for q in questions]


def _corpus() -> list[str]:
    """Persona answers of mixed length: the offline engine's (short) and pairs of them joined (longer)."""
    short = [a for brief in BRIEFS for a in _answers(persona_system_prompt(offline_documents(brief)), SCENARIOS[:64])]
    return short + [f"{a} {b} {a}" for a, b in zip(short[::3], short[1::3])]


def _best_rate(run, count: int) -> float:
    """Items per second of the fastest of REPEATS runs (the least disturbed by the machine's other work)."""
    seconds = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - started)
    return count / min(seconds)


def test_minilm_throughput_by_batch_size_against_the_ngram_fallback(settings):
    started = time.perf_counter()
    local_embeddings.encode(["warm up"])
    load_s = time.perf_counter() - started
    texts = _corpus()
    _, tokens = local_embeddings.encode(texts)
    ngram = _best_rate(lambda: [offline_embedding(t) for t in texts], len(texts))
    print(f"\nBENCH MiniLM load (sha256 checked, weights read): {load_s:.1f} s; corpus {len(texts)} texts, "
          f"{tokens} tokens ({tokens / len(texts):.0f} per text, median {statistics.median(len(t) for t in texts):.0f} chars); "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"BENCH hashed n-grams (fallback, baseline): {ngram:,.0f} texts/s")
    rates = {}
    for threads in THREADS:
        settings.LOCAL_EMBEDDING_THREADS = threads
        for size in BATCH_SIZES:
            rates[threads, size] = _best_rate(lambda: local_embeddings.encode(texts, batch_size=size), len(texts))
    baseline = rates[THREADS[0], 1]
    for (threads, size), per_s in rates.items():
        print(f"BENCH MiniLM {threads} thread{'s' if threads > 1 else ''}, batch {size:>2}: {per_s:7.1f} texts/s  "
              f"{per_s * tokens / len(texts):8.0f} tokens/s  × {per_s / baseline:.2f} (1 thread, batch 1)  × {per_s / ngram:.4f} n-grams")
    assert all(rate > 0 for rate in rates.values())


def _fingerprint(embed, answers) -> np.ndarray:
    mean = np.mean(embed(answers), axis=0)
    return mean / np.linalg.norm(mean)


def _smollm2_replies(system: str) -> dict:
    from audits.chat.services import LOCAL_CHAT_STOP, LOCAL_CHAT_TEMPERATURE
    from studio.llm import gateway
    from studio.llm.gateway import StepConfig
    from studio.llm.local_models import LOCAL_CHAT_MODEL

    config = StepConfig(model=LOCAL_CHAT_MODEL, max_tokens=80, temperature=LOCAL_CHAT_TEMPERATURE, stop=LOCAL_CHAT_STOP, seed=7)
    asks = {"SmolLM2: day": "How was your day?", "SmolLM2: python": "Write me a Python function that reverses a string."}
    return {name: gateway.complete([{"role": "system", "content": system}, {"role": "user", "content": q}], config).text
            for name, q in asks.items()}


def test_drift_of_in_and_off_character_replies_under_ngrams_and_minilm():
    spaces = {"n-grams": lambda ts: np.array([offline_embedding(t) for t in ts]),
              "MiniLM": lambda ts: np.array(local_embeddings.encode(ts)[0])}
    print("\nBENCH drift (cosine distance to the 50-answer fingerprint; default threshold 0.30)")
    gaps = []
    for brief in BRIEFS:
        system = persona_system_prompt(offline_documents(brief))
        answers = _answers(system, SCENARIOS[:50])
        phrase = persona_from_system(system)["phrases"][0]
        replies = {
            "offline reply: day": _answers(system, ["How was your day?"])[0],
            "offline reply: work": _answers(system, ["Tell me about your work."])[0],
            "own phrase, new sentence": f"{phrase} The morning was slow, but I kept at it the whole way, as I always do.",
            "same sentence, no phrase": "The morning was slow, but I kept at it the whole way, as I always do.",
            **_smollm2_replies(system),
            **OFF_CHARACTER,
        }
        prints = {name: {} for name in replies}
        for space, embed in spaces.items():
            reference = _fingerprint(embed, answers)
            vectors = embed(list(replies.values()))
            for name, vector in zip(replies, vectors):
                prints[name][space] = 1 - float(vector @ reference)
            in_char = max(prints[n][space] for n in ("offline reply: day", "offline reply: work"))
            gaps.append((space, min(prints[n][space] for n in OFF_CHARACTER) - in_char))
        print(f"BENCH {brief[:60]}")
        for name, by_space in prints.items():
            print(f"BENCH   {name:26s} " + "  ".join(f"{s} {d:.3f}" for s, d in by_space.items())
                  + f"   | {replies[name][:70]!r}")
    for space in spaces:
        print(f"BENCH {space}: nearest off-character minus farthest offline reply, per persona: "
              + ", ".join(f"{gap:+.3f}" for s, gap in gaps if s == space))
    assert all(gap > 0 for _, gap in gaps)
