"""The rating and agreement maths against hand-computed cases and simulated votes."""

import math

import numpy as np
import pytest

from scipy.optimize import minimize

from audits.reviews.agreement import alpha_band, cohen_kappa, krippendorff_alpha, leave_one_out_agreement, majority
from audits.reviews.ratings import (
    Votes, bradley_terry, bradley_terry_bootstrap, bradley_terry_posterior, comparison_components, decided_by_data,
    elo_bootstrap, online_elo, standings, to_elo_scale, win_matrices,
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


# --- Bradley–Terry with its prior, against independent computations ------------------------------------


def _negative_log_posterior(theta, rows, prior):
    """Written out vote by vote: a tie is half a win each way; each source has `prior` wins and losses against
    a virtual opponent of log-strength 0."""
    total = 0.0
    for a, b, outcome in rows:
        gap = theta[a] - theta[b]
        total += outcome * np.logaddexp(0, -gap) + (1 - outcome) * np.logaddexp(0, gap)
    return total + prior * sum(np.logaddexp(0, -t) + np.logaddexp(0, t) for t in theta)


def test_the_bradley_terry_fit_with_its_prior_is_the_maximum_of_the_posterior():
    rows = [(0, 1, 1)] * 5 + [(0, 1, 0)] * 2 + [(1, 2, 1)] * 4 + [(2, 3, 0.5)] * 3 + [(0, 3, 1)] * 6 + [(3, 2, 1)]
    for prior in (0.1, 1.0, 3.0):
        optimum = minimize(_negative_log_posterior, np.zeros(4), args=(rows, prior), method="BFGS", options={"gtol": 1e-10}).x
        assert bradley_terry(_wins(rows), prior=prior) == pytest.approx(optimum - optimum.mean(), abs=1e-5)


def test_a_stack_of_sparse_lopsided_win_matrices_is_fitted_as_each_alone_and_as_scipy_maximises_it():
    """Bootstrap rounds are fitted side by side: each round's fit is the maximum of its own posterior, also where a
    source won all of many games (the Newton steps' length is capped there) or played once."""
    rng = np.random.default_rng(5)
    rounds = []
    for _ in range(6):
        rows = [(0, 1, 1)] * int(rng.integers(20, 60)) + [(1, 2, float(rng.integers(0, 2)))] + [(2, 3, 0.5)] * 2
        rows += [(int(a), int((a + 1 + rng.integers(0, 4)) % 5), float(rng.integers(0, 2))) for a in rng.integers(0, 5, 8)]
        rounds.append(rows)
    stack = np.stack([_wins(rows, 5) for rows in rounds])
    fitted = bradley_terry(stack, prior=1.0)
    for rows, row in zip(rounds, fitted):
        optimum = minimize(_negative_log_posterior, np.zeros(5), args=(rows, 1.0), method="BFGS", options={"gtol": 1e-10}).x
        assert row == pytest.approx(optimum - optimum.mean(), abs=1e-5)
        assert row == pytest.approx(bradley_terry(_wins(rows, 5), prior=1.0), abs=1e-9)


def test_a_prior_keeps_unanimous_outcomes_finite_and_below_the_data_free_extreme():
    strengths = bradley_terry(_wins([(0, 1, 1)] * 8), prior=1.0)
    optimum = minimize(_negative_log_posterior, np.zeros(2), args=([(0, 1, 1)] * 8, 1.0), method="BFGS").x
    assert strengths == pytest.approx(optimum - optimum.mean(), abs=1e-5)
    assert 0 < strengths[0] - strengths[1] < 5


def _grid_posterior_interval(wins: int, prior: float) -> tuple[float, float]:
    """Two sources, `wins` unanimous votes: the exact posterior of source 0's centred rating on a fine grid."""
    grid = np.linspace(-25, 25, 2001)
    first, second = np.meshgrid(grid, grid, indexing="ij")
    log_density = -wins * np.logaddexp(0, second - first) - prior * sum(
        np.logaddexp(0, t) + np.logaddexp(0, -t) for t in (first, second))
    density = np.exp(log_density - log_density.max()).ravel()
    centred = ((first - second) / 2).ravel()
    order = np.argsort(centred)
    cumulative = np.cumsum(density[order]) / density.sum()
    low, high = centred[order][np.searchsorted(cumulative, [0.025, 0.975])]
    return tuple(to_elo_scale(np.array([low, high])))


@pytest.mark.parametrize("wins", [1, 8, 36])
def test_unanimous_votes_get_the_posterior_interval_not_a_zero_width_one(wins):
    votes = Votes.from_rows([(0, 1, 1)] * wins)
    assert bradley_terry_bootstrap(votes, rounds=200)[0].low == bradley_terry_bootstrap(votes, rounds=200)[0].high  # the old bug
    [winner, loser] = bradley_terry_posterior(_wins([(0, 1, 1)] * wins), prior=1.0)
    low, high = _grid_posterior_interval(wins, 1.0)
    assert winner.low == pytest.approx(low, abs=15) and winner.high == pytest.approx(high, abs=30)
    assert winner.low < winner.rating < winner.high and winner.high - winner.low > 100
    assert loser.low == pytest.approx(2000 - winner.high, abs=1e-6)  # two sources: mirror images around 1000
    [standing, _] = standings(votes, rounds=200, min_votes=1)
    assert standing.interval == "posterior" and standing.prior_dominated and standing.bradley_terry.low == pytest.approx(low, abs=15)


def test_votes_that_are_all_ties_give_equal_ratings_with_a_real_interval():
    [first, second] = standings(Votes.from_rows([(0, 1, 0.5)] * 12), rounds=200, min_votes=10)
    assert first.bradley_terry.rating == pytest.approx(1000) == second.bradley_terry.rating
    assert first.interval == "posterior" and not first.prior_dominated  # the data decide; only the bootstrap cannot vary
    assert first.bradley_terry.low < 1000 < first.bradley_terry.high and first.rank == second.rank == 1


def test_the_data_decide_the_ratings_only_when_the_beat_graph_is_strongly_connected():
    assert decided_by_data(_wins([(0, 1, 1), (1, 2, 1), (2, 0, 1)]))  # a cycle
    assert not decided_by_data(_wins([(0, 1, 1), (1, 2, 1), (0, 2, 1)]))  # 0 never lost
    assert decided_by_data(_wins([(0, 1, 0.5), (1, 2, 1), (2, 1, 1)]))  # a tie counts half a win each way


# --- leaderboards by connected component ------------------------------------------------------------------


def test_a_disconnected_comparison_graph_gives_one_board_per_component_with_ranks_restarting():
    # {0, 1, 2} compared among themselves (0 best), {3, 4} only with each other (3 better), 5 never compared
    rows = ([(0, 1, 1)] * 9 + [(1, 0, 1)] * 3 + [(1, 2, 1)] * 9 + [(2, 1, 1)] * 3 + [(0, 2, 1)] * 10 + [(2, 0, 1)] * 2
            + [(3, 4, 1)] * 8 + [(4, 3, 1)] * 4)
    votes = Votes.from_rows(rows, sources=6)
    assert comparison_components(votes).tolist() == [1, 1, 1, 2, 2, 3]  # numbered by votes, most first
    board = {s.source: s for s in standings(votes, rounds=300, min_votes=10)}
    assert {board[i].component for i in (0, 1, 2)} == {1} and {board[i].component for i in (3, 4)} == {2}
    assert board[0].rank == 1 and board[3].rank == 1  # each component has its own first place
    assert board[2].rank > 1 and board[4].rank is not None
    # each component is centred on its own: no shared scale between them
    assert np.mean([board[i].bradley_terry.rating for i in (0, 1, 2)]) == pytest.approx(1000)
    assert np.mean([board[i].bradley_terry.rating for i in (3, 4)]) == pytest.approx(1000)
    assert board[5].component == 3 and board[5].votes == 0 and board[5].bradley_terry is None and board[5].rank is None
    assert not any(s.prior_dominated for s in board.values())


def test_a_source_with_too_few_votes_is_not_rated_or_ranked_but_still_informs_the_others():
    rows = [(0, 1, 1)] * 8 + [(1, 0, 1)] * 4 + [(1, 2, 1)] * 3 + [(2, 1, 1)] * 2
    board = {s.source: s for s in standings(Votes.from_rows(rows), rounds=200, min_votes=10)}
    assert [board[i].votes for i in range(3)] == [12, 17, 5]
    assert board[0].rated and board[1].rated and not board[2].rated and board[2].rank is None
    with_three = bradley_terry(_wins(rows))
    assert board[0].bradley_terry.rating == pytest.approx(to_elo_scale(with_three)[0])  # fitted with source 2's votes
    assert {s.source for s in standings(Votes.from_rows(rows), rounds=50, min_votes=5) if s.rated} == {0, 1, 2}


def test_no_votes_at_all_is_a_board_of_unrated_sources():
    empty = standings(Votes.from_rows([], sources=2), rounds=10)
    assert [(s.component, s.votes, s.rated, s.rank, s.bradley_terry) for s in empty] == [(1, 0, False, None, None), (2, 0, False, None, None)]
    assert standings(Votes.from_rows([])) == []


# --- agreement ------------------------------------------------------------------------------------------


def test_cohen_kappa_matches_the_textbook_formula_on_random_labels():
    rng = np.random.default_rng(5)
    labels = ["a", "b", "tie"]
    first = list(rng.choice(labels, 60, p=[0.5, 0.3, 0.2]))
    second = [x if rng.random() < 0.6 else rng.choice(labels) for x in first]
    n = len(first)
    observed = sum(x == y for x, y in zip(first, second)) / n
    chance = sum((first.count(c) / n) * (second.count(c) / n) for c in labels)
    assert cohen_kappa(first, second, labels) == pytest.approx((observed - chance) / (1 - chance), abs=1e-12)


def test_leave_one_out_agreement_on_a_hand_worked_example():
    units = {
        1: {"ann": "a", "bob": "a", "cy": "b"},  # ann: others a, b → tie, skipped; bob likewise; cy: others a → no
        2: {"ann": "a", "bob": "b"},  # each: the other is a majority of one → both disagree
        3: {"ann": "b", "bob": "b", "cy": "b"},  # everyone agrees with the others
        4: {"ann": "tie"},  # nobody else voted: skipped
        5: {"ann": "a", "bob": "a", "cy": "a"},
    }
    assert leave_one_out_agreement(units) == {"ann": (2, 3), "bob": (2, 3), "cy": (2, 3)}
    assert leave_one_out_agreement({}) == {}
    assert leave_one_out_agreement({1: {"ann": "a"}}) == {"ann": (0, 0)}  # one reviewer: no data, not 100 %


def test_majority_needs_a_single_most_common_label():
    assert majority(["a", "a", "b"]) == "a" and majority(["a", "b"]) is None and majority([]) is None and majority(["tie"]) == "tie"


@pytest.mark.parametrize("alpha, band", [
    (-0.2, "poor"), (0.0, "poor"), (0.3999, "poor"), (0.4, "moderate"), (0.5999, "moderate"), (0.6, "substantial"),
    (0.7999, "substantial"), (0.8, "strong"), (1.0, "strong"), (None, None),
])
def test_alpha_bands_at_their_edges(alpha, band):
    assert alpha_band(alpha) == band
