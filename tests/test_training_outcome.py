"""The training outcome verdict (training_jobs.outcome): win rate and marker difference clustered by prompt for
character jobs, exact McNemar for unified jobs; checked against textbook formulas and scipy, at the edges."""

import math

import pytest
from scipy.stats import binomtest, norm

from audits.evals.stats import newcombe_paired_interval
from training_jobs.outcome import (
    IMPROVED,
    NO_CLEAR_CHANGE,
    WORSE,
    Pair,
    character_outcome,
    combine,
    marker_difference,
    not_evaluated,
    paired_cases,
    unified_outcome,
    win_rate,
)

Z = norm.ppf(0.975)


def wilson(successes: int, n: int, z: float = Z) -> tuple[float, float]:
    """The textbook Wilson score interval (Wilson 1927)."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def one_pair_per_prompt(tuned: int, base: int, ties: int = 0, **markers) -> list[Pair]:
    """Independent pairs: every prompt sampled once, so the prompt clustering changes nothing."""
    winners = ["tuned"] * tuned + ["base"] * base + ["tie"] * ties
    return [Pair(i, w, **markers) for i, w in enumerate(winners)]


def eight_prompts(tuned_wins_per_prompt: list[int], *, ties_at=(), missing_at=()) -> list[Pair]:
    """The evaluation's layout: 8 prompts × 3 samples; tuned wins the first k samples of prompt i, base the rest."""
    pairs = []
    for prompt, wins in enumerate(tuned_wins_per_prompt):
        for sample in range(3):
            winner = "tuned" if sample < wins else "base"
            if (prompt, sample) in ties_at:
                winner = "tie"
            if (prompt, sample) in missing_at:
                winner = None
            pairs.append(Pair(prompt, winner))
    return pairs


# --- the win rate ----------------------------------------------------------------------------------


@pytest.mark.parametrize("tuned, base, expected", [(17, 6, IMPROVED), (6, 17, WORSE), (12, 11, NO_CLEAR_CHANGE)])
def test_the_win_rate_interval_is_wilson_on_independent_pairs_and_decides_the_verdict(tuned, base, expected):
    outcome = character_outcome(one_pair_per_prompt(tuned, base), markers=False)
    low, high = wilson(tuned, tuned + base)
    assert outcome.win_rate["rate"] == pytest.approx(tuned / (tuned + base))
    assert outcome.win_rate["interval"] == pytest.approx([low, high], abs=0.005)
    assert outcome.outcome == expected
    # the same decision as the exact binomial test of "no change" (p = ½) at 5 %
    assert (binomtest(tuned, tuned + base, 0.5).pvalue < 0.05) == (expected != NO_CLEAR_CHANGE)


def test_the_issue_s_6_to_17_over_eight_prompts_is_worse_and_its_mirror_improved():
    # one tuned win on each of prompts 0–5, base wins the rest; one pair of prompt 6 got no verdict: 6–17 of 23
    outcome = character_outcome(eight_prompts([1, 1, 1, 1, 1, 1, 0, 0], missing_at={(6, 2)}), markers=False)
    assert (outcome.win_rate["tuned_wins"], outcome.win_rate["base_wins"], outcome.win_rate["unjudged"]) == (6, 17, 1)
    assert outcome.outcome == WORSE, outcome.reason
    assert outcome.win_rate["interval"][1] < 0.5
    assert "tuned won 6 of 23 decided pairs (26%" in outcome.reason and "below 50%" in outcome.reason

    won = character_outcome(eight_prompts([2, 2, 2, 2, 2, 2, 3, 3], missing_at={(6, 2)}), markers=False)
    assert (won.win_rate["tuned_wins"], won.win_rate["base_wins"]) == (17, 6)
    assert won.outcome == IMPROVED, won.reason


def test_samples_of_one_prompt_are_not_independent_evidence():
    # 6 prompts won on all 3 samples, 2 lost on all 3: 18–6 looks clear pair by pair (Wilson on 24 excludes ½) …
    pairs = eight_prompts([3, 3, 3, 3, 3, 3, 0, 0])
    assert wilson(18, 24)[0] > 0.5
    outcome = character_outcome(pairs, markers=False)
    # … but it is 6 of 8 prompts, and the interval is never narrower than Wilson on the 8 prompts
    low, high = wilson(6, 8)
    assert outcome.win_rate["interval"][0] <= low + 0.005 and outcome.win_rate["interval"][1] >= high - 0.005
    assert outcome.outcome == NO_CLEAR_CHANGE


def test_ties_are_left_out_of_the_rate_and_reported():
    w = win_rate(one_pair_per_prompt(10, 2, ties=5))
    assert (w["decided"], w["judged"], w["ties"], w["rate"]) == (12, 17, 5, 10 / 12)
    assert w["interval"] == pytest.approx(list(wilson(10, 12)), abs=0.005)


def test_no_judged_pair_is_no_data_never_an_error():
    outcome = character_outcome([Pair(i, None) for i in range(24)], markers=False)
    assert outcome.outcome == NO_CLEAR_CHANGE
    assert outcome.reason.startswith("no data") and "24 without a verdict" in outcome.reason
    assert outcome.win_rate["rate"] is None and outcome.win_rate["interval"] is None
    empty = character_outcome([])
    assert empty.outcome == NO_CLEAR_CHANGE and empty.reason == "no data: the evaluation produced no pairs"


