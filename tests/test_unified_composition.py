"""The unified mix's composition (training_jobs.composition): target shares, checks, and a mix sampled to match."""

import itertools
import random

import pytest

from training_jobs.categories import CATEGORIES
from training_jobs.composition import (
    DEFAULT_COMPOSITION, DEFAULT_RANGES, DEFAULT_SHARES, DOMINANCE_LIMIT, check_available, largest_total, parse_composition,
    sample_mix,
)


def pools(counts: dict[str, int]) -> dict[str, list[int]]:
    """Distinct row ids per category: technical 0…, instructional 100000…, …"""
    return {c: list(range(CATEGORIES.index(c) * 100_000, CATEGORIES.index(c) * 100_000 + n)) for c, n in counts.items()}


def plenty(n: int = 10_000) -> dict[str, list[int]]:
    return pools(dict.fromkeys(CATEGORIES, n))


def random_composition(rng: random.Random):
    """Random shares over 2–10 categories, none above the dominance limit, summing to 100 (2 decimals)."""
    while True:
        chosen = rng.sample(CATEGORIES, rng.randint(3, 10))
        weights = [rng.random() + 0.02 for _ in chosen]
        shares = [round(100 * w / sum(weights), 2) for w in weights]
        shares[-1] = round(100 - sum(shares[:-1]), 2)
        if max(shares) <= DOMINANCE_LIMIT and min(shares) > 0:
            return parse_composition(dict(zip(chosen, shares)))


# --- defaults ------------------------------------------------------------------------------------


def test_the_issue_ranges_cannot_all_be_met_at_their_lower_bounds():
    assert sum(low for low, _ in DEFAULT_RANGES.values()) == 103


def test_the_default_shares_sum_to_exactly_100_and_stay_within_a_point_of_each_range():
    assert sum(DEFAULT_SHARES.values()) == 100
    for category, share in DEFAULT_SHARES.items():
        low, high = DEFAULT_RANGES[category]
        assert low - 1 <= share <= high
    shaved = [c for c, share in DEFAULT_SHARES.items() if share < DEFAULT_RANGES[c][0]]
    assert shaved == ["technical", "instructional", "analytical"]


def test_no_default_category_dominates():
    assert max(DEFAULT_COMPOSITION.shares.values()) <= DOMINANCE_LIMIT
    assert DEFAULT_COMPOSITION.as_dict() == DEFAULT_SHARES
    assert DEFAULT_COMPOSITION.shares["specialized"] == 0


# --- parse_composition ---------------------------------------------------------------------------


def test_a_valid_composition_round_trips():
    data = {"technical": 30, "empathetic": 30, "creative": 40}
    composition = parse_composition(data)
    assert composition.as_dict() == data
    assert composition.active == ("technical", "empathetic", "creative")
    assert parse_composition(composition.as_dict()) == composition


def test_shares_within_a_hundredth_of_100_are_accepted():
    parse_composition({"technical": 33.333, "empathetic": 33.333, "creative": 33.333})
    parse_composition({"technical": 33.33, "empathetic": 33.33, "creative": 33.34})


@pytest.mark.parametrize("data, message", [
    ({"cooking": 10, "technical": 40, "creative": 40, "factual": 10}, "composition.cooking: unknown category"),
    ({"technical": "lots", "creative": 40}, "composition.technical: share must be a number"),
    ({"technical": True, "creative": 40}, "composition.technical: share must be a number"),
    ({"technical": None, "creative": 40}, "composition.technical: share must be a number"),
    ({"technical": float("nan"), "creative": 40}, "composition.technical: share must be a number"),
    ({"technical": -5, "creative": 40}, "composition.technical: share must be from 0 to 100"),
    ({"technical": 140, "creative": 40}, "composition.technical: share must be from 0 to 100"),
    ({"technical": 40, "creative": 40, "factual": 19}, "composition: shares sum to 99, not 100"),
    ({"technical": 40, "creative": 40, "factual": 20.5}, "composition: shares sum to 100.5, not 100"),
    ({}, "composition: shares sum to 0, not 100"),
    ({"technical": 45, "creative": 30, "factual": 25}, "composition.technical: 45% dominates"),
    ({"technical": 100}, "composition.technical: 100% dominates"),
])
def test_an_invalid_composition_is_refused_naming_the_problem(data, message):
    with pytest.raises(ValueError) as error:
        parse_composition(data)
    assert str(error.value).startswith(message)


def test_a_composition_must_be_an_object():
    with pytest.raises(ValueError, match="^composition: expected an object"):
        parse_composition([["technical", 100]])


def test_exactly_the_dominance_limit_is_allowed():
    parse_composition({"technical": 40, "creative": 40, "factual": 20})


