"""The rating and agreement maths against hand-computed cases and simulated votes."""

import math

import numpy as np
import pytest

from audits.reviews.agreement import cohen_kappa, krippendorff_alpha
from audits.reviews.ratings import (
    Votes, bradley_terry, bradley_terry_bootstrap, elo_bootstrap, online_elo, to_elo_scale, win_matrices,
)

NAN = math.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": 4 coders × 12 units, with gaps.
KRIPPENDORFF_EXAMPLE = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]


def _wins(rows, sources=None):
    votes = Votes.from_rows(rows, sources)
    cells, counts = votes.cells()
    return win_matrices(cells, counts, votes.sources)[0]


def test_a_three_source_bradley_terry_fit_matches_the_hand_solution():
    # 0 beats 1 two games to one, 1 beats 2 two to one, 0 beats 2 two to one. By symmetry s1 = 0 and
    # s0 = −s2 = x, and source 0's score equation is 4 = 3σ(x) + 3σ(2x): x = 0.46821 (solved by hand).
    rows = [(0, 1, 1), (0, 1, 1), (0, 1, 0), (1, 2, 1), (1, 2, 1), (1, 2, 0), (0, 2, 1), (0, 2, 1), (0, 2, 0)]
    strengths = bradley_terry(_wins(rows), prior=0)
    assert strengths == pytest.approx([0.46821, 0.0, -0.46821], abs=1e-4)
    sigma = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    assert 3 * sigma(strengths[0] - strengths[1]) + 3 * sigma(strengths[0] - strengths[2]) == pytest.approx(4, abs=1e-6)


def test_ties_count_half_a_win_each_way():
    wins = _wins([(0, 1, 0.5), (1, 0, 0.5), (0, 1, 1)])
    assert wins[0, 1] == 2.0 and wins[1, 0] == 1.0
    assert bradley_terry(wins, prior=0)[0] - bradley_terry(wins, prior=0)[1] == pytest.approx(math.log(2), abs=1e-6)


def test_a_source_that_never_won_keeps_a_finite_rating_with_the_prior():
    strengths = bradley_terry(_wins([(0, 1, 1)] * 5 + [(1, 2, 1)] * 5))
    assert np.all(np.isfinite(strengths)) and strengths[0] > strengths[1] > strengths[2]


def test_elo_scale_is_400_points_per_tenfold_odds():
    assert to_elo_scale(np.array([math.log(10), 0.0])) == pytest.approx([1400.0, 1000.0])


def test_online_elo_moves_the_winner_up_by_k_times_the_surprise():
    votes = Votes.from_rows([(0, 1, 1)], sources=2)
    assert online_elo(votes, k=32) == pytest.approx([1016.0, 984.0])


def _simulated(strengths, votes=4000, seed=7):
    """Votes drawn from the Bradley–Terry model itself (no ties: a tie model would shift the truth)."""
    rng = np.random.default_rng(seed)
    n = len(strengths)
    a = rng.integers(0, n, votes)
    b = (a + rng.integers(1, n, votes)) % n
    p_a = 1 / (1 + np.exp(strengths[b] - strengths[a]))
    outcome = (rng.random(votes) < p_a).astype(float)
    return Votes.from_rows(np.stack([a, b, outcome], axis=1), sources=n)


def test_bootstrap_intervals_cover_the_true_ratings_on_simulated_votes():
    truth = np.array([0.8, 0.3, 0.0, -0.4, -0.7])
    ratings = bradley_terry_bootstrap(_simulated(truth), rounds=300, seed=1, prior=0.0)
    true_elo = to_elo_scale(truth - truth.mean())
    covered = [r.low <= true_elo[r.source] <= r.high for r in ratings]
    assert sum(covered) >= 4, [(r.low, true_elo[r.source], r.high) for r in ratings]
    assert all(r.low < r.mean < r.high and r.std > 0 for r in ratings)
    assert [r.source for r in sorted(ratings, key=lambda r: -r.rating)] == [0, 1, 2, 3, 4]


def test_ranks_account_for_overlapping_intervals():
    truth = np.array([1.0, 0.98, -1.0])  # 0 and 1 are indistinguishable; 2 is clearly worse
    ratings = bradley_terry_bootstrap(_simulated(truth, votes=600), rounds=200, seed=2)
    assert ratings[0].rank == 1 and ratings[1].rank == 1 and ratings[2].rank == 3


def test_elo_bootstrap_gives_intervals_around_the_online_ratings():
    ratings = elo_bootstrap(_simulated(np.array([0.6, 0.0, -0.6]), votes=900), rounds=100, seed=3)
    assert ratings[0].mean > ratings[1].mean > ratings[2].mean
    assert all(r.low < r.high for r in ratings)


def test_cohen_kappa_on_a_known_table():
    # Table: A/A 20, A/B 5, B/A 10, B/B 15 (Wikipedia's worked example): p_o = 0.7, p_e = 0.5 → κ = 0.4
    first = ["A"] * 25 + ["B"] * 25
    second = ["A"] * 20 + ["B"] * 5 + ["A"] * 10 + ["B"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    assert cohen_kappa(["A", "B"], ["A", "B"]) == 1.0
    assert cohen_kappa([], []) is None
    with pytest.raises(ValueError):
        cohen_kappa(["A"], ["A", "B"])


@pytest.mark.parametrize("level, expected", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)])
def test_krippendorff_alpha_matches_the_published_example(level, expected):
    assert krippendorff_alpha(KRIPPENDORFF_EXAMPLE, level=level) == pytest.approx(expected, abs=5e-4)


def test_krippendorff_alpha_is_one_for_perfect_agreement_and_undefined_without_variation():
    assert krippendorff_alpha([[1, 2, 3, 4], [1, 2, 3, 4]]) == pytest.approx(1.0)
    assert krippendorff_alpha([[3, 3], [3, 3]]) is None
