"""Two trait profiles compared: each trait's rating difference with a 95 % interval, the traits most boosted and most
suppressed, and the Spearman rank correlation of the two profiles. No Django.

The two profiles come from independent runs (different models answering, and different draws of prompts), so the
interval of a difference comes from the two bootstraps side by side: round r of the difference is round r of the
second profile's bootstrap minus round r of the first's, each fitted as audits.reviews.ratings fits a board. Both are
rated on the traits the two profiles share, so they sit on one scale (Bradley–Terry ratings are centred per fit).
"""

from __future__ import annotations

import numpy as np

from audits.reviews.ratings import PRIOR, Votes, bradley_terry, to_elo_scale, win_matrices

TOP = 5
MIN_CHANGE = 0.5  # Elo points: a smaller difference is rounding (two traits fitted alike), not a change


def bootstrap_ratings(judgments, traits: list[str], *, rounds: int, seed: int, prior: float = PRIOR) -> tuple[np.ndarray, np.ndarray]:
    """(point ratings (n,), bootstrap ratings (rounds × n)) on the Elo scale for `traits`, from (first, second, shown)
    judgments among them (others left out); the same fit as trait_ratings."""
    index = {trait: i for i, trait in enumerate(traits)}
    rows = [(index[a], index[b], 1.0 if shown == a else 0.0) for a, b, shown in judgments if a in index and b in index]
    if not rows:
        return np.full(len(traits), 1000.0), np.full((rounds, len(traits)), 1000.0)
    votes = Votes.from_rows(rows, len(traits))
    cells, counts = votes.cells()
    point = to_elo_scale(bradley_terry(win_matrices(cells, counts, votes.sources)[0], prior=prior))
    rng = np.random.default_rng(seed)
    resampled = rng.multinomial(len(votes), counts / counts.sum(), size=rounds)
    return point, to_elo_scale(bradley_terry(win_matrices(cells, resampled, votes.sources), prior=prior))


def _rated(judgments) -> set[str]:
    return {t for a, b, _ in judgments for t in (a, b)}


def rating_differences(before, after, *, rounds: int = 1000, seed: int = 0) -> list[dict]:
    """Per trait offered in both profiles: after − before (Elo points), its 95 % interval (2.5/97.5 % of the
    round-by-round differences of the two bootstraps) and whether the interval excludes 0; largest rise first."""
    traits = sorted(_rated(before) & _rated(after))
    if len(traits) < 2:
        return []
    point_before, samples_before = bootstrap_ratings(before, traits, rounds=rounds, seed=seed)
    point_after, samples_after = bootstrap_ratings(after, traits, rounds=rounds, seed=seed + 1)
    deltas = samples_after - samples_before
    low, high = np.percentile(deltas, [2.5, 97.5], axis=0)
    rows = [{"trait": trait, "before": float(point_before[i]), "after": float(point_after[i]),
             "difference": float(point_after[i] - point_before[i]), "low": float(low[i]), "high": float(high[i]),
             "clear": bool(low[i] > 0 or high[i] < 0)} for i, trait in enumerate(traits)]
    return sorted(rows, key=lambda row: (-row["difference"], row["trait"]))


def boosted_and_suppressed(differences: list[dict], top: int = TOP) -> tuple[list[dict], list[dict]]:
    """The `top` largest rises (largest first) and falls (largest fall first), of at least MIN_CHANGE Elo points."""
    boosted = [row for row in differences if row["difference"] >= MIN_CHANGE][:top]
    suppressed = sorted((row for row in differences if row["difference"] <= -MIN_CHANGE),
                        key=lambda r: (r["difference"], r["trait"]))[:top]
    return boosted, suppressed


def average_ranks(values) -> np.ndarray:
    """Ranks 1..n of `values`, ties sharing the mean of the ranks they span."""
    values = np.asarray(values, dtype=float)
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(first: dict[str, float], second: dict[str, float]) -> dict:
    """Spearman's ρ of two profiles (trait → rating) over the traits both rated: Pearson's r of their average ranks.
    ρ is None with fewer than 3 shared traits or when either side has every rating equal."""
    shared = sorted(first.keys() & second.keys())
    result = {"rho": None, "traits": len(shared)}
    if len(shared) < 3:
        return result
    a = average_ranks([first[t] for t in shared])
    b = average_ranks([second[t] for t in shared])
    a, b = a - a.mean(), b - b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    if denominator == 0:
        return result
    result["rho"] = float((a * b).sum() / denominator)
    return result
