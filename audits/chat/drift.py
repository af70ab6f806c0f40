"""Drift maths and its chart, with no Django: cosine distance to the fingerprint, and SVG coordinates."""

from dataclasses import dataclass

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
class DriftChart:
    width: int
    height: int
    points: list[tuple[float, float, float]]  # (x, y, score) per scored reply
    threshold_y: float
    top: float  # the score at the chart's top edge

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


def drift_chart(scores: list[float], threshold: float, *, width: int = 320, height: int = 90, pad: int = 6) -> DriftChart:
    """Coordinates for the drift of each scored reply over the conversation, with the threshold line."""
    top = max([0.6, threshold * 1.5, *scores])
    inner_w, inner_h = width - 2 * pad, height - 2 * pad

    def y(score: float) -> float:
        return pad + inner_h * (1 - min(score, top) / top)

    step = inner_w / max(len(scores) - 1, 1)
    points = [(pad + i * step, y(score), score) for i, score in enumerate(scores)]
    return DriftChart(width, height, points, y(threshold), top)
