"""The unified training mix: target shares per category, checked, and sampled to match. No Django; numpy.

A composition gives each category of `CATEGORIES` a target share in percent. The shares must sum
to 100 and no category may take more than `DOMINANCE_LIMIT` (40%): one adapter is to learn a
behavioral range, and a mix that one style dominates teaches that style (mode collapse).

Defaults. The issue's example ranges (`DEFAULT_RANGES`: technical 25–30%, instructional 20–25%, …,
ethical 3–5%) cannot all be met at their lower bounds, which sum to 103%. `DEFAULT_SHARES` takes
the lower bounds and shaves one point off each of the three largest (technical 24, instructional 19,
analytical 14): the smallest change that sums to exactly 100, and the one that costs the big
categories least in relative terms. `specialized` gets no default share (it is opt-in).

Sampling. For a total T, each category's count is T × share / 100 rounded by largest remainder
(Hamilton's method: floors, then the leftover rows to the largest fractional parts). Each count is
then within one row of its exact quota, so every achieved share is within 100 / T percentage points
of its target: within ±1 pp from T = 100 rows on, and no other integer split does better. When a
category has too few rows for its quota, the mix shrinks (the largest total whose counts the data
holds) rather than giving its rows to other categories: the shares are the point of the mix.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from training_jobs.categories import CATEGORIES

DOMINANCE_LIMIT = 40.0  # percent: no category may take more of the mix
SUM_TOLERANCE = 0.01  # percentage points
DEFAULT_RANGES: dict[str, tuple[float, float]] = {
    "technical": (25, 30), "instructional": (20, 25), "analytical": (15, 20), "conversational": (12, 15),
    "empathetic": (10, 12), "creative": (8, 10), "tool": (5, 8), "factual": (5, 8), "ethical": (3, 5),
}
DEFAULT_SHARES: dict[str, float] = {
    "technical": 24, "instructional": 19, "analytical": 14, "conversational": 12, "empathetic": 10, "creative": 8,
    "tool": 5, "factual": 5, "ethical": 3,
}


@dataclass(frozen=True)
class Issue:
    """One pre-flight finding: `field` is the dotted path it is about ("composition.tool")."""

    level: Literal["error", "warning"]
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def __getitem__(self, key: str):
        """issue["field"] etc.: an issue also reads like the pre-flight's {level, field, message} dicts."""
        if key not in ("level", "field", "message"):
            raise KeyError(key)
        return getattr(self, key)

    def as_dict(self) -> dict:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True)
class Composition:
    """Target share (percent) of every category, in `CATEGORIES` order; 0 for the categories left out."""

    shares: dict[str, float]

    @property
    def active(self) -> tuple[str, ...]:
        """The categories with a target above zero."""
        return tuple(c for c in CATEGORIES if self.shares.get(c, 0) > 0)

    def as_dict(self) -> dict[str, float]:
        """The non-zero shares, as `parse_composition` takes them back."""
        return {c: self.shares[c] for c in self.active}

    def allocate(self, total: int) -> dict[str, int]:
        """Rows per active category for a mix of `total` rows, by largest remainder (they sum to `total`)."""
        return _largest_remainder({c: self.shares[c] for c in self.active}, total)


def parse_composition(data: Mapping) -> Composition:
    """A validated composition from {category: share in percent}; ValueError naming the first problem.

    Messages start with the path they are about: "composition.<category>: …" or "composition: …".
    """
    if not isinstance(data, Mapping):
        raise ValueError("composition: expected an object of category → share in percent")
    shares = dict.fromkeys(CATEGORIES, 0.0)
    for category, share in data.items():
        if category not in CATEGORIES:
            raise ValueError(f"composition.{category}: unknown category (known: {', '.join(CATEGORIES)})")
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not math.isfinite(share):
            raise ValueError(f"composition.{category}: share must be a number of percent, got {share!r}")
        if not 0 <= share <= 100:
            raise ValueError(f"composition.{category}: share must be from 0 to 100 percent, got {share:g}")
        shares[category] = float(share)
    for category, share in shares.items():
        if share > DOMINANCE_LIMIT:
            raise ValueError(f"composition.{category}: {share:g}% dominates the mix; no category may take more than "
                             f"{DOMINANCE_LIMIT:g}%")
    total = sum(shares.values())
    if abs(total - 100) > SUM_TOLERANCE:
        raise ValueError(f"composition: shares sum to {round(total, 4):g}, not 100")
    return Composition(shares)


