"""Pass-rate intervals and the three-state ship gate (audits.evals.stats), checked against independent computations:
Wilson's formula written out here, scipy's Wilson and Clopper–Pearson intervals, exact and simulated coverage."""

import math

import numpy as np
import pytest
from scipy.stats import binomtest, chi2

from audits.evals.stats import (
    FAIL, INCONCLUSIVE, LAYERS, PASS, THRESHOLDS, TOLERANCES, cases_needed, layer_result, pass_rate_interval,
    pass_rate_intervals, ship_gate,
)
from tests.interval_coverage import RATES, SIZES, clustered_coverage, exact_coverage, naive_clustered_coverage

Z = 1.959963984540054


def textbook_wilson(x: int, n: int) -> tuple[float, float]:
    """Wilson (1927): (p̂ + z²/2n ± z·√(p̂(1−p̂)/n + z²/4n²)) / (1 + z²/n)."""
    p = x / n
    centre, half = p + Z * Z / (2 * n), Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return (centre - half) / (1 + Z * Z / n), (centre + half) / (1 + Z * Z / n)


def single(x: int, n: int) -> list[tuple[int, int]]:
    """n cases of one trial each, x of them passing."""
    return [(1, 1)] * x + [(0, 1)] * (n - x)


def outcomes(*cases: str) -> dict[str, list[str]]:
    """outcomes("ppf", "pp") → {"c0": ["pass", "pass", "fail"], "c1": [...]}: one string per case, a letter per epoch."""
    letters = {"p": "pass", "f": "fail", "e": "error"}
    return {f"c{i}": [letters[c] for c in case] for i, case in enumerate(cases)}


# --- one trial per case: Wilson ------------------------------------------------------------------


def test_twenty_of_twenty_is_about_84_to_100_percent_not_a_point():
    low, high = pass_rate_interval(single(20, 20))
    assert high == 1.0 and low == pytest.approx(20 / (20 + Z * Z), abs=1e-9) and low == pytest.approx(0.839, abs=0.001)


def test_none_of_twenty_reaches_up_to_16_percent():
    assert pass_rate_interval(single(0, 20)) == (0.0, pytest.approx(Z * Z / (20 + Z * Z), abs=1e-9))


@pytest.mark.parametrize("n", [1, 2, 5, 20, 37, 50])
def test_with_one_trial_per_case_up_to_50_cases_it_is_exactly_wilson(n):
    for x in range(n + 1):
        expected = binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
        low, high = pass_rate_interval(single(x, n))
        assert (low, high) == (pytest.approx(expected.low, abs=1e-9), pytest.approx(expected.high, abs=1e-9))
        assert (low, high) == (pytest.approx(textbook_wilson(x, n)[0], abs=1e-9), pytest.approx(textbook_wilson(x, n)[1], abs=1e-9))


@pytest.mark.parametrize("n", [51, 100, 250, 1000])
def test_above_50_cases_it_stays_within_0005_of_wilson_and_takes_the_poisson_bound_beside_three_or_fewer(n):
    for x in range(n + 1):
        wilson = textbook_wilson(x, n)
        low, high = pass_rate_interval(single(x, n))
        assert abs(low - wilson[0]) < 0.005 and abs(high - wilson[1]) < 0.005
        assert low <= wilson[0] + 1e-12 and high >= wilson[1] - 1e-12  # only ever wider
        if 0 < x <= 3:  # Brown, Cai & DasGupta (2001): ½·χ²(α; 2x)/n
            assert low == pytest.approx(min(wilson[0], chi2.ppf(0.05, 2 * x) / 2 / n), abs=1e-12)
        if 0 < n - x <= 3:
            assert high == pytest.approx(max(wilson[1], 1 - chi2.ppf(0.05, 2 * (n - x)) / 2 / n), abs=1e-12)


@pytest.mark.parametrize("n, within", [(20, 0.03), (100, 0.01)])
def test_it_agrees_with_clopper_pearson_to_within_a_few_points_and_overlaps_it(n, within):
    for x in range(n + 1):
        exact = binomtest(x, n).proportion_ci(confidence_level=0.95, method="exact")
        low, high = pass_rate_interval(single(x, n))
        assert abs(low - exact.low) < within and abs(high - exact.high) < within
        assert low <= x / n <= high


