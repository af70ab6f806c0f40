"""Ratings from pairwise votes: online Elo and Bradley–Terry (MLE), with bootstrap intervals. No Django.

Votes are (a, b, outcome) with sources as integer indices 0..n-1 and outcome 1.0 (a won),
0.0 (b won) or 0.5 (tie; counts half a win each way, as in LMSYS FastChat).

Bootstrap without a per-vote loop: resampling N votes with replacement is the same as drawing
the counts of each distinct vote "cell" (a, b, outcome) from a multinomial(N, cell frequencies).
With 20 sources there are at most 20·19·3 cells, so 1,000 rounds are a (1000 × cells) count
matrix, and Bradley–Terry is fitted for all rounds at once (batched MM iterations). Online Elo is
sequential in the votes by nature; its bootstrap runs the rounds side by side (vectors of rounds)
over a resampled order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ELO_SCALE = 400.0
ELO_BASE = 1000.0
ELO_K = 4.0  # LMSYS' online Elo K: small, since many votes per source


@dataclass(frozen=True)
class Votes:
    a: np.ndarray  # int source index of the first output
    b: np.ndarray  # int source index of the second output
    outcome: np.ndarray  # float: 1 = a won, 0 = b won, 0.5 = tie
    sources: int

    @classmethod
    def from_rows(cls, rows, sources: int | None = None) -> "Votes":
        """rows: iterable of (a, b, outcome)."""
        array = np.asarray(list(rows), dtype=float).reshape(-1, 3)
        a, b = array[:, 0].astype(int), array[:, 1].astype(int)
        if np.any(a == b):
            raise ValueError("a vote compares a source with itself")
        if not np.all(np.isin(array[:, 2], (0.0, 0.5, 1.0))):
            raise ValueError("outcomes are 1 (a won), 0 (b won) or 0.5 (tie)")
        n = int(max(a.max(initial=-1), b.max(initial=-1)) + 1) if sources is None else sources
        return cls(a, b, array[:, 2], n)

    def __len__(self) -> int:
        return len(self.outcome)

    def cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (a, b, outcome) cells → (cells (k × 3), counts (k,))."""
        stacked = np.stack([self.a, self.b, self.outcome * 2], axis=1).astype(int)
        cells, counts = np.unique(stacked, axis=0, return_counts=True)
        return cells, counts


def win_matrices(cells: np.ndarray, counts: np.ndarray, sources: int) -> np.ndarray:
    """Win matrices W[..., i, j] = wins of i over j (ties ½ each) for count vectors (rounds × cells)."""
    counts = np.atleast_2d(counts).astype(float)
    a, b, half = cells[:, 0], cells[:, 1], cells[:, 2] / 2.0  # outcome for a: 1, 0.5 or 0
    flat = np.zeros((counts.shape[0], sources * sources))
    # a over b with weight outcome; b over a with weight 1 - outcome
    np.add.at(flat.T, a * sources + b, (counts * half).T)
    np.add.at(flat.T, b * sources + a, (counts * (1.0 - half)).T)
    return flat.reshape(counts.shape[0], sources, sources)


def bradley_terry(wins: np.ndarray, *, prior: float = 0.1, iterations: int = 2000, tolerance: float = 1e-9) -> np.ndarray:
    """Bradley–Terry strengths by MM (Hunter 2004), for one win matrix (n × n) or a stack (r × n × n).

    Returns log-strengths centred to mean 0. `prior` adds `prior` wins and losses against a virtual
    opponent of strength 1 for every source, so a source that never won (or never lost) keeps a
    finite rating; prior=0 is the plain MLE (finite only when the comparison graph allows it).
    """
    stack = wins[None] if wins.ndim == 2 else wins
    games = stack + np.swapaxes(stack, 1, 2)
    won = stack.sum(axis=2) + prior
    p = np.ones(stack.shape[:2])
    for _ in range(iterations):
        denominator = (games / (p[:, :, None] + p[:, None, :])).sum(axis=2) + 2 * prior / (p + 1.0)
        updated = won / np.where(denominator > 0, denominator, np.inf)
        updated = np.where(updated > 0, updated, 1e-300)
        updated /= np.exp(np.log(updated).mean(axis=1, keepdims=True))  # fix the scale: geometric mean 1
        change = np.abs(np.log(updated) - np.log(p)).max()
        p = updated
        if change < tolerance:
            break
    logs = np.log(p)
    logs -= logs.mean(axis=1, keepdims=True)
    return logs[0] if wins.ndim == 2 else logs


def to_elo_scale(log_strengths: np.ndarray) -> np.ndarray:
    """Log-strengths (natural) → the Elo scale (400 points = 10× odds), centred at 1000."""
    return ELO_BASE + ELO_SCALE * log_strengths / np.log(10.0)


def online_elo(votes: Votes, order: np.ndarray | None = None, *, k: float = ELO_K, rounds: int | None = None) -> np.ndarray:
    """Online Elo over the votes in `order` (rounds × N indices, or one order). Returns (rounds ×) sources."""
    orders = np.atleast_2d(np.arange(len(votes)) if order is None else order)
    ratings = np.full((orders.shape[0], votes.sources), ELO_BASE)
    rows = np.arange(orders.shape[0])
    for step in range(orders.shape[1]):
        index = orders[:, step]
        a, b, outcome = votes.a[index], votes.b[index], votes.outcome[index]
        expected = 1.0 / (1.0 + 10 ** ((ratings[rows, b] - ratings[rows, a]) / ELO_SCALE))
        delta = k * (outcome - expected)
        ratings[rows, a] += delta
        ratings[rows, b] -= delta
    return ratings[0] if order is None or np.ndim(order) == 1 else ratings


@dataclass(frozen=True)
class Rating:
    source: int
    rating: float  # on the full data
    mean: float  # bootstrap mean
    std: float
    low: float  # 2.5 %
    high: float  # 97.5 %
    rank: int  # 1 + number of sources whose interval lies entirely above this one's


def _summaries(point: np.ndarray, samples: np.ndarray) -> list[Rating]:
    low, high = np.percentile(samples, [2.5, 97.5], axis=0)
    ranks = 1 + (low[None, :] > high[:, None]).sum(axis=1)  # sources clearly better than each source
    return [
        Rating(i, float(point[i]), float(samples[:, i].mean()), float(samples[:, i].std(ddof=1) if len(samples) > 1 else 0.0),
               float(low[i]), float(high[i]), int(ranks[i]))
        for i in range(len(point))
    ]


def bradley_terry_bootstrap(votes: Votes, *, rounds: int = 1000, seed: int = 0, prior: float = 0.1) -> list[Rating]:
    """Bradley–Terry ratings (Elo scale) with bootstrap mean, std, 95 % interval and interval-aware ranks."""
    cells, counts = votes.cells()
    point = to_elo_scale(bradley_terry(win_matrices(cells, counts, votes.sources)[0], prior=prior))
    rng = np.random.default_rng(seed)
    resampled = rng.multinomial(len(votes), counts / counts.sum(), size=rounds)
    samples = to_elo_scale(bradley_terry(win_matrices(cells, resampled, votes.sources), prior=prior))
    return _summaries(point, samples)


def elo_bootstrap(votes: Votes, *, rounds: int = 1000, seed: int = 0, k: float = ELO_K) -> list[Rating]:
    """Online Elo with bootstrap: each round replays a resample of the votes (with replacement) in random order."""
    rng = np.random.default_rng(seed)
    point = online_elo(votes, k=k)
    orders = rng.integers(0, len(votes), size=(rounds, len(votes)))
    return _summaries(point, online_elo(votes, orders, k=k))