# --- check_available -----------------------------------------------------------------------------


def test_a_category_with_a_target_and_no_rows_is_an_error_naming_it():
    counts = dict.fromkeys(DEFAULT_SHARES, 500) | {"ethical": 0}
    issues = check_available(DEFAULT_COMPOSITION, counts, total=1000)
    assert [(i.level, str(i)) for i in issues] == [
        ("error", "composition.ethical: no rows in the data for this category (target 3%)")]


def test_a_category_without_a_target_needs_no_rows():
    assert check_available(DEFAULT_COMPOSITION, dict.fromkeys(DEFAULT_SHARES, 500), total=1000) == []


def test_too_few_rows_for_the_requested_total_is_a_warning_with_the_numbers():
    counts = dict.fromkeys(DEFAULT_SHARES, 5000) | {"tool": 30}
    issues = check_available(DEFAULT_COMPOSITION, counts, total=1000)
    assert len(issues) == 1 and issues[0].level == "warning"
    assert str(issues[0]) == ("composition.tool: needs 50 rows for 5% of 1,000, the data has 30: "
                              "the mix will have 608 rows, not 1,000")
    assert issues[0].as_dict() == {"field": issues[0]["field"], "message": issues[0]["message"]}
    assert issues[0]["level"] == "warning"


def test_without_a_total_only_missing_categories_are_issues():
    assert check_available(DEFAULT_COMPOSITION, dict.fromkeys(DEFAULT_SHARES, 3)) == []


# --- sample_mix ----------------------------------------------------------------------------------


def test_a_mix_has_the_requested_total_and_its_shares_match_the_targets():
    mix = sample_mix(plenty(), DEFAULT_COMPOSITION, 1000, seed=1)
    assert mix.total == len(mix.ids) == 1000
    assert mix.counts == {c: 10 * s for c, s in DEFAULT_SHARES.items()}
    assert mix.shares == {c: float(s) for c, s in DEFAULT_SHARES.items()}
    assert mix.max_deviation() == 0


def test_rows_are_drawn_without_replacement_from_their_own_category():
    data = plenty(300)
    mix = sample_mix(data, DEFAULT_COMPOSITION, 1200, seed=2)
    assert len(set(mix.ids)) == len(mix.ids) == 1200
    for category, ids in mix.by_category.items():
        assert set(ids) <= set(data[category])
        assert len(ids) == mix.counts[category]
    assert sorted(mix.ids) == sorted(i for ids in mix.ids_by_category().values() for i in ids)


def test_the_ids_by_category_are_copies():
    mix = sample_mix(plenty(50), DEFAULT_COMPOSITION, 100, seed=0)
    mix.ids_by_category()["technical"].clear()
    assert len(mix.ids_by_category()["technical"]) == 24


