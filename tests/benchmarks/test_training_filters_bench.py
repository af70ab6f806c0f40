"""(b) of issue 7's Measure: the online quality filters (training_jobs/filters.py).

- time on 2n vs n characters of adversarial repetitive text, for several kinds of loop (word loops, line
  loops, character loops with no spaces, a mix), every filter on (no length cap, markers and a system
  prompt given so the leak and marker filters run): the ratio should be ~2 (target ≤ 2.3: linear);
- samples/s on 10,000 realistic samples: the offline engine's in-character chat replies
  (`studio.llm.offline.engine.chat_reply`) from 20 personas' system prompts (`persona_system_prompt` of
  `offline_documents(brief)`), each checked with its persona's markers and system prompt.

Best of several runs; timing is printed, never asserted (only sanity is).

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_training_filters_bench.py -s -q
"""

import time

from personas.prompting import persona_system_prompt
from studio.llm.offline.engine import chat_reply
from tests.benchmarks.generation_services import HABITS, OCCUPATIONS, PLACES, offline_documents
from training_jobs.filters import FilterConfig, FilterStats, QualityFilter

N_CHARS = 500_000
REPEATS = 5
SAMPLES = 10_000
PERSONAS = 20
QUESTIONS = ["What do you do on a Sunday?", "Hello!", "Tell me about your work.", "What scares you most?",
             "Why do you keep at it?", "What did your mother teach you?", "Where would you go if you could leave?",
             "What makes you angry?", "Good evening.", "Tell me about the last time you laughed."]
MARKERS = ('"Forgive me,"', '"I\'m sorry,"')

ADVERSARIAL_UNITS = {
    "word loop": "I'm not angry; I'm taking notes. ",
    "line loop": "Leave it better than you found it.\n",
    "char loop": "ha",
    "near loop": "the tram {i} the radio {i} the harbour ",  # n-grams that almost repeat
    "mix": "Forgive me.\nha ha ha ha\nabababab I'm taking notes; ",
}


def adversarial(kind: str, chars: int) -> str:
    unit = ADVERSARIAL_UNITS[kind]
    if "{i}" in unit:
        parts, total, i = [], 0, 0
        while total < chars:
            part = unit.format(i=i % 97)
            parts.append(part)
            total += len(part)
            i += 1
        return "".join(parts)[:chars]
    return (unit * (chars // len(unit) + 1))[:chars]


def best_time(function, repeats: int = REPEATS) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        timings.append(time.perf_counter() - started)
    return min(timings)


def realistic_samples(count: int) -> list[tuple[str, tuple[str, ...], str]]:
    """(reply, markers, system prompt) from PERSONAS offline personas, replies to varied questions."""
    personas = []
    for i in range(PERSONAS):
        brief = f"A {OCCUPATIONS[i % len(OCCUPATIONS)]} in {PLACES[(i * 5) % len(PLACES)]} who {HABITS[(i * 3) % len(HABITS)]}."
        documents = offline_documents(brief)
        personas.append((persona_system_prompt(documents), tuple(documents["mask"]["signature_phrases"])))
    samples = []
    for i in range(count):
        system, markers = personas[i % PERSONAS]
        messages = [{"role": "system", "content": system}, {"role": "user", "content": QUESTIONS[(i // PERSONAS) % len(QUESTIONS)]}]
        samples.append((chat_reply(messages, seed=i), markers, system))
    return samples


def test_filters_time_is_linear_on_adversarial_text_and_samples_per_second_on_realistic_ones():
    quality = QualityFilter(FilterConfig(max_chars=None, max_words=None))
    system = persona_system_prompt(offline_documents("A tram driver in Porto who restores old radios."))

    ratios = {}
    for kind in ADVERSARIAL_UNITS:
        small, large = adversarial(kind, N_CHARS), adversarial(kind, 2 * N_CHARS)
        result = quality.check(small, markers=MARKERS, system_prompt=system)
        assert "repetition" in result.reasons, (kind, result.verdicts)  # the loops are caught
        t_small = best_time(lambda: quality.check(small, markers=MARKERS, system_prompt=system))
        t_large = best_time(lambda: quality.check(large, markers=MARKERS, system_prompt=system))
        ratios[kind] = t_large / t_small
        print(f"BENCH filters adversarial {kind:<9}: n={N_CHARS:,} chars {t_small * 1e3:7.1f} ms, "
              f"2n {t_large * 1e3:7.1f} ms, ratio {ratios[kind]:.2f} (target ≤ 2.3)")
    worst = max(ratios, key=ratios.get)
    print(f"BENCH filters adversarial 2n/n ratio: worst {ratios[worst]:.2f} ({worst}), "
          f"mean {sum(ratios.values()) / len(ratios):.2f} (target ≤ 2.3)")

    samples = realistic_samples(SAMPLES)
    realistic = QualityFilter()  # the default configuration, as a stage runs it

    def run_all():
        stats = FilterStats()
        for text, markers, prompt in samples:
            stats.add(realistic.check(text, markers=markers, system_prompt=prompt))
        return stats

    stats = run_all()  # warm the per-prompt shingle caches (as the first samples of a stage do)
    seconds = best_time(run_all, repeats=3)
    mean_chars = sum(len(text) for text, _, _ in samples) / len(samples)
    print(f"BENCH filters realistic: {SAMPLES:,} samples ({PERSONAS} personas, mean {mean_chars:.0f} chars) in "
          f"{seconds:.3f} s = {SAMPLES / seconds:,.0f} samples/s; kept {stats.kept:,}, drop rate {stats.drop_rate:.2%}, "
          f"marker rate {stats.marker_rate:.0%}, drops {dict(stats.drops) or '{}'}")
    print(f"BENCH filters summary: adversarial 2n/n ratio {ratios[worst]:.2f} (worst, target ≤ 2.3); "
          f"{SAMPLES / seconds:,.0f} samples/s on realistic samples")
    assert stats.samples == SAMPLES and stats.drop_rate < 0.05
