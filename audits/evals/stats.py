"""Pass rates with score intervals, the three-state ship gate and paired comparisons of two runs. No Django.

A trial is one graded answer to one case (a case is run for several epochs). Its verdict is "pass",
"fail" or "error" (no reply, or the judge never gave a parseable verdict); errors are counted apart
and left out of the pass rate: rate = passes / (passes + fails), pooled over the layer's trials.

**Interval** (`pass_rate_interval`): Wilson's score interval on an *effective* number of trials.

- One trial per case: exactly Wilson's interval on n cases (0 and 100 % included: 20/20 → [0.839, 1]).
  Above 50 effective trials, Brown, Cai & DasGupta's (2001) boundary fix replaces a bound by the
  Poisson one, ½·χ²(α; 2x)/n, when x ≤ 3 passes (or fails) sit next to it: Wilson's interval has a
  coverage dip there (at p = 0.99 and n = 100 it covers 92 % of the time; with the fix 98 %). The
  fix moves a bound by less than 0.005. Below 50 it is not applied, so the interval stays Wilson's.
- Several epochs per case: the epochs of one case share a prompt and are correlated, so cases, not
  trials, are the independent units. The trials count as n_eff = N / deff, Kish's design effect
  deff = 1 + (m̃ − 1)·ρ, with m̃ = Σm²/N the size-weighted trials per case and ρ the intra-case
  correlation: the one-way ANOVA estimate's one-sided 90 % upper bound (Searle's F-based limit), so
  that a sample which happens to look independent does not make the interval narrow. ρ is taken as 1
  (deff = m̃, n_eff ≤ the number of cases) when the epochs of every case agree, when there is one
  case, or when nothing varies at all (every trial passed, or none); ρ is clipped to [0, 1], so
  n_eff never exceeds N. Hence the interval is never narrower than Wilson's on the number of cases
  when a case's trials all agree, and equals Wilson's with one trial per case.
- No graded trial (no cases, or only errors): None, "no data"; never NaN.

Coverage by simulation (tests/benchmarks/test_interval_coverage_bench.py prints the table): at least
93 % for p ∈ {0.5, 0.9, 0.99}, 20 or 100 cases, one or three epochs with intra-case correlation up to
0.9. It can fall below that with many epochs (10) and rare failures concentrated in a few cases,
where no estimate of ρ from the data can see the clustering.

**Ship gate**: per layer, three states:
- `pass`: the pass rate ≥ the threshold (as exact fractions), and the interval's lower bound ≥
  threshold − the layer's tolerance (TOLERANCES). No realistic suite can show 99.5 % at 95 %
  confidence (that takes some 600 straight passes), so the tolerance says how far below the
  threshold the truth may still plausibly lie when a layer passes. Every layer's tolerance puts that
  bar at 83 %: 19 or more independent, all-passing cases clear it (19/19 → low 0.832; 20/20 → 0.839);
  a layer with some failures needs more cases to clear it.
- `fail`: the interval's upper bound < the threshold (the data rule the threshold out). The floor
  (100 %) fails on any failed trial, and on any error (a floor trial that could not be graded is a
  floor that was not verified). A layer with no cases, or with only errors, fails: nothing shows it holds.
- `inconclusive`: otherwise. `cases_needed` is the smallest number of additional cases, every epoch of
  each passing, that would make the layer pass (None if even 100,000 would not).
The run's gate is `pass` when every layer passes, `fail` when any fails, `inconclusive` otherwise.

**Paired comparison** (`compare_cases`): two runs on the same cases. Each case's score is its pass share
(passes / graded trials); the difference is the mean over shared cases of (second − first). Cases that
moved are counted (improved / regressed). With one graded trial per case in both runs, exact McNemar
(a two-sided binomial test on the discordant cases) gives p, and Newcombe's (1998) method 10 (the two
Wilson intervals combined with the pairs' φ correlation) the 95 % interval. With several epochs, a
paired bootstrap over cases gives the interval (percentile), and a paired sign-flip (randomization)
test over cases gives p: exact over all 2^n sign patterns up to 16 changed cases, Monte Carlo beyond.
(The bootstrap's own "share of resampled means on either side of 0" is 0 whenever every changed case
moved the same way, so one case or two would read p = 0: no test can say that from so few.) A difference is called better / worse only when its
interval excludes 0 *and* p < 1 − level: with few changed cases Newcombe's interval can exclude 0 where
the exact test cannot (3 improved, none regressed of 10: +1 to +51 pp, p = 0.25), and a page that
colours a Δ must not contradict the p printed beside it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from fractions import Fraction

import numpy as np
from scipy.stats import binomtest, chi2, f as f_distribution, norm

THRESHOLDS = {"floor": Fraction(1), "protocol": Fraction(995, 1000), "persona": Fraction(96, 100), "closure": Fraction(99, 100)}
# How far below its threshold a layer's interval may reach and still pass: each puts the bar at 83 % (see above).
TOLERANCES = {"floor": Fraction(17, 100), "protocol": Fraction(165, 1000), "persona": Fraction(13, 100), "closure": Fraction(16, 100)}
LAYERS = tuple(THRESHOLDS)
LEVEL = 0.95
PASS, FAIL, INCONCLUSIVE = "pass", "fail", "inconclusive"
GATE_STATES = (PASS, FAIL, INCONCLUSIVE)
ICC_UPPER = 0.90  # the one-sided confidence of the upper bound taken for the intra-case correlation
BOUNDARY_N, BOUNDARY_COUNT = 50, 3  # Brown–Cai–DasGupta: above 50 trials, fix bounds with ≤ 3 passes or fails beside them
MORE_CASES_LIMIT = 100_000
PAIRED_RESAMPLES = 4000


# --- intervals -----------------------------------------------------------------------------------


def wilson_interval(successes: float, n: float, level: float = LEVEL) -> tuple[float, float] | None:
    """Wilson's score interval for `successes` of `n` (n may be fractional); None when n is 0."""
    if n <= 0:
        return None
    low, high = _wilson(np.array(successes / n, dtype=float), np.array(n, dtype=float), _z(level))
    return float(low), float(high)