def test_the_mix_is_shuffled_not_grouped_by_category():
    mix = sample_mix(plenty(), DEFAULT_COMPOSITION, 500, seed=3)
    grouped = [i for c in DEFAULT_COMPOSITION.active for i in mix.by_category[c]]
    assert mix.ids != grouped
    first_fifty = {i // 100_000 for i in mix.ids[:50]}
    assert len(first_fifty) >= 4  # several categories early on


def test_the_same_seed_gives_the_same_mix_whatever_the_order_of_the_input():
    data = plenty(2000)
    shuffled = {c: random.Random(7).sample(ids, len(ids)) for c, ids in data.items()}
    first = sample_mix(data, DEFAULT_COMPOSITION, 800, seed=11)
    assert sample_mix(shuffled, DEFAULT_COMPOSITION, 800, seed=11) == first
    assert sample_mix(data, DEFAULT_COMPOSITION, 800, seed=12).ids != first.ids


def test_ids_are_plain_ints():
    mix = sample_mix(plenty(50), DEFAULT_COMPOSITION, 100, seed=0)
    assert all(type(i) is int for i in mix.ids)
    assert all(type(i) is int for ids in mix.ids_by_category().values() for i in ids)


def test_without_a_total_the_mix_is_the_largest_the_data_holds():
    counts = dict.fromkeys(DEFAULT_SHARES, 5000) | {"ethical": 60}  # 3% → at most ~2,000 rows
    mix = sample_mix(pools(counts), DEFAULT_COMPOSITION, None, seed=0)
    assert mix.requested_total is None
    assert mix.counts["ethical"] <= 60
    assert 1990 <= mix.total <= 2033
    assert all(any(n > counts[c] for c, n in DEFAULT_COMPOSITION.allocate(t).items())
               for t in range(mix.total + 1, mix.total + 500))
    assert mix.max_deviation() <= 1


def test_a_total_the_data_cannot_hold_is_shrunk_keeping_the_shares():
    counts = dict.fromkeys(DEFAULT_SHARES, 5000) | {"tool": 30}
    mix = sample_mix(pools(counts), DEFAULT_COMPOSITION, 1000, seed=0)
    assert mix.requested_total == 1000
    assert mix.total == largest_total(DEFAULT_COMPOSITION, counts) == 608
    assert mix.counts["tool"] <= 30
    assert mix.max_deviation() <= 1


def test_a_category_with_a_target_and_no_rows_cannot_be_sampled():
    counts = dict.fromkeys(DEFAULT_SHARES, 100) | {"creative": 0}
    with pytest.raises(ValueError, match="^composition.creative: no rows"):
        sample_mix(pools(counts), DEFAULT_COMPOSITION, 100, seed=0)


def test_a_total_of_zero_gives_an_empty_mix():
    mix = sample_mix(plenty(10), DEFAULT_COMPOSITION, 0, seed=0)
    assert mix.ids == [] and mix.total == 0 and set(mix.shares.values()) == {0.0}


def test_achieved_shares_are_within_a_point_of_their_targets_over_many_random_cases():
    rng = random.Random(2024)
    for _ in range(400):
        composition = random_composition(rng)
        counts = {c: rng.choice([rng.randint(1, 40), rng.randint(1, 3000), 10_000]) for c in composition.active}
        total = rng.choice([None, rng.randint(100, 5000), rng.randint(0, 120)])
        mix = sample_mix(pools(counts), composition, total, seed=rng.randint(0, 10**6))
        supported = largest_total(composition, counts)
        assert mix.total == (supported if total is None else min(total, supported))
        assert sum(mix.counts.values()) == len(mix.ids) == mix.total
        assert all(mix.counts[c] <= counts[c] for c in composition.active)
        weight = sum(composition.shares[c] for c in composition.active)
        for c in composition.active:  # every count within one row of its exact quota …
            assert abs(mix.counts[c] - mix.total * composition.shares[c] / weight) < 1
        if mix.total >= 100:  # … so within a point from 100 rows on
            assert mix.max_deviation() <= 1, (composition.as_dict(), counts, total)


def test_the_largest_remainder_split_is_as_close_as_any_integer_split_can_be():
    rng = random.Random(5)
    for _ in range(150):
        shares = [rng.randint(20, 40), rng.randint(20, 40)]
        if sum(shares) < 60:
            continue
        composition = parse_composition({"technical": shares[0], "creative": shares[1], "ethical": 100 - sum(shares)})
        total = rng.randint(1, 60)
        quotas = {c: total * composition.shares[c] / 100 for c in composition.active}

        def worst(split):
            return max(abs(split[c] - quotas[c]) for c in composition.active)
        best = min(worst(dict(zip(composition.active, (a, b, total - a - b))))
                   for a, b in itertools.product(range(total + 1), repeat=2) if a + b <= total)
        assert worst(composition.allocate(total)) == pytest.approx(best)


def test_the_largest_total_is_the_largest_that_fits():
    rng = random.Random(9)
    for _ in range(60):
        composition = random_composition(rng)
        counts = {c: rng.randint(1, 200) for c in composition.active}
        best = largest_total(composition, counts)
        assert all(n <= counts[c] for c, n in composition.allocate(best).items())
        assert not any(all(n <= counts[c] for c, n in composition.allocate(t).items()) for t in range(best + 1, best + 1000))


def test_bars_show_each_category_target_and_achieved_against_its_range():
    mix = sample_mix(plenty(), DEFAULT_COMPOSITION, 333, seed=0)
    bars = mix.bars()
    assert [b["category"] for b in bars] == list(DEFAULT_SHARES)
    technical = bars[0]
    assert technical == {"category": "technical", "target": 24.0, "achieved": round(100 * mix.counts["technical"] / 333, 2),
                         "count": mix.counts["technical"], "low": 25, "high": 30}
    assert all(abs(b["achieved"] - b["target"]) <= 1 for b in bars)


def test_a_category_outside_the_reference_ranges_has_no_range_bar():
    composition = parse_composition({"specialized": 20, "technical": 40, "creative": 40})
    bars = sample_mix(plenty(), composition, 100, seed=0).bars()
    assert bars[-1] == {"category": "specialized", "target": 20.0, "achieved": 20.0, "count": 20, "low": None, "high": None}


def test_the_mix_summary_carries_no_ids():
    summary = sample_mix(plenty(), DEFAULT_COMPOSITION, 100, seed=4).as_dict()
    assert set(summary) == {"total", "requested_total", "seed", "counts", "shares", "targets"}
    assert summary["total"] == 100 and summary["seed"] == 4