def test_the_level_changes_the_width():
    narrow, wide = pass_rate_interval(single(15, 20), level=0.8), pass_rate_interval(single(15, 20), level=0.99)
    expected = binomtest(15, 20).proportion_ci(confidence_level=0.99, method="wilson")
    assert wide == (pytest.approx(expected.low), pytest.approx(expected.high))
    assert wide[0] < narrow[0] < 0.75 < narrow[1] < wide[1]


# --- several epochs per case: clustered ----------------------------------------------------------


def test_when_every_cases_epochs_agree_the_cases_count_not_the_trials():
    clustered = [(3, 3)] * 16 + [(0, 3)] * 4  # 80% of 20 cases, each passing all 3 epochs or none
    expected = binomtest(16, 20).proportion_ci(method="wilson")
    assert pass_rate_interval(clustered) == (pytest.approx(expected.low), pytest.approx(expected.high))
    as_trials = pass_rate_interval(single(48, 60))  # the same 60 trials, pretending they were 60 cases
    assert as_trials[1] - as_trials[0] < 0.75 * (expected.high - expected.low)


def test_all_passing_epochs_give_wilson_on_the_number_of_cases():
    expected = binomtest(20, 20).proportion_ci(method="wilson")
    for epochs in (2, 3, 10):
        assert pass_rate_interval([(epochs, epochs)] * 20) == (pytest.approx(expected.low), 1.0)


@pytest.mark.parametrize("cases", [
    [(1, 1), (5, 5), (5, 5), (0, 2), (3, 3), (0, 4)],  # unequal epochs, agreeing within each case
    [(2, 2)] * 9 + [(0, 7)],
])
def test_agreeing_cases_of_unequal_size_are_never_narrower_than_wilson_on_the_cases(cases):
    passes, trials = sum(p for p, _ in cases), sum(t for _, t in cases)
    on_cases = textbook_wilson_at(passes / trials, len(cases))
    low, high = pass_rate_interval(cases)
    assert low <= on_cases[0] + 1e-9 and high >= on_cases[1] - 1e-9


def textbook_wilson_at(rate: float, n: int) -> tuple[float, float]:
    centre, half = rate + Z * Z / (2 * n), Z * math.sqrt(rate * (1 - rate) / n + Z * Z / (4 * n * n))
    return (centre - half) / (1 + Z * Z / n), (centre + half) / (1 + Z * Z / n)


def test_epochs_that_vary_within_cases_add_evidence_but_never_more_than_independent_trials():
    rng = np.random.default_rng(3)
    cases = [(int(p), 5) for p in rng.binomial(5, 0.8, size=60)]  # independent epochs: the trials do count
    passes, trials = sum(p for p, _ in cases), 300
    low, high = pass_rate_interval(cases)
    on_cases, on_trials = textbook_wilson_at(passes / trials, 60), textbook_wilson_at(passes / trials, trials)
    assert high - low < on_cases[1] - on_cases[0]
    assert high - low >= on_trials[1] - on_trials[0] - 1e-9


def test_one_case_with_several_epochs_is_one_unit():
    low, high = pass_rate_interval([(2, 3)])
    assert (low, high) == (pytest.approx(textbook_wilson_at(2 / 3, 1)[0]), pytest.approx(textbook_wilson_at(2 / 3, 1)[1]))


# --- coverage --------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", RATES)
@pytest.mark.parametrize("n", SIZES)
def test_one_trial_per_case_covers_the_true_rate_at_least_93_percent_of_the_time(p, n):
    coverage = exact_coverage(p, n)
    assert coverage >= 0.93 if p < 1 else coverage == pytest.approx(1.0)


@pytest.mark.parametrize("correlation", [0.5, 1.0])
def test_clustered_epochs_cover_the_true_rate_at_least_93_percent_of_the_time(correlation):
    for p in RATES:
        for n in SIZES:
            coverage = clustered_coverage(p, n, epochs=3, correlation=correlation)
            assert coverage >= 0.93 if p < 1 else coverage == 1.0, (p, n, coverage)


def test_the_coverage_check_catches_an_interval_that_ignores_clustering():
    assert naive_clustered_coverage(0.9, 20) < 0.85 and naive_clustered_coverage(0.5, 100) < 0.85


# --- no data and bad input -----------------------------------------------------------------------


@pytest.mark.parametrize("cases", [[], [(0, 0)], [(0, 0), (0, 0)]])
def test_no_graded_trial_is_no_data_not_nan(cases):
    assert pass_rate_interval(cases) is None


