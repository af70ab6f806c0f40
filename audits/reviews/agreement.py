"""Inter-reviewer agreement: Cohen's κ for two reviewers, Krippendorff's α for many, and each reviewer's
agreement with the majority of the others. No Django."""

from __future__ import annotations

from collections import Counter

import numpy as np

# Plain-words bands for α (lower edges, inclusive): poor < 0.4 ≤ moderate < 0.6 ≤ substantial < 0.8 ≤ strong.
ALPHA_BANDS = ((0.8, "strong"), (0.6, "substantial"), (0.4, "moderate"))
ALPHA_WARNING_BELOW = 0.4


def alpha_band(alpha: float | None) -> str | None:
    """The plain-words band of an α value; None when α is undefined."""
    if alpha is None:
        return None
    return next((name for edge, name in ALPHA_BANDS if alpha >= edge), "poor")


def majority(labels) -> object | None:
    """The single most common label, or None when there are no labels or the top labels tie."""
    ranked = Counter(labels).most_common(2)
    if not ranked or (len(ranked) == 2 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def leave_one_out_agreement(labels_by_unit: dict) -> dict:
    """Per reviewer: (agreements, n) with the majority of the *other* reviewers.

    labels_by_unit: unit → {reviewer: label}. A unit counts for a reviewer when they labelled it and the
    others have a majority (one other reviewer is a majority of one); units where the others tie or
    nobody else labelled are skipped. Counting a reviewer in their own majority would make every
    reviewer of a two-person pool agree 100 % on whatever they agreed on.
    """
    tally: dict = {}
    for labels in labels_by_unit.values():
        for reviewer, label in labels.items():
            others = majority(other for name, other in labels.items() if name != reviewer)
            agreed, n = tally.get(reviewer, (0, 0))
            if others is not None:
                agreed, n = agreed + (label == others), n + 1
            tally[reviewer] = (agreed, n)
    return tally


def cohen_kappa(first, second, categories=None) -> float | None:
    """Cohen's κ of two reviewers' labels on the same items (paired lists). None when undefined.

    κ = (p_o − p_e) / (1 − p_e): observed agreement corrected for the agreement expected by chance
    from each reviewer's own label frequencies.
    """
    first, second = list(first), list(second)
    if len(first) != len(second):
        raise ValueError("both reviewers must label the same items")
    if not first:
        return None
    labels = sorted(set(first) | set(second) | set(categories or ()), key=str)
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    np.add.at(table, ([index[x] for x in first], [index[y] for y in second]), 1)
    total = table.sum()
    observed = np.trace(table) / total
    expected = (table.sum(axis=1) @ table.sum(axis=0)) / total**2
    if expected == 1.0:
        return 1.0 if observed == 1.0 else None  # both always gave the same single label
    return float((observed - expected) / (1.0 - expected))


def krippendorff_alpha(data, *, level: str = "ordinal") -> float | None:
    """Krippendorff's α for reliability data: rows = reviewers, columns = units, NaN = no rating.

    level: "nominal", "ordinal" (ranks of the values seen) or "interval". Units rated by fewer than
    two reviewers are not pairable and are left out. None when fewer than two pairable values exist
    or the data show no variation at all.
    """
    matrix = np.asarray(data, dtype=float)
    if matrix.ndim != 2:
        raise ValueError("reliability data is a 2-D table: reviewers × units")
    pairable = (~np.isnan(matrix)).sum(axis=0) >= 2
    matrix = matrix[:, pairable]
    values = np.unique(matrix[~np.isnan(matrix)])
    if len(values) < 2:
        return None
    index = {v: i for i, v in enumerate(values)}
    coincidence = np.zeros((len(values), len(values)))
    for unit in matrix.T:
        present = [index[v] for v in unit[~np.isnan(unit)]]
        m = len(present)
        counts = np.bincount(present, minlength=len(values)).astype(float)
        # every ordered pair of different raters' values in this unit, weighted 1/(m − 1)
        coincidence += (np.outer(counts, counts) - np.diag(counts)) / (m - 1)
    marginals = coincidence.sum(axis=1)
    total = marginals.sum()
    delta = _distance(values, marginals, level)
    observed = (coincidence * delta).sum() / total
    expected = (np.outer(marginals, marginals) * delta).sum() / (total * (total - 1))
    if expected == 0:
        return None
    return float(1.0 - observed / expected)


def _distance(values: np.ndarray, marginals: np.ndarray, level: str) -> np.ndarray:
    k = len(values)
    if level == "nominal":
        return 1.0 - np.eye(k)
    if level == "interval":
        return (values[:, None] - values[None, :]) ** 2
    if level == "ordinal":
        # δ²(c, k) = (Σ_{g=c..k} n_g − (n_c + n_k)/2)², over the ranks between c and k
        cumulative = np.concatenate([[0.0], np.cumsum(marginals)])
        i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        low, high = np.minimum(i, j), np.maximum(i, j)
        between = cumulative[high + 1] - cumulative[low]
        return (between - (marginals[low] + marginals[high]) / 2.0) ** 2 * (i != j)
    raise ValueError(f"unknown level {level!r}: nominal, ordinal or interval")


def judge_human_kappa(judge_votes, human_votes) -> list[dict]:
    """Per judge model, Cohen's κ between its choice and the human majority's on the pairs both voted on.

    judge_votes: (pair, judge model, choice); human_votes: (pair, choice). A pair counts when its human votes have a
    majority (one vote is a majority of one); pairs where the humans tie among themselves are left out. κ is None
    when undefined (no such pair, or both always gave one and the same single label but not everywhere).
    """
    by_pair: dict = {}
    for pair, choice in human_votes:
        by_pair.setdefault(pair, []).append(choice)
    people = {pair: majority(choices) for pair, choices in by_pair.items()}
    columns: dict[str, tuple[list, list]] = {}
    for pair, model, choice in judge_votes:
        if people.get(pair) is not None:
            judge, human = columns.setdefault(model or "?", ([], []))
            judge.append(choice)
            human.append(people[pair])
    return [{"judge_model": model, "pairs": len(judge), "kappa": cohen_kappa(judge, human, ("a", "b", "tie"))}
            for model, (judge, human) in sorted(columns.items())]