DEFAULT_COMPOSITION = parse_composition(DEFAULT_SHARES)


def check_available(composition: Composition, counts: Mapping[str, int], total: int | None = None) -> list[Issue]:
    """Errors (a category with a target and no rows) and warnings (too few rows for `total`) before sampling.

    With `total` None the mix takes the largest total the data holds, so only missing categories are issues.
    """
    issues = [Issue("error", f"composition.{c}", f"no rows in the data for this category (target {composition.shares[c]:g}%)")
              for c in composition.active if counts.get(c, 0) <= 0]
    if issues or total is None:
        return issues
    needed = composition.allocate(total)
    short = [c for c in composition.active if counts.get(c, 0) < needed[c]]
    if short:
        supported = largest_total(composition, counts)
        for c in short:
            issues.append(Issue("warning", f"composition.{c}", f"needs {needed[c]:,} rows for {composition.shares[c]:g}% of "
                                                               f"{total:,}, the data has {counts.get(c, 0):,}: the mix "
                                                               f"will have {supported:,} rows, not {total:,}"))
    return issues


def largest_total(composition: Composition, counts: Mapping[str, int]) -> int:
    """The largest mix whose largest-remainder counts the data holds (0 when an active category has no rows)."""
    active = composition.active
    if not active or any(counts.get(c, 0) <= 0 for c in active):
        return 0
    weight = sum(composition.shares[c] for c in active)
    fraction = {c: composition.shares[c] / weight for c in active}
    # A count is at least floor(quota), so T × fraction < rows + 1 bounds T from above; at or below
    # rows / fraction every ceil(quota) fits. Largest remainder is not monotone in T (the Alabama
    # paradox), so walk down from the upper bound: it is at most ~1 / min(fraction) steps.
    upper = min(math.ceil((counts[c] + 1) / fraction[c]) - 1 for c in active)
    for total in range(upper, -1, -1):  # min(rows / fraction) fits, so this stops there at the latest
        if all(n <= counts[c] for c, n in composition.allocate(total).items()):
            return total
    return 0


def mix_explanation(composition: Composition, counts: Mapping[str, int], total: int, requested_total: int | None) -> str:
    """Why the mix takes `total` of the rows the datasets hold, in words: "uses 181 of 604 rows because …"."""
    held = sum(counts.values())
    head = f"The mix uses {total:,} of the {held:,} rows because "
    active = [c for c in composition.active if counts.get(c, 0) > 0]
    unshared = sum(n for c, n in counts.items() if c not in composition.active)
    tail = f" ({unshared:,} rows are in categories with no share.)" if unshared else ""
    if requested_total is not None and requested_total <= total:
        return head + f"“Total rows” asks for {requested_total:,}." + tail
    if not active:
        return head + "no category with a share has rows." + tail
    weight = sum(composition.shares[c] for c in active)
    scarce = min(active, key=lambda c: counts[c] * weight / composition.shares[c])
    share = composition.shares[scarce]
    return (head + f"{scarce} has only {counts[scarce]:,} rows and is to be {share:g}% of the mix: at that share its rows "
            f"carry at most {total:,} rows in all, and the other categories' spare rows stay out so every share holds. "
            f"Add {scarce} rows or lower its share to use more." + tail)


