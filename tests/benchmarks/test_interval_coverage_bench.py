"""Issue 13 figure: how often the eval pass-rate interval covers the true rate, per true rate p and number of cases n.

Columns: one trial per case (exact, summed over the binomial outcomes), the percentile bootstrap it replaced (same
exact sum, each outcome's interval from 2,000 resamples), and three epochs per case with intra-case correlation 0.5
and 1 (all-or-nothing cases), simulated (2,000 runs each), next to the same clustered data with every trial counted
as its own case.
"""

import numpy as np
from scipy.stats import binom

from tests.interval_coverage import RATES, SIZES, clustered_coverage, exact_coverage, naive_clustered_coverage


def bootstrap_coverage(p: float, n: int, resamples: int = 2000, seed: int = 0) -> float:
    """The replaced interval: the 2.5th and 97.5th percentiles of resampled pass rates (one trial per case)."""
    rng = np.random.default_rng(seed)
    covered = 0.0
    for x in range(n + 1):
        rates = rng.binomial(n, x / n, size=resamples) / n
        low, high = np.percentile(rates, [2.5, 97.5])
        covered += binom.pmf(x, n, p) * (low <= p <= high)
    return covered


def test_interval_coverage_table():
    header = f"{'p':>5} {'n':>4} | {'1 epoch':>7} {'bootstrap':>9} | {'ρ=0.5 ×3':>9} {'ρ=1 ×3':>7} {'trials as cases':>15}"
    lines = ["", "95% pass-rate interval coverage (audits.evals.stats.pass_rate_interval)", header, "-" * len(header)]
    for p in RATES:
        for n in SIZES:
            lines.append(
                f"{p:>5} {n:>4} | {exact_coverage(p, n):>7.3f} {bootstrap_coverage(p, n):>9.3f} | "
                f"{clustered_coverage(p, n, correlation=0.5):>9.3f} {clustered_coverage(p, n, correlation=1.0):>7.3f} "
                f"{naive_clustered_coverage(p, n):>15.3f}"
            )
    print("\n".join(lines))