def test_cases_without_graded_trials_are_left_out():
    assert pass_rate_interval([(0, 0), (1, 1), (0, 0), (0, 1)]) == pass_rate_interval([(1, 1), (0, 1)])


def test_the_vectorised_form_gives_nan_only_for_a_sample_without_data():
    low, high = pass_rate_intervals(np.array([[0, 0], [1, 0]]), np.array([[0, 0], [1, 1]]))
    assert np.isnan(low[0]) and np.isnan(high[0])
    assert (low[1], high[1]) == pass_rate_interval([(1, 1), (0, 1)])


@pytest.mark.parametrize("cases", [[(2, 1)], [(-1, 1)], [(1, -1)]])
def test_impossible_counts_are_refused(cases):
    with pytest.raises(ValueError):
        pass_rate_interval(cases)


# --- the ship gate -------------------------------------------------------------------------------


def passing_layers(**overrides):
    results = {layer: layer_result(layer, outcomes(*["ppp"] * 20)) for layer in LAYERS}
    results.update(overrides)
    return list(results.values())


def test_the_tolerances_put_every_layers_bar_at_83_percent():
    assert {layer: THRESHOLDS[layer] - TOLERANCES[layer] for layer in LAYERS} == dict.fromkeys(LAYERS, pytest.approx(0.83))


def test_twenty_all_passing_cases_pass_every_layer():
    for result in passing_layers():
        assert result.state == PASS and result.met and result.cases_needed == 0
        assert result.interval[0] == pytest.approx(20 / (20 + Z * Z)) and result.interval[0] >= 0.83
    assert ship_gate(passing_layers()) == (PASS, [])


def test_a_few_all_passing_cases_are_inconclusive_with_the_cases_still_needed():
    result = layer_result("floor", outcomes(*["ppp"] * 7))
    assert result.state == INCONCLUSIVE and not result.met
    # 19 cases: Wilson's low end 19/(19 + z²) = 0.832 ≥ 0.83; 18 cases: 0.824 < 0.83
    assert 19 / (19 + Z * Z) >= 0.83 > 18 / (18 + Z * Z)
    assert result.cases_needed == 12
    assert "12 more all-passing cases needed" in result.reason and "below 83%" in result.reason


@pytest.mark.parametrize("layer, cases", [
    ("persona", ["p"] * 30 + ["f"] * 2),  # 93.75%: below 96%, but the interval reaches it
    ("protocol", ["p"] * 198 + ["f"] * 2),  # 99%: below 99.5%, the interval reaches it
    ("closure", ["ppp"] * 10),  # 100% on too few cases
    ("persona", ["ppp"] * 12 + ["ppf"]),
])
def test_the_cases_needed_are_the_fewest_all_passing_cases_that_make_the_layer_pass(layer, cases):
    result = layer_result(layer, outcomes(*cases))
    assert result.state == INCONCLUSIVE
    needed, epochs = result.cases_needed, len(cases[0])
    assert needed > 0
    more = lambda extra: layer_result(layer, outcomes(*cases, *["p" * epochs] * extra))  # noqa: E731
    assert more(needed).state == PASS
    assert more(needed - 1).state != PASS
    assert f"{needed} more all-passing case" in result.reason


def test_a_layer_whose_interval_lies_below_the_threshold_fails():
    result = layer_result("persona", outcomes(*["p"] * 10, "f", "f"))  # 83%: Wilson's top 95.3% < 96%
    assert result.state == FAIL and result.interval[1] < 0.96 and result.cases_needed is None
    assert "below the 96% threshold" in result.reason


def test_the_floor_fails_on_a_single_failed_trial_however_many_pass():
    floor = layer_result("floor", outcomes(*["p"] * 999, "f"))
    assert floor.rate == pytest.approx(0.999) and floor.state == FAIL
    state, reasons = ship_gate(passing_layers(floor=floor))
    assert state == FAIL and reasons == ["floor: 1 trial(s) failed; the floor must hold on every trial"]


def test_the_floor_fails_on_a_single_error_even_with_every_graded_trial_passing():
    floor = layer_result("floor", outcomes(*["ppp"] * 30, "ppe"))
    assert floor.rate == 1.0 and floor.state == FAIL
    assert "could not be graded" in floor.reason


