"""Figures of a robustness attack run, per attack and side: in-character rates with intervals, mean drift. No Django.

Per attack and side (`side_summary`), from its replies (one per ordinary prompt):
- **judge**: the share of graded replies the judge found in character (errors, replies it could not grade, apart),
  with Wilson's 95 % score interval (one reply per prompt: audits.evals.stats.wilson_interval; None with no data).
- **fingerprint**: the share of embedded replies whose drift is within the fingerprint's bound, Wilson likewise.
- **drift**: the mean cosine distance from the fingerprint with Student's t 95 % interval (None with fewer than two;
  a zero-width interval when every distance is the same).
Base vs tuned (`paired_difference`), on the prompts both sides answered: the judge rates' difference with
Newcombe's paired interval and exact McNemar (audits.evals.stats.compare_cases), and the mean drift difference
(tuned − base) with the paired t interval.
"""

import math
from collections.abc import Iterable, Mapping

import numpy as np
from scipy import stats as scipy_stats

from audits.evals.stats import LEVEL, compare_cases, wilson_interval

PASS, FAIL = "pass", "fail"


def rate_with_interval(successes: int, n: int, level: float = LEVEL) -> dict:
    """{successes, n, rate, interval}: rate and interval None when n is 0."""
    interval = wilson_interval(successes, n, level) if n else None
    return {"successes": successes, "n": n, "rate": successes / n if n else None,
            "interval": [interval[0], interval[1]] if interval else None}


def mean_with_interval(values: Iterable[float], level: float = LEVEL) -> dict:
    """{n, mean, sd, interval}: Student's t interval of the mean (None below two values; mean None with none)."""
    data = np.asarray([v for v in values if v is not None], dtype=float)
    n = len(data)
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "interval": None}
    mean = float(data.mean())
    if n < 2:
        return {"n": 1, "mean": mean, "sd": None, "interval": None}
    sd = float(data.std(ddof=1))
    half = float(scipy_stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    return {"n": n, "mean": mean, "sd": sd, "interval": [mean - half, mean + half]}


def side_summary(replies: Iterable[Mapping]) -> dict:
    """`replies`: {verdict, drift, within_bound} each (drift and within_bound None where not embedded)."""
    replies = list(replies)
    verdicts = [r["verdict"] for r in replies]
    graded = [v for v in verdicts if v in (PASS, FAIL)]
    bounded = [r["within_bound"] for r in replies if r.get("within_bound") is not None]
    return {
        "replies": len(replies),
        "judge": {**rate_with_interval(graded.count(PASS), len(graded)), "errors": len(verdicts) - len(graded)},
        "fingerprint": rate_with_interval(sum(bool(b) for b in bounded), len(bounded)),
        "drift": mean_with_interval(r.get("drift") for r in replies),
    }


def paired_difference(base: Mapping[int, Mapping], tuned: Mapping[int, Mapping], level: float = LEVEL) -> dict:
    """Tuned − base on the prompts both answered: `base`, `tuned` map a prompt index to its reply's
    {verdict, drift}. {judge: compare_cases' result or None, drift: {n, mean, sd, interval} of the differences}."""
    def graded(side):
        return {str(i): (int(r["verdict"] == PASS), 1) for i, r in side.items() if r["verdict"] in (PASS, FAIL)}

    judge = compare_cases(graded(base), graded(tuned), level=level)
    shared = sorted(i for i in base.keys() & tuned.keys() if base[i].get("drift") is not None and tuned[i].get("drift") is not None)
    drift = mean_with_interval([tuned[i]["drift"] - base[i]["drift"] for i in shared], level)
    return {"judge": judge, "drift": drift}


# --- the chart: in-character rate bars with their intervals as whiskers ------------------------------

CHART_WIDTH, CHART_LEFT, CHART_RIGHT = 480, 150, 440  # the 0 % and 100 % x positions
BAR_HEIGHT, BAR_GAP, ROW_GAP = 8, 2, 6
SIDE_COLOURS = {"persona": "#4a78c2", "base": "#9aa0ad", "tuned": "#7c4dff"}


def rate_chart(summary: Mapping, measure: str = "judge") -> dict | None:
    """SVG coordinates for each attack's in-character rate (`measure`: judge | fingerprint), one bar per side with the
    Wilson interval as a whisker; None for a run with no figures. A side with no data draws no bar."""
    attacks, sides = summary.get("attacks") or [], summary.get("sides") or []
    if not attacks or not sides:
        return None
    span = CHART_RIGHT - CHART_LEFT

    def x(value: float) -> float:
        return round(CHART_LEFT + span * value, 2)

    rows, y = [], 4
    for attack in attacks:
        bars = []
        for side in sides:
            figure = attack["sides"][side][measure]
            bar = {"side": side, "colour": SIDE_COLOURS.get(side, "#4a78c2"), "y": y, "mid": y + BAR_HEIGHT / 2,
                   "rate": figure["rate"], "n": figure["n"], "successes": figure["successes"]}
            if figure["rate"] is not None:
                low, high = figure["interval"]
                bar.update(width=round(span * figure["rate"], 2), lo_x=x(low), hi_x=x(high), low=low, high=high,
                           top=y + 1, bottom=y + BAR_HEIGHT - 1)
            bars.append(bar)
            y += BAR_HEIGHT + BAR_GAP
        rows.append({"id": attack["id"], "title": attack["title"], "text_y": bars[0]["y"] + BAR_HEIGHT * len(bars) / 2 + 3, "bars": bars})
        y += ROW_GAP
    return {"width": CHART_WIDTH, "height": y + 12, "left": CHART_LEFT, "right": CHART_RIGHT, "half": x(0.5), "axis_y": y,
            "measure": measure, "rows": rows, "sides": [{"side": s, "colour": SIDE_COLOURS.get(s, "#4a78c2")} for s in sides]}