@dataclass(frozen=True)
class Mix:
    """The sampled rows: `ids` shuffled, and per category its ids, count, achieved share and target."""

    ids: list[int]
    by_category: dict[str, list[int]]
    counts: dict[str, int]
    shares: dict[str, float]  # achieved, percent
    targets: dict[str, float]  # percent
    total: int
    requested_total: int | None
    seed: int
    ranges: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_RANGES))

    def ids_by_category(self) -> dict[str, list[int]]:
        """The mix's ids per category (copies): what `curriculum.phase_rows` splits into phases."""
        return {c: list(ids) for c, ids in self.by_category.items()}

    def max_deviation(self) -> float:
        """The largest |achieved − target| in percentage points."""
        return max((abs(self.shares[c] - self.targets[c]) for c in self.targets), default=0.0)

    def bars(self) -> list[dict]:
        """Chart rows, in `CATEGORIES` order: target and achieved share (percent) against the reference range."""
        rows = []
        for c in CATEGORIES:
            if self.targets.get(c, 0) <= 0 and self.counts.get(c, 0) <= 0:
                continue
            low, high = self.ranges.get(c, (None, None))
            rows.append({"category": c, "target": self.targets.get(c, 0.0), "achieved": round(self.shares.get(c, 0.0), 2),
                         "count": self.counts.get(c, 0), "low": low, "high": high})
        return rows

    def as_dict(self) -> dict:
        """What a job stores beside the mix (no ids): counts, shares, targets and the totals."""
        return {"total": self.total, "requested_total": self.requested_total, "seed": self.seed, "counts": self.counts,
                "shares": {c: round(s, 4) for c, s in self.shares.items()}, "targets": self.targets}


def sample_mix(ids_by_category: Mapping[str, Sequence[int]], composition: Composition, total: int | None, seed: int) -> Mix:
    """Rows drawn without replacement to match `composition`; seeded, so the same input gives the same mix.

    `total` None takes the largest total the data holds at these shares; a `total` the data cannot
    hold is shrunk to that largest total (see `check_available` for the warning). ValueError when an
    active category has no rows, or `total` is negative.
    """
    if total is not None and total < 0:
        raise ValueError(f"composition: total must be 0 or more, got {total}")
    pools = {c: sorted({int(i) for i in ids_by_category.get(c, ())}) for c in composition.active}
    empty = [c for c, pool in pools.items() if not pool]
    if empty:
        raise ValueError(f"composition.{empty[0]}: no rows in the data for this category "
                         f"(target {composition.shares[empty[0]]:g}%)")
    supported = largest_total(composition, {c: len(pool) for c, pool in pools.items()})
    size = supported if total is None else min(total, supported)
    counts = composition.allocate(size)
    rng = np.random.default_rng(seed)
    chosen = {c: [pools[c][j] for j in rng.choice(len(pools[c]), size=counts[c], replace=False)] for c in composition.active}
    ids = [i for c in composition.active for i in chosen[c]]
    order = rng.permutation(len(ids))
    return Mix(
        ids=[ids[j] for j in order], by_category=chosen, counts=counts,
        shares={c: 100 * counts[c] / size if size else 0.0 for c in composition.active},
        targets={c: composition.shares[c] for c in composition.active},
        total=size, requested_total=total, seed=seed,
    )


def _largest_remainder(weights: Mapping[str, float], total: int) -> dict[str, int]:
    """`total` split in proportion to `weights`: floors first, then one more to the largest remainders.

    Ties go to the earlier key, so the split is deterministic.
    """
    weight = sum(weights.values())
    if total <= 0 or weight <= 0:
        return dict.fromkeys(weights, 0)
    quotas = {k: total * w / weight for k, w in weights.items()}
    counts = {k: math.floor(q) for k, q in quotas.items()}
    left = total - sum(counts.values())
    position = {k: i for i, k in enumerate(weights)}
    by_remainder = sorted(weights, key=lambda k: (-(quotas[k] - counts[k]), position[k]))
    for k in by_remainder[:left]:
        counts[k] += 1
    return counts