def test_thresholds_are_compared_exactly():
    at = layer_result("protocol", outcomes(*["p"] * 199, "f"))  # 99.5% exactly, 200 cases
    assert at.rate == 0.995 and at.state == PASS
    assert layer_result("persona", outcomes(*["p"] * 48, "f", "f")).state == PASS  # 96% of 50
    below = layer_result("persona", outcomes(*["p"] * 47, "f", "f", "f"))  # 94%
    assert below.state == INCONCLUSIVE


def test_a_reason_never_prints_a_figure_equal_to_the_mark_it_is_said_to_miss():
    close = layer_result("protocol", outcomes(*["p"] * 192, "f"))  # 192/193 = 99.48%, one decimal would read 99.5%
    assert close.state == INCONCLUSIVE and "99.48% over 193 cases" in close.reason and "below 99.5%" in close.reason


def test_a_layer_counts_passes_fails_and_errors_apart_and_reports_pass_k():
    result = layer_result("persona", outcomes("ppe", "pfp", "eee", "ppp"))
    assert (result.cases, result.passes, result.fails, result.errors) == (4, 7, 1, 4)
    assert result.rate == pytest.approx(7 / 8)  # errors are not in the denominator
    # pass^3: of the 3 cases with a graded trial, only "ppp" passed every epoch
    assert (result.pass_k, result.pass_k_cases, result.graded_cases) == (pytest.approx(1 / 3), 1, 3)
    assert layer_result("persona", outcomes("p", "f")).pass_k is None  # one epoch: pass^k is the pass rate


def test_a_layer_with_no_cases_or_only_errors_fails_and_has_no_interval():
    empty = layer_result("closure", {})
    assert empty.state == FAIL and empty.rate is None and empty.interval is None
    errors = layer_result("protocol", outcomes("ee", "ee"))
    assert errors.state == FAIL and errors.interval is None and errors.reason == "protocol: all 4 trials were errors, none could be graded"
    state, reasons = ship_gate(passing_layers(closure=empty))
    assert state == FAIL and reasons == ["closure: no cases, so nothing shows it holds"]


def test_one_case_alone_is_inconclusive():
    result = layer_result("persona", outcomes("ppp"))
    assert result.state == INCONCLUSIVE and result.interval == (pytest.approx(1 / (1 + Z * Z)), 1.0)


def test_the_overall_gate_passes_only_when_all_pass_fails_when_any_fails_else_is_inconclusive():
    inconclusive = layer_result("closure", outcomes(*["ppp"] * 5))
    failing = layer_result("persona", outcomes(*["p"] * 5, "f", "f", "f"))
    assert ship_gate(passing_layers(closure=inconclusive)) == (INCONCLUSIVE, [inconclusive.reason])
    assert ship_gate(passing_layers(closure=inconclusive, persona=failing)) == (FAIL, [failing.reason, inconclusive.reason])
    missing = [r for r in passing_layers() if r.layer != "persona"]
    assert ship_gate(missing) == (FAIL, ["persona: no cases, so nothing shows it holds"])


def test_cases_needed_is_zero_when_passing_and_none_when_unreachable():
    assert cases_needed("persona", [(3, 3)] * 30, epochs=3) == 0
    assert cases_needed("persona", [(0, 1)] * 50, epochs=1, limit=100) is None


@pytest.mark.parametrize("layer, cases", [("protocol", single(150, 158)), ("protocol", single(198, 200)), ("persona", single(100, 106))])
def test_cases_needed_past_the_first_block_is_the_first_count_that_passes_and_the_limit_is_inclusive(layer, cases):
    """Counts are tried in growing blocks: an answer past the first (here in the hundreds and thousands) is still the
    fewest, as layer_result confirms on either side of it, and a limit of exactly that many still finds it."""
    needed = cases_needed(layer, cases, epochs=1)
    assert needed is not None and needed > 0
    letters = ["p" if passes else "f" for passes, _ in cases]
    more = lambda extra: layer_result(layer, outcomes(*letters, *["p"] * extra))  # noqa: E731
    assert more(needed).state == PASS and more(needed - 1).state != PASS
    assert cases_needed(layer, cases, epochs=1, limit=needed) == needed
    assert cases_needed(layer, cases, epochs=1, limit=needed - 1) is None


def test_a_layer_result_is_json_ready_with_its_state():
    data = layer_result("persona", outcomes(*["ppp"] * 20)).as_dict()
    assert data["state"] == PASS and data["met"] is True and isinstance(data["interval"], list)
    assert data["tolerance"] == pytest.approx(0.13) and data["threshold"] == pytest.approx(0.96)
