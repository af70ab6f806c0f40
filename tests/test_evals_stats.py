"""Pass rates, bootstrap intervals and the ship gate (audits.evals.stats): pure functions, known inputs."""

import pytest

from audits.evals.stats import LAYERS, bootstrap_interval, layer_result, ship_gate


def outcomes(*cases: str) -> dict[str, list[str]]:
    """outcomes("ppf", "pp") → {"c0": ["pass", "pass", "fail"], "c1": [...]}: one string per case, a letter per epoch."""
    letters = {"p": "pass", "f": "fail", "e": "error"}
    return {f"c{i}": [letters[c] for c in case] for i, case in enumerate(cases)}


def passing_layers(**overrides):
    results = {layer: layer_result(layer, outcomes(*["ppp"] * 10), seed=1) for layer in LAYERS}
    results.update(overrides)
    return list(results.values())


def test_all_passing_trials_give_the_interval_one_to_one():
    assert bootstrap_interval([(3, 0)] * 8, seed=7) == (1.0, 1.0)


def test_all_failing_trials_give_the_interval_zero_to_zero():
    assert bootstrap_interval([(0, 3)] * 8, seed=7) == (0.0, 0.0)


def test_no_graded_trials_give_no_interval():
    assert bootstrap_interval([], seed=1) is None
    assert bootstrap_interval([(0, 0), (0, 0)], seed=1) is None


@pytest.mark.parametrize("cases", [
    [(3, 0)] * 9 + [(1, 2)],
    [(2, 1), (3, 0), (0, 3), (1, 2), (3, 0)],
    [(1, 0)] * 50 + [(0, 1)] * 3,
])
def test_the_interval_contains_the_point_estimate(cases):
    low, high = bootstrap_interval(cases, seed=3)
    rate = sum(p for p, _ in cases) / sum(p + f for p, f in cases)
    assert 0 <= low <= rate <= high <= 1
    assert low < high


def test_the_interval_narrows_as_cases_grow():
    widths = []
    for n in (10, 40, 160, 640):
        cases = [(3, 0)] * (n * 9 // 10) + [(1, 2)] * (n // 10)
        low, high = bootstrap_interval(cases, seed=11)
        widths.append(high - low)
    assert widths == sorted(widths, reverse=True)
    assert widths[-1] < widths[0] / 4


def test_the_same_seed_gives_the_same_interval_and_another_seed_may_not():
    cases = [(2, 1), (3, 0), (0, 3), (1, 2), (3, 0), (3, 0)] * 7 + [(5, 2), (1, 6), (4, 1)]
    assert bootstrap_interval(cases, seed=5) == bootstrap_interval(cases, seed=5)
    assert len({bootstrap_interval(cases, seed=s) for s in range(10)}) > 1


def test_resampling_cases_with_their_epochs_is_wider_than_pretending_trials_are_independent():
    clustered = [(3, 0)] * 8 + [(0, 3)] * 2  # epochs of a case agree: 80% but only 10 independent cases
    low, high = bootstrap_interval(clustered, seed=2)
    as_trials = [(1, 0)] * 24 + [(0, 1)] * 6  # the same 30 trials, treated as 30 cases
    low_t, high_t = bootstrap_interval(as_trials, seed=2)
    assert high - low > high_t - low_t


def test_a_layer_counts_passes_fails_and_errors_apart():
    result = layer_result("persona", outcomes("ppe", "pfp", "eee"), seed=1)
    assert (result.cases, result.passes, result.fails, result.errors) == (3, 4, 1, 4)
    assert result.rate == pytest.approx(4 / 5)  # errors are not in the denominator
    assert result.threshold == 0.96 and not result.met


def test_the_floor_at_999_permille_fails_the_gate():
    floor = layer_result("floor", outcomes(*["p"] * 999, "f"), seed=1)
    assert floor.rate == pytest.approx(0.999)
    assert not floor.met
    passed, reasons = ship_gate(passing_layers(floor=floor))
    assert not passed
    assert reasons == ["floor: pass rate 99.9% is below the 100% threshold (1 failed)"]


def test_the_floor_fails_on_a_single_error_even_with_every_graded_trial_passing():
    floor = layer_result("floor", outcomes("ppp", "ppe"), seed=1)
    assert floor.rate == 1.0 and not floor.met
    assert "could not be graded" in floor.reason


def test_thresholds_are_compared_exactly():
    at = layer_result("protocol", outcomes(*["p"] * 199, "f"), seed=1)  # 99.5% exactly
    below = layer_result("protocol", outcomes(*["p"] * 198, "f", "f"), seed=1)  # 99.0%
    assert at.met and not below.met
    assert layer_result("persona", outcomes(*["p"] * 24, "f"), seed=1).met  # 96%
    assert not layer_result("closure", outcomes(*["p"] * 98, "f", "f"), seed=1).met  # 98%


def test_every_layer_passing_ships():
    assert ship_gate(passing_layers()) == (True, [])


def test_a_layer_with_no_cases_fails_the_gate_with_that_reason():
    empty = layer_result("closure", {}, seed=1)
    assert not empty.met and empty.rate is None and empty.interval is None
    passed, reasons = ship_gate(passing_layers(closure=empty))
    assert not passed and reasons == ["closure: no cases, so nothing shows it holds"]


def test_a_layer_missing_from_the_results_fails_the_gate():
    results = [r for r in passing_layers() if r.layer != "persona"]
    assert ship_gate(results) == (False, ["persona: no cases, so nothing shows it holds"])


def test_a_layer_of_only_errors_fails_the_gate():
    errors = layer_result("protocol", outcomes("ee", "ee"), seed=1)
    passed, reasons = ship_gate(passing_layers(protocol=errors))
    assert not passed and reasons == ["protocol: all 4 trials were errors, none could be graded"]


def test_every_failing_layer_is_named():
    passed, reasons = ship_gate(passing_layers(
        persona=layer_result("persona", outcomes("pf"), seed=1), closure=layer_result("closure", outcomes("ff"), seed=1),
    ))
    assert not passed and [r.split(":")[0] for r in reasons] == ["persona", "closure"]
