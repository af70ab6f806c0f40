"""Did the training work? A finished job's verdict from tuned-vs-base evidence with 95 % intervals. No Django.

The outcome is `improved`, `no_clear_change` or `worse`. A signal counts only when its interval excludes
"no change"; a point estimate alone never decides.

Character jobs (the evaluation stage: held-out prompts, each sampled several times, base vs tuned pairs judged
in both orders) give two signals, each clustered by prompt, since the samples of one prompt are correlated
and the prompt, not the sample, is the independent unit:

- **win rate**: of the pairs the judge decided, the share the tuned model won. Ties are left out (a tie says
  neither reply is better; counting it as half a win would pull the rate toward 50 % without evidence) and
  reported beside it. Interval: `audits.evals.stats.pass_rate_interval` over prompts, each prompt's
  (tuned wins, decided pairs): Wilson's score interval, widened for clustering. A signal when it excludes 50 %.
- **marker difference**: the share of tuned replies carrying one of the constitution's markers minus the
  share of base replies, the two replies of one (prompt, sample) forming a pair. Interval: Newcombe's hybrid
  score interval for paired proportions (Newcombe 1998, method 10: the two Wilson limits combined with the
  pairs' φ correlation), with each proportion's limits from `pass_rate_interval` over prompts: the formula of
  `audits.evals.stats.newcombe_paired_interval`, given clustered limits instead of plain Wilson ones. A signal
  when it excludes 0.

Combination: `worse` when any signal is bad (tuned loses, or uses markers less); `improved` when at least one
is good and none is bad; otherwise `no_clear_change` (including no data). A tuned model that wins the
judge but drops its markers, or the reverse, is `worse`: a regression on either axis is not an improvement.

Unified jobs (the behavioral-range eval: the same cases on base and on every checkpoint) compare the last
checkpoint with base, case by case, as the Evals tab compares two runs (`audits.evals.stats.compare_cases`):
the difference in pass rate with exact McNemar's p (a two-sided binomial test on the cases that changed)
and Newcombe's paired interval when each case ran once; a paired bootstrap over cases (interval) and a
sign-flip test (p) when it ran several times. `improved` / `worse` when that interval excludes 0 *and* p < 5 %: with few changed cases Newcombe's
interval can exclude 0 where the exact test cannot (3 improved, none regressed of 10: interval +1 to +51 pp,
McNemar p = 0.25), and a verdict should not rest on the weaker of the two.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from audits.evals.stats import compare_cases, newcombe_paired_interval, pass_rate_interval

IMPROVED, NO_CLEAR_CHANGE, WORSE = "improved", "no_clear_change", "worse"
OUTCOMES = (IMPROVED, NO_CLEAR_CHANGE, WORSE)
LABELS = {IMPROVED: "Improved", NO_CLEAR_CHANGE: "No clear change", WORSE: "Worse"}
LEVEL = 0.95


@dataclass(frozen=True)
class Pair:
    """One held-out (prompt, sample): the judge's winner and whether each reply carries a marker."""

    prompt: Hashable  # the cluster: every sample of one prompt shares it
    winner: str | None  # "tuned" | "base" | "tie" | None (the judge gave no verdict)
    tuned_marker: bool = False
    base_marker: bool = False


@dataclass(frozen=True)
class Outcome:
    outcome: str
    reason: str  # one line, in words, with the figures
    method: str  # "judged pairs" (character jobs) | "paired cases" (unified jobs) | "none"
    win_rate: dict | None = None
    marker_difference: dict | None = None
    paired: dict | None = None
    level: float = LEVEL
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"outcome": self.outcome, "label": LABELS[self.outcome], "reason": self.reason, "method": self.method,
                "level": self.level, "win_rate": self.win_rate, "marker_difference": self.marker_difference,
                "paired": self.paired}


def _digits(value: float, mark: float | None, fmt: str) -> str:
    """`value` (×100) in `fmt` with no decimals, or with as many (up to 2) as it takes not to print it equal to `mark`
    when it is not: an interval that excludes 50% must not read "50%–70%, above 50%"."""
    for digits in range(3):
        text = format(100 * value, fmt.format(digits))
        if mark is None or value == mark or text != format(100 * mark, fmt.format(digits)):
            break
    return text


def percent_text(value: float, mark: float | None = None) -> str:
    return _digits(value, mark, ".{}f") + "%"


def pp_text(value: float) -> str:
    return (_digits(value, 0.0, "+.{}f") + " pp").replace("-", "−")


