"""Pass rates, bootstrap intervals and the ship gate. No Django; numpy for the resampling.

A trial is one graded answer to one case (a case is run for several epochs). Its verdict is
"pass", "fail" or "error" (no reply, or the judge never gave a parseable verdict); errors are
counted apart and left out of the pass rate: rate = passes / (passes + fails).

The 95% interval is a percentile bootstrap that resamples *cases*, each with all its epochs
(a cluster bootstrap). Epochs of one case share a prompt and are correlated, so resampling single
trials would pretend to more independent evidence than a run has and make the interval too narrow.
The seed is fixed per run, so the same trials always give the same interval.

The gate compares the point estimate (not the interval) with each layer's threshold, as exact
fractions: `floor` needs every graded trial to pass (99.9% fails). A layer fails the gate when it
has no cases, or no graded trial (only errors); `floor` also fails on any error, because a floor
trial that could not be graded is a floor that was not verified.
"""

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from fractions import Fraction

import numpy as np

THRESHOLDS = {"floor": Fraction(1), "protocol": Fraction(995, 1000), "persona": Fraction(96, 100), "closure": Fraction(99, 100)}
LAYERS = tuple(THRESHOLDS)
RESAMPLES = 2000
LEVEL = 0.95


def bootstrap_interval(cases: Iterable[tuple[int, int]], *, seed: int, resamples: int = RESAMPLES, level: float = LEVEL) -> tuple[float, float] | None:
    """Percentile interval of the pooled pass rate; `cases` is (passes, fails) per case. None without graded trials."""
    counts = np.array([(p, f) for p, f in cases if p + f > 0], dtype=float).reshape(-1, 2)
    if len(counts) == 0:
        return None
    passes, graded = counts[:, 0], counts.sum(axis=1)
    if passes.sum() in (0, graded.sum()):
        rate = float(passes.sum() / graded.sum())
        return rate, rate  # every resample gives the same rate
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(counts), size=(resamples, len(counts)))
    rates = passes[picks].sum(axis=1) / graded[picks].sum(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(rates, [tail, 100 - tail])
    return float(low), float(high)


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
    met: bool
    reason: str

    def as_dict(self) -> dict:
        data = asdict(self)
        data["interval"] = list(self.interval) if self.interval else None
        return data


def layer_result(layer: str, outcomes: dict[str, list[str]], *, seed: int) -> LayerResult:
    """`outcomes`: case key → the verdicts of its epochs ("pass" | "fail" | "error")."""
    threshold = THRESHOLDS[layer]
    per_case = [(v.count("pass"), v.count("fail"), v.count("error")) for v in outcomes.values()]
    passes, fails, errors = (sum(c[i] for c in per_case) for i in range(3))
    graded = passes + fails
    rate = Fraction(passes, graded) if graded else None
    interval = bootstrap_interval([(p, f) for p, f, _ in per_case], seed=seed)
    if not per_case:
        met, reason = False, f"{layer}: no cases, so nothing shows it holds"
    elif not graded:
        met, reason = False, f"{layer}: all {errors} trials were errors, none could be graded"
    elif layer == "floor" and errors:
        met, reason = False, f"floor: {errors} trial(s) could not be graded; the floor must hold on every trial"
    elif rate < threshold:
        met, reason = False, f"{layer}: pass rate {_pct(rate)} is below the {_pct(threshold)} threshold ({fails} failed)"
    else:
        met, reason = True, f"{layer}: {_pct(rate)} ≥ {_pct(threshold)}"
    return LayerResult(layer, len(per_case), passes, fails, errors, float(rate) if rate is not None else None,
                       interval, float(threshold), met, reason)


def ship_gate(results: Iterable[LayerResult]) -> tuple[bool, list[str]]:
    """(ship?, reasons): every layer of LAYERS must be present and meet its threshold; reasons name each failure."""
    by_layer = {r.layer: r for r in results}
    reasons = [by_layer[layer].reason if layer in by_layer else f"{layer}: no cases, so nothing shows it holds"
               for layer in LAYERS if layer not in by_layer or not by_layer[layer].met]
    return not reasons, reasons


def _pct(value: Fraction) -> str:
    text = f"{float(value) * 100:.2f}"
    if text == "100.00" and value != 1:
        text = "99.99"  # never round a failing rate up to the floor's 100%
    return text.rstrip("0").rstrip(".") + "%"
