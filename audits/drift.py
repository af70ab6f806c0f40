"""Drift maths and its chart, with no Django: cosine distance to the fingerprint, the fingerprint's own spread
(its calibration), the bound a reply is held to, and SVG coordinates."""

from dataclasses import asdict, dataclass

import numpy as np


def cosine_distance(vector, reference) -> float:
    """1 − cosine similarity, in [0, 2]. ValueError when the vectors cannot be compared."""
    a, b = np.asarray(vector, dtype=float), np.asarray(reference, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or not a.size:
        raise ValueError(f"the reply's embedding has {a.size} dimensions, the fingerprint {b.size}")
    norms = np.linalg.norm(a) * np.linalg.norm(b)
    if norms == 0:
        raise ValueError("an embedding is all zeros")
    return float(np.clip(1.0 - np.dot(a, b) / norms, 0.0, 2.0))


@dataclass(frozen=True)
class Calibration:
    """How far the fingerprint's own answers sit from it: the distribution of their leave-one-out distances."""

    n: int  # answers
    mean: float
    sd: float  # sample standard deviation (n − 1)
    p95: float  # numpy's default (linear) percentile
    max: float

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data) -> "Calibration | None":
        """The stored calibration, or None for a fingerprint computed before calibrations (or with one answer)."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(int(data["n"]), float(data["mean"]), float(data["sd"]), float(data["p95"]), float(data["max"]))
        except (KeyError, TypeError, ValueError):
            return None


def calibrate(vectors) -> Calibration | None:
    """The spread of a fingerprint's own answers: each answer's cosine distance to the mean of the *other* answers.

    Against the mean of all of them an answer counts itself (1/n of the mean is that answer), which pulls
    every distance in — with 50 answers by about a fiftieth, with few by much more — while a reply scored
    later is not part of the fingerprint. Leaving the answer out makes it an outsider like the reply:
    unbiased, and slightly conservative (the other n − 1 answers' mean is a little noisier than all n's).
    None with fewer than two answers (no others to compare with) or when the others cancel out.
    """
    matrix = np.asarray(vectors, dtype=float)
    if matrix.ndim != 2 or len(matrix) < 2:
        return None
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    if not np.all(norms > 0):
        return None
    units = matrix / norms
    others = units.sum(axis=0) - units  # row i: the sum (so the direction of the mean) of every answer but i
    other_norms = np.linalg.norm(others, axis=1)
    if not np.all(other_norms > 1e-12):
        return None
    distances = np.clip(1.0 - np.einsum("ij,ij->i", units, others) / other_norms, 0.0, 2.0)
    return Calibration(
        n=len(distances), mean=float(distances.mean()), sd=float(distances.std(ddof=1)),
        p95=float(np.percentile(distances, 95)), max=float(distances.max()),
    )


@dataclass(frozen=True)
class DriftBound:
    """The distance above which a reply drifts, and where it comes from."""

    value: float
    source: str  # calibrated | floor | configured
    calibration: Calibration | None = None

    @property
    def label(self) -> str:
        """Why this bound, in words: shown beside a score ("0.58 ≤ 0.66 (this persona's own spread)")."""
        if self.source == "calibrated":
            return "this persona's own spread"
        if self.source == "floor":
            return "the configured threshold, above this persona's own spread"
        return "the configured threshold"


def drift_bound(calibration: Calibration | None, *, threshold: float, z: float) -> DriftBound:
    """max(threshold, mean + z·sd of the fingerprint's leave-one-out distances); the threshold alone without calibration.

    Why mean + z·sd rather than a high percentile: with 50 answers the p95 rests on the two or three farthest
    of them and moves between two fingerprints of the same persona (the answers are sampled), while the mean
    and sd use every answer. Why z = 2 (engine.pipeline.drift_detection.z): measured on SmolLM2 fingerprints
    of three personas under MiniLM (50 answers each: mean 0.60–0.62, sd 0.10–0.14, the farthest answer 2.1–2.6
    sd out), mean + 2·sd (0.80–0.89) flagged SmolLM2's own Python function in persona (0.88–0.92) and none of
    its 18 in-character chat replies (0.41–0.88); mean + 3·sd (0.90–1.03) let two of the three Python replies
    through. The two sides are close for a 135 M-parameter model: a bound on a noisy voice is a coarse filter.
    The configured threshold stays a floor: a fingerprint whose answers are nearly alike (the offline engine's
    formulaic ones) is not given a bound tighter than the org asked for, and a fingerprint from before
    calibration (or of one answer) is held to the threshold alone.
    """
    if calibration is None:
        return DriftBound(threshold, "configured")
    spread = calibration.mean + z * calibration.sd
    if spread > threshold:
        return DriftBound(spread, "calibrated", calibration)
    return DriftBound(threshold, "floor", calibration)


@dataclass(frozen=True)
class DriftChart:
    width: int
    height: int
    points: list[tuple[float, float, float, bool]]  # (x, y, score, over its bound) per scored reply
    threshold_y: float
    top: float  # the score at the chart's top edge

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in self.points)


def drift_chart(scores: list[float], threshold: float, *, over: list[bool] | None = None, width: int = 320, height: int = 90,
                pad: int = 6) -> DriftChart:
    """Coordinates for the drift of each scored reply over the conversation, with the threshold line.

    `over`: whether each reply was past the bound it was scored against (a recomputed fingerprint moves the
    bound: an older reply keeps its verdict); by default, whether it is past `threshold`.
    """
    top = max([0.6, threshold * 1.5, *scores])
    inner_w, inner_h = width - 2 * pad, height - 2 * pad
    over = over if over is not None else [score > threshold for score in scores]

    def y(score: float) -> float:
        return pad + inner_h * (1 - min(score, top) / top)

    step = inner_w / max(len(scores) - 1, 1)
    points = [(pad + i * step, y(score), score, bool(past)) for i, (score, past) in enumerate(zip(scores, over))]
    return DriftChart(width, height, points, y(threshold), top)