def _signal(interval, null: float) -> str | None:
    """"good" when the whole interval lies above `null`, "bad" when below, None when it includes it."""
    if interval is None:
        return None
    low, high = interval
    return "good" if low > null else "bad" if high < null else None


# --- character jobs --------------------------------------------------------------------------------


def win_rate(pairs: Sequence[Pair], level: float = LEVEL) -> dict:
    """Tuned wins among decided pairs, with its interval over prompts; "signal" good / bad / None."""
    by_prompt: dict = defaultdict(lambda: [0, 0])
    counts = {"tuned": 0, "base": 0, "tie": 0, None: 0}
    for pair in pairs:
        counts[pair.winner if pair.winner in counts else None] += 1
        if pair.winner in ("tuned", "base"):
            by_prompt[pair.prompt][0] += pair.winner == "tuned"
            by_prompt[pair.prompt][1] += 1
    decided = counts["tuned"] + counts["base"]
    interval = _interval(list(by_prompt.values()), level) if decided else None
    return {"tuned_wins": counts["tuned"], "base_wins": counts["base"], "ties": counts["tie"], "unjudged": counts[None],
            "decided": decided, "judged": decided + counts["tie"], "prompts": len(by_prompt),
            "rate": counts["tuned"] / decided if decided else None, "interval": interval, "signal": _signal(interval, 0.5)}


def _interval(cases: list, level: float) -> list[float] | None:
    interval = pass_rate_interval([tuple(c) for c in cases], level=level)
    return [float(interval[0]), float(interval[1])] if interval is not None else None


def marker_difference(pairs: Sequence[Pair], level: float = LEVEL) -> dict | None:
    """Share of tuned replies with a marker − share of base replies, with Newcombe's paired interval. None without pairs."""
    if not pairs:
        return None
    tuned_by_prompt: dict = defaultdict(lambda: [0, 0])
    base_by_prompt: dict = defaultdict(lambda: [0, 0])
    table = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for pair in pairs:
        table[(bool(pair.tuned_marker), bool(pair.base_marker))] += 1
        for tally, hit in ((tuned_by_prompt, pair.tuned_marker), (base_by_prompt, pair.base_marker)):
            tally[pair.prompt][0] += bool(hit)
            tally[pair.prompt][1] += 1
    tuned_limits = _interval(list(tuned_by_prompt.values()), level)
    base_limits = _interval(list(base_by_prompt.values()), level)
    interval = list(newcombe_paired_interval(table[True, True], table[True, False], table[False, True], table[False, False],
                                             level, second_limits=tuned_limits, first_limits=base_limits))
    n = len(pairs)
    tuned, base = (table[True, True] + table[True, False]) / n, (table[True, True] + table[False, True]) / n
    return {"tuned": tuned, "base": base, "difference": tuned - base, "interval": interval, "pairs": n,
            "prompts": len(tuned_by_prompt), "tuned_interval": tuned_limits, "base_interval": base_limits,
            "signal": _signal(interval, 0.0)}


def _win_words(w: dict) -> str:
    if not w["judged"]:
        return "the judge decided no pair" + (f" ({w['unjudged']} without a verdict)" if w["unjudged"] else "")
    if not w["decided"]:
        return ("the one judged pair was a tie" if w["judged"] == 1
                else f"every one of the {w['judged']} judged pairs was a tie")
    low, high = w["interval"]
    where = {"good": "above 50%", "bad": "below 50%", None: "includes 50%"}[w["signal"]]
    ties = f", {w['ties']} ties left out" if w["ties"] else ""
    return (f"tuned won {w['tuned_wins']} of {w['decided']} decided pairs ({percent_text(w['rate'])}, 95% interval "
            f"{percent_text(low, 0.5)}–{percent_text(high, 0.5)}, {where}{ties}; decided pairs on {_prompts(w['prompts'])})")


def _prompts(n: int) -> str:
    return f"{n} prompt{'' if n == 1 else 's'}"


def _marker_words(m: dict | None) -> str:
    if m is None:
        return "no marker to count"
    low, high = m["interval"]
    where = {"good": "above 0", "bad": "below 0", None: "includes 0"}[m["signal"]]
    return (f"markers in {percent_text(m['tuned'])} of tuned vs {percent_text(m['base'])} of base replies ({pp_text(m['difference'])}, "
            f"95% interval {pp_text(low)} to {pp_text(high)}, {where})")


def combine(signals: Iterable[str | None]) -> str:
    """The combination rule: any bad → worse; else any good → improved; else no clear change."""
    signals = list(signals)
    if "bad" in signals:
        return WORSE
    return IMPROVED if "good" in signals else NO_CLEAR_CHANGE