def test_all_ties_is_no_clear_change():
    outcome = character_outcome(one_pair_per_prompt(0, 0, ties=24), markers=False)
    assert outcome.outcome == NO_CLEAR_CHANGE
    assert "every one of the 24 judged pairs was a tie" in outcome.reason


def test_a_single_pair_and_a_clean_sweep_have_intervals_that_reach_the_bound():
    one = win_rate([Pair(0, "tuned")])
    assert one["rate"] == 1 and one["interval"] == pytest.approx(list(wilson(1, 1)), abs=0.005) and one["signal"] is None
    sweep = win_rate(one_pair_per_prompt(20, 0))
    assert sweep["interval"][1] == pytest.approx(1.0) and sweep["interval"][0] == pytest.approx(wilson(20, 20)[0], abs=0.005)
    assert sweep["signal"] == "good"


# --- the marker difference -------------------------------------------------------------------------


def newcombe_textbook(e: int, f: int, g: int, h: int) -> tuple[float, float]:
    """Newcombe (1998, Stat Med 17:2635), method 10, written out from the paper with textbook Wilson limits."""
    n = e + f + g + h
    p1, p2 = (e + f) / n, (e + g) / n
    l1, u1 = wilson(e + f, n)
    l2, u2 = wilson(e + g, n)
    denominator = (e + f) * (g + h) * (e + g) * (f + h)
    phi = (e * h - f * g) / math.sqrt(denominator) if denominator else 0.0
    d1, e1 = p1 - l1, u1 - p1
    d2, e2 = p2 - l2, u2 - p2
    return (p1 - p2 - math.sqrt(d1 ** 2 - 2 * phi * d1 * e2 + e2 ** 2),
            p1 - p2 + math.sqrt(e1 ** 2 - 2 * phi * e1 * d2 + d2 ** 2))


@pytest.mark.parametrize("table", [(5, 10, 1, 8), (2, 3, 3, 16), (12, 2, 9, 1), (0, 7, 0, 17), (20, 0, 0, 4)])
def test_the_marker_difference_is_newcombe_s_paired_interval(table):
    e, f, g, h = table
    pairs = ([Pair(i, "tie", True, True) for i in range(e)] + [Pair(100 + i, "tie", True, False) for i in range(f)]
             + [Pair(200 + i, "tie", False, True) for i in range(g)] + [Pair(300 + i, "tie", False, False) for i in range(h)])
    m = marker_difference(pairs)
    n = e + f + g + h
    assert m["difference"] == pytest.approx((f - g) / n)
    assert m["interval"] == pytest.approx(list(newcombe_textbook(e, f, g, h)), abs=0.01)


def test_newcombe_s_published_limits_where_the_pairs_are_uncorrelated():
    # Newcombe (1998, Stat Med 17:873) table II: 10/10 − 0/10 → 0.6075 to 1; 0/10 − 0/10 → −0.2775 to 0.2775
    # with the limits given, as the marker difference gives them (there clustered by prompt; here plain Wilson)
    assert newcombe_paired_interval(0, 10, 0, 0, second_limits=wilson(10, 10), first_limits=wilson(0, 10)) == pytest.approx(
        (0.6075, 1.0), abs=1e-4)
    assert newcombe_paired_interval(0, 0, 0, 10, second_limits=wilson(0, 10), first_limits=wilson(0, 10)) == pytest.approx(
        (-0.2775, 0.2775), abs=1e-4)


def test_markers_alone_decide_when_the_judge_ties_everything():
    gained = [Pair(i, "tie", tuned_marker=True, base_marker=False) for i in range(12)]
    assert character_outcome(gained).outcome == IMPROVED
    lost = [Pair(i, "tie", tuned_marker=False, base_marker=True) for i in range(12)]
    outcome = character_outcome(lost)
    assert outcome.outcome == WORSE and "below 0" in outcome.reason
    none = [Pair(i, "tie") for i in range(12)]
    assert character_outcome(none).outcome == NO_CLEAR_CHANGE


def test_winning_the_judge_while_losing_the_markers_counts_as_worse():
    pairs = [Pair(i, "tuned", tuned_marker=False, base_marker=True) for i in range(20)]
    outcome = character_outcome(pairs)
    assert outcome.win_rate["signal"] == "good" and outcome.marker_difference["signal"] == "bad"
    assert outcome.outcome == WORSE and outcome.reason.startswith("mixed evidence counts as worse")


@pytest.mark.parametrize("signals, expected", [
    ([None, None], NO_CLEAR_CHANGE), (["good", None], IMPROVED), (["good", "good"], IMPROVED),
    (["bad", None], WORSE), (["good", "bad"], WORSE), ([], NO_CLEAR_CHANGE),
])
def test_the_combination_rule(signals, expected):
    assert combine(signals) == expected


# --- unified jobs: exact McNemar -------------------------------------------------------------------


