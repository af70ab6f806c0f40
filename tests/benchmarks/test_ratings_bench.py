"""Issue 6 figure: Bradley–Terry + 1,000-round bootstrap on 10,000 votes among 20 sources, vectorized
(audits/reviews/ratings.py) vs a straightforward per-vote Python loop doing the same bootstrap.

The loop resamples votes one by one (random.randrange), tallies wins in dicts and fits each round by
the same MM iterations in plain Python. It takes tens of ms per round here, so it runs LOOP_ROUNDS rounds
and its per-round time is scaled to 1,000 rounds (rounds are independent and identical in cost).
"""

import random
import statistics
import time

import numpy as np

from audits.reviews.ratings import Votes, bradley_terry_bootstrap

SOURCES, VOTES, ROUNDS, LOOP_ROUNDS = 20, 10_000, 1000, 50


def _votes(seed=11) -> Votes:
    rng = np.random.default_rng(seed)
    strengths = rng.normal(0, 0.6, SOURCES)
    a = rng.integers(0, SOURCES, VOTES)
    b = (a + rng.integers(1, SOURCES, VOTES)) % SOURCES
    p = 1 / (1 + np.exp(strengths[b] - strengths[a]))
    draw = rng.random(VOTES)
    outcome = np.where(draw < p - 0.05, 1.0, np.where(draw < p + 0.05, 0.5, 0.0))
    return Votes.from_rows(np.stack([a, b, outcome], axis=1), sources=SOURCES)


def _loop_bootstrap(rows, rounds, prior=0.1, iterations=2000, tolerance=1e-9, seed=0):
    """The per-vote Python version: same resampling distribution, same MM fit, same prior."""
    rng = random.Random(seed)
    n = len(rows)
    samples = []
    for _ in range(rounds):
        wins = [[0.0] * SOURCES for _ in range(SOURCES)]
        for _ in range(n):
            a, b, outcome = rows[rng.randrange(n)]
            wins[a][b] += outcome
            wins[b][a] += 1.0 - outcome
        p = [1.0] * SOURCES
        for _ in range(iterations):
            updated = []
            for i in range(SOURCES):
                won = sum(wins[i]) + prior
                denominator = sum((wins[i][j] + wins[j][i]) / (p[i] + p[j]) for j in range(SOURCES) if j != i)
                updated.append(won / (denominator + 2 * prior / (p[i] + 1.0)))
            mean_log = sum(np.log(u) for u in updated) / SOURCES
            updated = [u / np.exp(mean_log) for u in updated]
            change = max(abs(np.log(u) - np.log(q)) for u, q in zip(updated, p))
            p = updated
            if change < tolerance:
                break
        samples.append([400 * np.log10(x) + 1000 for x in p])
    return samples


def test_bradley_terry_bootstrap_vectorized_vs_a_per_vote_loop():
    votes = _votes()
    rows = list(zip(votes.a.tolist(), votes.b.tolist(), votes.outcome.tolist()))
    bradley_terry_bootstrap(votes, rounds=20)  # warm-up
    vectorized = []
    for seed in range(3):
        started = time.perf_counter()
        ratings = bradley_terry_bootstrap(votes, rounds=ROUNDS, seed=seed)
        vectorized.append(time.perf_counter() - started)
    started = time.perf_counter()
    loop_samples = _loop_bootstrap(rows, LOOP_ROUNDS)
    loop_per_round = (time.perf_counter() - started) / LOOP_ROUNDS
    fast = statistics.median(vectorized)
    # same model: the loop's rounds fall inside the vectorized intervals for (almost) every source
    inside = np.mean([[r.low <= s[r.source] <= r.high for r in ratings] for s in loop_samples])
    assert inside > 0.8
    print(
        f"\nBENCH (6) Bradley–Terry + {ROUNDS}-round bootstrap, {VOTES:,} votes, {SOURCES} sources:"
        f" vectorized {fast:.2f} s (median of 3); per-vote Python loop {loop_per_round * 1000:.0f} ms/round"
        f" x {ROUNDS} = {loop_per_round * ROUNDS:.0f} s (measured on {LOOP_ROUNDS} rounds) ->"
        f" {loop_per_round * ROUNDS / fast:.0f}x faster (target >= 20x)"
        f"\n    rounds: {' '.join(f'{t:.2f}' for t in vectorized)} s; loop samples inside the vectorized 95% intervals: {inside:.0%}"
    )