def character_outcome(pairs: Sequence[Pair], *, markers: bool = True, level: float = LEVEL) -> Outcome:
    """The verdict on a character job from its evaluation's pairs. `markers`: whether the constitution has any."""
    wins = win_rate(pairs, level)
    marks = marker_difference(pairs, level) if markers else None
    if not wins["decided"] and marks is None:
        reason = "no data: " + (_win_words(wins) if pairs else "the evaluation produced no pairs")
        return Outcome(NO_CLEAR_CHANGE, reason, "judged pairs", wins, None, level=level)
    verdict = combine([wins["signal"], marks["signal"] if marks else None])
    lead = {IMPROVED: "tuned is better than base", WORSE: "tuned is worse than base",
            NO_CLEAR_CHANGE: "neither signal is clear"}[verdict]
    if verdict == WORSE and "good" in (wins["signal"], marks["signal"] if marks else None):
        lead = "mixed evidence counts as worse"
    reason = f"{lead}: {_win_words(wins)}; {_marker_words(marks)}"
    return Outcome(verdict, reason, "judged pairs", wins, marks, level=level)


# --- unified jobs ----------------------------------------------------------------------------------


def paired_cases(base: dict, tuned: dict, level: float = LEVEL) -> dict:
    """`tuned` vs `base` on their shared cases ({case id: [passed, …] per graded repeat} each), by
    audits.evals.stats.compare_cases: exact McNemar and Newcombe's paired interval with one repeat, a paired
    bootstrap over cases with several. "signal" good / bad when the difference's interval excludes 0 and p < 1 − level."""
    counts = lambda graded: {case: (sum(v), len(v)) for case, v in graded.items() if v}  # noqa: E731
    compared = compare_cases(counts(base), counts(tuned), level=level)
    if compared is None:
        return {"cases": 0, "improved_cases": 0, "regressed_cases": 0, "unchanged_cases": 0, "base_rate": None,
                "tuned_rate": None, "difference": None, "interval": None, "p_value": None, "method": None, "signal": None}
    return {"cases": compared["cases"], "improved_cases": compared["improved"], "regressed_cases": compared["regressed"],
            "unchanged_cases": compared["unchanged"], "base_rate": compared["first_rate"], "tuned_rate": compared["second_rate"],
            "difference": compared["difference"], "interval": compared["interval"], "p_value": compared["p_value"],
            "method": compared["method"],
            "signal": {"better": "good", "worse": "bad"}.get(compared["direction"])}


def unified_outcome(base: dict, tuned: dict, *, checkpoint: str, level: float = LEVEL) -> Outcome:
    """The verdict on a unified job: its last checkpoint (`checkpoint`, graded `tuned`) vs base on the same cases."""
    paired = {**paired_cases(base, tuned, level), "checkpoint": checkpoint}
    if not paired["cases"]:
        return Outcome(NO_CLEAR_CHANGE, f"no data: no case was graded on both base and {checkpoint}", "paired cases",
                       paired=paired, level=level)
    low, high = paired["interval"]
    where = "above 0" if low > 0 else "below 0" if high < 0 else "includes 0"
    test = "exact McNemar" if paired["method"] == "mcnemar" else "paired sign-flip test"
    figures = (f"pass rate {percent_text(paired['base_rate'])} on base → {percent_text(paired['tuned_rate'])} on {checkpoint} "
               f"({pp_text(paired['difference'])}, 95% interval {pp_text(low)} to {pp_text(high)}, {where}; {paired['cases']} cases: "
               f"{paired['improved_cases']} improved, {paired['regressed_cases']} regressed; {test} p = {paired['p_value']:.3g})")
    verdict = combine([paired["signal"]])
    lead = {IMPROVED: f"{checkpoint} is better than base", WORSE: f"{checkpoint} is worse than base",
            NO_CLEAR_CHANGE: "no clear change" if paired["improved_cases"] + paired["regressed_cases"]
            else f"no case changed between base and {checkpoint}"}[verdict]
    return Outcome(verdict, f"{lead}: {figures}", "paired cases", paired=paired, level=level)


def not_evaluated(status: str, stage: str | None) -> Outcome:
    """A job that ended before its evaluation: no evidence either way."""
    how = {"failed": "failed", "killed": "was killed", "cancelled": "was cancelled"}.get(status, "ended")
    where = f" in {stage}" if stage else ""
    return Outcome(NO_CLEAR_CHANGE, f"no data: the job {how}{where} before its evaluation finished", "none")