def mcnemar_exact_p(b: int, c: int) -> float:
    """Textbook exact McNemar: two-sided binomial tail of the discordant pairs at ½."""
    n = b + c
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2 ** n)


def cases(improved: int, regressed: int, both: int = 0, neither: int = 0) -> tuple[dict, dict]:
    """(base, tuned) graded cases, one repeat each: `improved` fail→pass, `regressed` pass→fail."""
    base, tuned = {}, {}
    for kind, count, b, t in (("up", improved, False, True), ("down", regressed, True, False),
                              ("both", both, True, True), ("neither", neither, False, False)):
        for i in range(count):
            base[f"{kind}-{i}"], tuned[f"{kind}-{i}"] = [b], [t]
    return base, tuned


@pytest.mark.parametrize("improved, regressed, expected", [(9, 1, IMPROVED), (1, 9, WORSE), (5, 3, NO_CLEAR_CHANGE),
                                                           (7, 0, IMPROVED), (3, 0, NO_CLEAR_CHANGE)])
def test_the_unified_verdict_is_exact_mcnemar_with_newcombe_s_paired_interval(improved, regressed, expected):
    both, neither = 4, 3
    base, tuned = cases(improved, regressed, both=both, neither=neither)
    outcome = unified_outcome(base, tuned, checkpoint="5. fine-tuning")
    paired = outcome.paired
    n = improved + regressed + both + neither
    assert paired["p_value"] == pytest.approx(mcnemar_exact_p(improved, regressed))
    assert paired["cases"] == n and paired["method"] == "mcnemar"
    assert paired["difference"] == pytest.approx((improved - regressed) / n)
    # tuned is the "first" proportion of Newcombe's table: both, tuned only (improved), base only (regressed), neither
    low, high = newcombe_textbook(both, improved, regressed, neither)
    assert paired["interval"] == pytest.approx([low, high], abs=1e-6)
    assert outcome.outcome == expected, outcome.reason
    # a verdict needs the interval to exclude 0 and the exact test to agree (3–0 of 10: interval > 0 but p = 0.25)
    significant = mcnemar_exact_p(improved, regressed) < 0.05
    assert (expected == IMPROVED) == (low > 0 and significant) and (expected == WORSE) == (high < 0 and significant)


def test_with_repeats_cases_are_resampled_with_all_their_repeats():
    base = {"a": [False, False], "b": [True, False], "c": [True, True], "d": [True, False]}
    tuned = {"a": [True, False], "b": [True, True], "c": [True, False], "d": [True, False]}
    paired = paired_cases(base, tuned)
    assert (paired["improved_cases"], paired["regressed_cases"], paired["unchanged_cases"]) == (2, 1, 1)
    assert paired["base_rate"] == pytest.approx(4 / 8) and paired["tuned_rate"] == pytest.approx(5 / 8)
    assert paired["method"] == "paired_bootstrap"
    # the case differences are +½, +½, −½, 0: every resampled mean lies in [−½, ½], and so does the interval
    assert -0.5 <= paired["interval"][0] <= 0.125 <= paired["interval"][1] <= 0.5
    # 12 cases that each gain a full repeat out of two: the bootstrap interval excludes 0
    gained = paired_cases({str(i): [True, False] for i in range(12)}, {str(i): [True, True] for i in range(12)})
    assert gained["interval"][0] > 0 and gained["signal"] == "good"


def test_unified_edges_are_defined_answers():
    nothing = unified_outcome({}, {}, checkpoint="2. analytical")
    assert nothing.outcome == NO_CLEAR_CHANGE and nothing.reason.startswith("no data")
    same = unified_outcome(*cases(0, 0, both=5, neither=5), checkpoint="2. analytical")
    assert same.outcome == NO_CLEAR_CHANGE and same.reason.startswith("no case changed")
    assert same.paired["p_value"] == 1.0 and same.paired["difference"] == 0
    ungraded = unified_outcome({"a": []}, {"a": [True]}, checkpoint="2. analytical")
    assert ungraded.outcome == NO_CLEAR_CHANGE and ungraded.reason.startswith("no data")


def test_a_job_that_ended_before_its_evaluation_has_no_data():
    outcome = not_evaluated("killed", "dpo_train")
    assert outcome.outcome == NO_CLEAR_CHANGE
    assert outcome.reason == "no data: the job was killed in dpo_train before its evaluation finished"
    assert outcome.as_dict()["label"] == "No clear change"


def test_a_bound_beside_no_change_keeps_the_decimals_that_tell_it_apart():
    from training_jobs.display import _change_interval
    from training_jobs.outcome import percent_text, pp_text

    # a win-rate interval that excludes 50% must not print as "50%–70%, above 50%"; nor a Δ's as "+0 to +30 pp"
    assert percent_text(0.503, 0.5) == "50.3%" and percent_text(0.7, 0.5) == "70%" and percent_text(0.5, 0.5) == "50%"
    assert pp_text(0.004) == "+0.4 pp" and pp_text(-0.3) == "−30 pp" and pp_text(0) == "+0 pp"
    assert _change_interval([0.004, 0.3]) == "+0.4 to +30 pp"
