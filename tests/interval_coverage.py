"""How often `pass_rate_interval` covers the true pass rate: exactly for one trial per case, by a vectorised
simulation for clustered epochs. Shared by tests/test_evals_stats.py and the coverage benchmark."""

import numpy as np
from scipy.stats import binom

from audits.evals.stats import pass_rate_intervals

RATES, SIZES = (0.5, 0.9, 0.99, 1.0), (20, 100)


def exact_coverage(p: float, n: int) -> float:
    """One trial per case: the probability, summed over every outcome x of Binomial(n, p), that the interval covers p."""
    x = np.arange(n + 1)
    passes = (np.arange(n)[None, :] < x[:, None]).astype(float)  # row x: x passing cases, n − x failing
    low, high = pass_rate_intervals(passes, np.ones_like(passes))
    return float(binom.pmf(x, n, p)[(low <= p) & (p <= high)].sum())


def clustered_coverage(p: float, cases: int, *, epochs: int = 3, correlation: float = 0.5, samples: int = 2000,
                       seed: int = 7) -> float:
    """Several epochs per case: each case's own pass probability drawn from a beta distribution with mean `p` and
    intra-case correlation `correlation` (1: every case passes all its epochs or none); the share of `samples`
    simulated runs whose interval covers p."""
    rng = np.random.default_rng(seed)
    if p >= 1:
        per_case = np.ones((samples, cases))
    elif correlation >= 1:
        per_case = (rng.random((samples, cases)) < p).astype(float)
    else:
        spread = 1 / correlation - 1
        per_case = rng.beta(p * spread, (1 - p) * spread, size=(samples, cases))
    passes = rng.binomial(epochs, per_case)
    low, high = pass_rate_intervals(passes, np.full(passes.shape, epochs))
    return float(np.mean((low <= p) & (p <= high)))


def naive_clustered_coverage(p: float, cases: int, *, epochs: int = 3, samples: int = 2000, seed: int = 7) -> float:
    """The same all-or-nothing cases with every trial counted as its own case (the mistake clustering avoids)."""
    rng = np.random.default_rng(seed)
    passes = np.repeat((rng.random((samples, cases)) < p).astype(float), epochs, axis=1)
    low, high = pass_rate_intervals(passes, np.ones_like(passes))
    return float(np.mean((low <= p) & (p <= high)))