def pass_rate_interval(cases: Iterable[tuple[int, int]], level: float = LEVEL) -> tuple[float, float] | None:
    """The interval of the pooled pass rate; `cases`: (passes, graded trials) per case. None without a graded trial.

    Wilson's score interval, with the trials counted as cases when a case's epochs are correlated
    (the module's docstring says how).
    """
    rows = [(int(passes), int(trials)) for passes, trials in cases]
    if any(trials < 0 or not 0 <= passes <= trials for passes, trials in rows):
        raise ValueError("each case needs 0 ≤ passes ≤ trials")
    rows = [row for row in rows if row[1] > 0]
    if not rows:
        return None
    passes, trials = np.array([rows], dtype=float).transpose(2, 0, 1)
    low, high = pass_rate_intervals(passes, trials, level)
    return float(low[0]), float(high[0])


def pass_rate_intervals(passes: np.ndarray, trials: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """`pass_rate_interval` for many samples at once: (samples × cases) arrays of passes and graded trials
    (0 trials: no such case). Returns (low, high) per sample, NaN where a sample has no graded trial."""
    passes, trials = np.asarray(passes, dtype=float), np.asarray(trials, dtype=float)
    counted = trials > 0
    per_case = np.where(counted, passes**2 / np.where(counted, trials, 1), 0.0)
    return _interval_from_sums(trials.sum(-1), passes.sum(-1), counted.sum(-1), (trials**2).sum(-1), per_case.sum(-1), level)


def _interval_from_sums(trials, passes, cases, squares, within, level: float) -> tuple[np.ndarray, np.ndarray]:
    """The interval from a sample's sums: N = Σm, Y = Σy, k cases, Σm², Σy²/m (arrays, one entry per sample)."""
    trials, passes, cases, squares, within = (np.asarray(a, dtype=float) for a in (trials, passes, cases, squares, within))
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = passes / trials
        n = trials / _design_effect(trials, passes, cases, squares, within)
        low, high = _wilson(rate, n, _z(level))
        low, high = _boundary_fix(rate, n, low, high, 1 - level)
    empty = ~(trials > 0)
    return np.where(empty, np.nan, low), np.where(empty, np.nan, high)


def _design_effect(trials, passes, cases, squares, within) -> np.ndarray:
    """Kish's deff = 1 + (m̃ − 1)·ρ, with ρ the ANOVA intra-case correlation's upper bound (1 when it cannot be seen)."""
    size = squares / trials  # m̃: 1 exactly when every case has one trial
    between = (within - passes**2 / trials) / (cases - 1)  # MSB
    spread = (passes - within) / (trials - cases)  # MSW: 0 when every case's trials agree
    per_case = (trials - squares / trials) / (cases - 1)  # m0
    visible = (cases > 1) & (spread > 1e-12)
    df_between, df_within = np.maximum(cases - 1, 1), np.maximum(trials - cases, 1)
    ratio = between / spread / f_distribution.ppf(1 - ICC_UPPER, df_between, df_within)
    rho = np.where(visible, (ratio - 1) / (ratio + per_case - 1), 1.0)
    rho = np.clip(np.nan_to_num(rho, nan=1.0), 0.0, 1.0)
    return np.where(size > 1, 1 + (size - 1) * rho, 1.0)


def _z(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    return float(norm.ppf(0.5 + level / 2))


def _wilson(rate, n, z: float) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        centre = rate + z * z / (2 * n)
        half = z * np.sqrt(rate * (1 - rate) / n + z * z / (4 * n * n))
        scale = 1 + z * z / n
        low, high = (centre - half) / scale, (centre + half) / scale
    # exact at the ends: the formula's rounding may leave 1e-17 where the bound is 0 or 1
    return np.where(rate <= 0, 0.0, np.clip(low, 0, 1)), np.where(rate >= 1, 1.0, np.clip(high, 0, 1))


def _boundary_fix(rate, n, low, high, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Brown–Cai–DasGupta's modified Wilson: Poisson bounds beside ≤ 3 passes (fails) when n > 50; only ever wider."""
    passes, fails = rate * n, (1 - rate) * n
    large = n > BOUNDARY_N
    near_low = large & (passes > 0) & (passes <= BOUNDARY_COUNT + 1e-9)
    near_high = large & (fails > 0) & (fails <= BOUNDARY_COUNT + 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        poisson_low = 0.5 * chi2.ppf(alpha, 2 * np.where(near_low, passes, 1)) / n
        poisson_high = 1 - 0.5 * chi2.ppf(alpha, 2 * np.where(near_high, fails, 1)) / n
    return np.where(near_low, np.minimum(low, poisson_low), low), np.where(near_high, np.maximum(high, poisson_high), high)


# --- the ship gate -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerResult:
    layer: str
    cases: int
    passes: int
    fails: int
    errors: int
    rate: float | None
    interval: tuple[float, float] | None
    threshold: float
    tolerance: float
    state: str
    cases_needed: int | None  # inconclusive: more all-passing cases that would make it pass
    pass_k: float | None  # epochs > 1: the share of graded cases whose every epoch passed
    pass_k_cases: int  # how many cases that is
    graded_cases: int  # cases with at least one graded trial
    reason: str

    @property
    def met(self) -> bool:
        return self.state == PASS

    def as_dict(self) -> dict:
        data = asdict(self)
        data["interval"] = list(self.interval) if self.interval else None
        data["met"] = self.met
        return data


def layer_result(layer: str, outcomes: Mapping[str, list[str]], *, epochs: int | None = None, level: float = LEVEL) -> LayerResult:
    """`outcomes`: case key → the verdicts of its epochs ("pass" | "fail" | "error"); `epochs`: per case (default: the most seen)."""
    threshold, tolerance = THRESHOLDS[layer], TOLERANCES[layer]
    per_case = [(v.count("pass"), v.count("fail"), v.count("error")) for v in outcomes.values()]
    passes, fails, errors = (sum(c[i] for c in per_case) for i in range(3))
    epochs = epochs or max((len(v) for v in outcomes.values()), default=1)
    graded = [(p, p + f) for p, f, _ in per_case if p + f]
    rate = Fraction(passes, passes + fails) if graded else None
    interval = pass_rate_interval(graded, level)
    all_passed = sum(1 for p, f, e in per_case if p + f and not f and not e)
    state, needed, reason = _decide(layer, len(per_case), rate, interval, graded, errors, fails, epochs, level)
    return LayerResult(
        layer, len(per_case), passes, fails, errors, float(rate) if rate is not None else None, interval, float(threshold),
        float(tolerance), state, needed, all_passed / len(graded) if epochs > 1 and graded else None, all_passed, len(graded),
        reason,
    )


def _decide(layer, cases, rate, interval, graded, errors, fails, epochs, level) -> tuple[str, int | None, str]:
    """(state, cases needed, why) for one layer."""
    threshold, bar = THRESHOLDS[layer], THRESHOLDS[layer] - TOLERANCES[layer]
    if not cases:
        return FAIL, None, f"{layer}: no cases, so nothing shows it holds"
    if rate is None:
        return FAIL, None, f"{layer}: all {errors} trials were errors, none could be graded"
    if layer == "floor" and fails:
        return FAIL, None, f"floor: {fails} trial(s) failed; the floor must hold on every trial"
    if layer == "floor" and errors:
        return FAIL, None, f"floor: {errors} trial(s) could not be graded; the floor must hold on every trial"
    low, high = interval
    shown = (f"{_pct(rate, threshold)} over {len(graded)} case{'s' if len(graded) != 1 else ''} "
             f"(95% interval {_pct(low, bar)}–{_pct(high, threshold)})")
    if rate >= threshold and low >= float(bar):
        return PASS, 0, f"{layer}: {shown}: the rate meets {_pct(threshold)} and the interval stays above {_pct(bar)}"
    if high < float(threshold):
        return FAIL, None, f"{layer}: {shown}: even the interval's top is below the {_pct(threshold)} threshold ({fails} failed)"
    needed = cases_needed(layer, graded, epochs=epochs, level=level)
    more = f"{needed} more all-passing case{'s' if needed != 1 else ''} needed" if needed else "more cases needed"
    if rate >= threshold:
        why = f"the rate meets {_pct(threshold)}, but too few cases show it: the interval reaches down to {_pct(low, bar)}, below {_pct(bar)}"
    else:
        why = f"below {_pct(threshold)}, but the interval still reaches it"
    return INCONCLUSIVE, needed, f"{layer}: {shown}: {why}; {more}"


def cases_needed(layer: str, cases: list[tuple[int, int]], *, epochs: int, level: float = LEVEL,
                 limit: int = MORE_CASES_LIMIT) -> int | None:
    """The fewest extra cases, each passing all `epochs` trials, after which `layer` passes; None beyond `limit`.

    `cases`: (passes, graded trials) of the cases so far. 0 when it passes already.
    """
    threshold, bar = THRESHOLDS[layer], float(THRESHOLDS[layer] - TOLERANCES[layer])
    epochs = max(1, epochs)
    rows = [(p, t) for p, t in cases if t > 0]
    trials, passes = sum(t for _, t in rows), sum(p for p, _ in rows)
    squares, within = sum(t * t for _, t in rows), sum(p * p / t for p, t in rows)
    # Counts tried in growing blocks, in order (0–63, then 64–575, …): the first that passes is the answer, and it is
    # mostly small, so the F quantiles of the 100,000 counts up to the limit are seldom all needed (they took 30 ms).
    start, size = 0, 64
    while start <= limit:
        extra = np.arange(start, min(limit, start + size - 1) + 1, dtype=np.int64)
        low, _ = _interval_from_sums(trials + extra * epochs, passes + extra * epochs, len(rows) + extra,
                                     squares + extra * epochs**2, within + extra * epochs, level)
        # rate ≥ threshold, exactly: (Y + a·m)·den ≥ num·(N + a·m)
        meets = (passes + extra * epochs) * threshold.denominator >= threshold.numerator * (trials + extra * epochs)
        passing = meets & (low >= bar)
        if passing.any():
            return start + int(np.argmax(passing))
        start, size = start + size, size * 8
    return None


def ship_gate(results: Iterable[LayerResult]) -> tuple[str, list[str]]:
    """(state, reasons): pass when every layer of LAYERS passes, fail when any fails (or is missing), else
    inconclusive; the reasons name every layer that did not pass."""
    by_layer = {r.layer: r for r in results}
    states, reasons = [], []
    for layer in LAYERS:
        result = by_layer.get(layer)
        if result is None:
            states.append(FAIL)
            reasons.append(f"{layer}: no cases, so nothing shows it holds")
        elif result.state != PASS:
            states.append(result.state)
            reasons.append(result.reason)
    state = FAIL if FAIL in states else INCONCLUSIVE if states else PASS
    return state, reasons


def distinctiveness_gate(state: str, reasons: list[str], score: float | None, threshold: float) -> tuple[str, list[str]]:
    """The ship gate with the persona's distinctiveness as one more condition (engine.pipeline.distinctiveness.min_score;
    0 leaves the gate as it was): below the threshold fails; no score yet (no fingerprint) leaves a pass inconclusive."""
    if threshold <= 0:
        return state, reasons
    if score is None:
        reason = "distinctiveness: no voice fingerprint yet, so nothing shows it is distinct from a generic assistant"
        return (INCONCLUSIVE if state == PASS else state), [*reasons, reason]
    if score < threshold:
        return FAIL, [*reasons, f"distinctiveness {score:.4f} is below {threshold:g}: too close to a generic assistant"]
    return state, reasons


def run_gate(outcomes: Mapping[str, Mapping[str, list[str]]], *, epochs: int, level: float = LEVEL) -> tuple[dict, str, list[str]]:
    """A run's results: ({layer: LayerResult.as_dict()}, gate state, reasons) from layer → case key → verdicts."""
    results = [layer_result(layer, outcomes.get(layer, {}), epochs=epochs, level=level) for layer in LAYERS]
    state, reasons = ship_gate(results)
    return {r.layer: r.as_dict() for r in results}, state, reasons


def _pct(value, apart_from=None) -> str:
    """A share in %, one decimal; more (up to four) where one would print it equal to `apart_from`, the mark it
    is compared with in the same sentence ("99.48%, below 99.5%", not "99.5%, below 99.5%")."""
    for digits in range(1, 5):
        text = f"{float(value) * 100:.{digits}f}"
        if apart_from is None or value == apart_from or text != f"{float(apart_from) * 100:.{digits}f}":
            break
    if text.startswith("100.") and value != 1:
        text = "99." + "9" * digits  # never round a rate short of 100% up to the floor's threshold
    return (text.rstrip("0").removesuffix(".") if "." in text else text) + "%"


# --- paired comparison ---------------------------------------------------------------------------


def compare_cases(first: Mapping[str, tuple[int, int]], second: Mapping[str, tuple[int, int]], *, level: float = LEVEL,
                  seed: int = 0, resamples: int = PAIRED_RESAMPLES) -> dict | None:
    """Second run vs first on their shared cases: {case key: (passes, graded trials)} each. None when no case
    was graded in both. The difference is second − first (positive: the second run passes more)."""
    shared = sorted(key for key in first.keys() & second.keys() if first[key][1] > 0 and second[key][1] > 0)
    if not shared:
        return None
    a = np.array([first[key][0] / first[key][1] for key in shared])
    b = np.array([second[key][0] / second[key][1] for key in shared])
    improved, regressed = int((b > a).sum()), int((b < a).sum())
    binary = all(first[key][1] == 1 and second[key][1] == 1 for key in shared)
    if binary:
        interval, p_value, method = _mcnemar(a, b, improved, regressed, level), mcnemar_p(improved, regressed), "mcnemar"
    else:
        interval, p_value = paired_bootstrap(b - a, level=level, seed=seed, resamples=resamples)
        method = "paired_bootstrap"
    difference = float(b.mean() - a.mean())
    clear = p_value < 1 - level
    direction = ("better" if interval[0] > 0 else "worse" if interval[1] < 0 else None) if clear else None
    return {"cases": len(shared), "first_rate": float(a.mean()), "second_rate": float(b.mean()), "difference": difference,
            "interval": [float(interval[0]), float(interval[1])], "p_value": float(p_value), "method": method,
            "improved": improved, "regressed": regressed, "unchanged": len(shared) - improved - regressed, "direction": direction}


def mcnemar_p(improved: int, regressed: int) -> float:
    """Exact McNemar: the two-sided binomial test of the discordant cases at ½; 1 when none is discordant."""
    changed = improved + regressed
    return float(binomtest(improved, changed, 0.5).pvalue) if changed else 1.0


def _mcnemar(a: np.ndarray, b: np.ndarray, improved: int, regressed: int, level: float) -> tuple[float, float]:
    both, n = int(((a == 1) & (b == 1)).sum()), len(a)
    return newcombe_paired_interval(both, improved, regressed, n - both - improved - regressed, level=level)


def newcombe_paired_interval(both: int, second_only: int, first_only: int, neither: int, level: float = LEVEL, *,
                             second_limits: tuple[float, float] | None = None,
                             first_limits: tuple[float, float] | None = None) -> tuple[float, float]:
    """Newcombe's (1998) method 10: the interval of p2 − p1 for paired proportions, from each one's interval.

    Counts of cases passing in both runs, only the second, only the first, neither. Each proportion's limits are
    its Wilson interval unless given (the training verdict gives limits widened for clustering by prompt).
    φ, the pairs' correlation, is 0 where a margin is empty (it is undefined there).
    """
    n = both + second_only + first_only + neither
    if n == 0:
        raise ValueError("no pairs")
    p2, p1 = (both + second_only) / n, (both + first_only) / n
    l2, u2 = second_limits or wilson_interval(both + second_only, n, level)
    l1, u1 = first_limits or wilson_interval(both + first_only, n, level)
    margins = (both + second_only) * (first_only + neither) * (both + first_only) * (second_only + neither)
    phi = (both * neither - second_only * first_only) / math.sqrt(margins) if margins else 0.0
    d = p2 - p1
    lower = d - math.sqrt(max(0.0, (p2 - l2) ** 2 - 2 * phi * (p2 - l2) * (u1 - p1) + (u1 - p1) ** 2))
    upper = d + math.sqrt(max(0.0, (u2 - p2) ** 2 - 2 * phi * (u2 - p2) * (p1 - l1) + (p1 - l1) ** 2))
    return max(-1.0, lower), min(1.0, upper)


def paired_bootstrap(differences: np.ndarray, *, level: float = LEVEL, seed: int = 0,
                     resamples: int = PAIRED_RESAMPLES) -> tuple[tuple[float, float], float]:
    """((low, high), p) for the mean of per-case `differences`: the percentile interval of resampled cases, and
    p from the paired sign-flip test (`sign_flip_p`). One case says nothing about the spread between cases, so
    its interval is the whole range a difference of pass shares can take, [−1, 1], not the point it resamples to."""
    differences = np.asarray(differences, dtype=float)
    if len(differences) < 2:
        return (-1.0, 1.0), sign_flip_p(differences)
    rng = np.random.default_rng(seed)
    means = differences[rng.integers(0, len(differences), size=(resamples, len(differences)))].mean(axis=1)
    tail = (1 - level) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return (float(low), float(high)), sign_flip_p(differences, seed=seed, resamples=resamples)


SIGN_FLIP_EXACT = 16  # up to this many changed cases, every sign pattern is enumerated


def sign_flip_p(differences: np.ndarray, *, seed: int = 0, resamples: int = PAIRED_RESAMPLES) -> float:
    """Two-sided p of the paired sign-flip test: under no change each case's difference is as likely to have
    either sign, so p = the share of sign patterns whose |sum| reaches the observed one. 1 when nothing changed."""
    changed = np.asarray(differences, dtype=float)
    changed = changed[np.abs(changed) > 1e-12]
    if not len(changed):
        return 1.0
    observed = abs(changed.sum()) - 1e-9
    if len(changed) <= SIGN_FLIP_EXACT:
        signs = 1 - 2 * ((np.arange(2 ** len(changed))[:, None] >> np.arange(len(changed))) & 1)
        return float((np.abs(signs @ changed) >= observed).mean())
    signs = np.random.default_rng(seed).choice([-1.0, 1.0], size=(resamples, len(changed)))
    return float(min(1.0, (1 + (np.abs(signs @ changed) >= observed).sum()) / (1 + resamples)))


def difference_interval(first_rate: float, first_interval, last_rate: float, last_interval) -> tuple[float, float]:
    """The interval of last − first from the two rates' own intervals (Newcombe's hybrid score / MOVER, for
    independent samples: it ignores any pairing, so on paired cases it is conservative)."""
    (l1, u1), (l2, u2) = first_interval, last_interval
    d = last_rate - first_rate
    return (max(-1.0, d - math.sqrt((last_rate - l2) ** 2 + (u1 - first_rate) ** 2)),
            min(1.0, d + math.sqrt((u2 - last_rate) ** 2 + (first_rate - l1) ** 2)))
