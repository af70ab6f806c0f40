"""What the job page draws, computed without Django: training curves as SVG coordinates, and the
evaluation summary as small tables whatever keys it holds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# --- line charts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineChart:
    title: str
    width: int
    height: int
    points: list[tuple[float, float, float, float]]  # (x, y, step, value)
    top: float  # the value at the chart's top edge
    bottom: float  # … at its bottom edge
    reference_y: float | None = None
    reference: float | None = None
    first_step: float = 0
    last_step: float = 0

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in self.points)

    @property
    def last(self) -> float | None:
        return self.points[-1][3] if self.points else None


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def line_chart(title: str, history: list[dict], key: str, *, width: int = 320, height: int = 110, pad: int = 8,
               pad_y: int = 14, fixed: tuple[float, float] | None = None, reference: float | None = None) -> LineChart | None:
    """One metric of a training history ({"step", key, …} per logged step) as a polyline; None when never logged.

    Points are placed in logging order (a smoke stage logs several short runs whose steps restart).
    `fixed` pins the value range (e.g. 0–1 for an accuracy); otherwise it spans the values seen.
    """
    values = [(entry.get("step", i), entry[key]) for i, entry in enumerate(history or []) if _finite(entry.get(key))]
    if not values:
        return None
    low, high = fixed or (min(v for _, v in values), max(v for _, v in values))
    if reference is not None and not fixed:
        low, high = min(low, reference), max(high, reference)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    inner_w, inner_h = width - 2 * pad, height - 2 * pad_y  # room above and below for the range labels

    def y(value: float) -> float:
        clipped = min(max(value, low), high)
        return pad_y + inner_h * (1 - (clipped - low) / (high - low))

    step = inner_w / max(len(values) - 1, 1)
    points = [(pad + i * step, y(v), s, v) for i, (s, v) in enumerate(values)]
    return LineChart(title, width, height, points, high, low, y(reference) if reference is not None else None, reference,
                     values[0][0], values[-1][0])


# --- evaluation summary ------------------------------------------------------------------------


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)


def _label(key) -> str:
    return str(key).replace("_", " ").replace("/", " / ")


def _is_scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _is_interval(value) -> bool:
    return isinstance(value, dict) and "low" in value and "high" in value and ("rating" in value or "mean" in value)


def format_value(value) -> str:
    """A number as people read it (shares as given, 4 significant digits), an interval as "x [lo, hi]"."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}" if math.isfinite(value) else str(value)
    if _is_interval(value):
        point = value.get("rating", value.get("mean"))
        text = f"{format_value(point)} [{format_value(value['low'])}, {format_value(value['high'])}]"
        return text + (f" #{value['rank']}" if "rank" in value else "")
    if isinstance(value, dict):
        return ", ".join(f"{_label(k)} {format_value(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(format_value(v) for v in value[:8]) + (" …" if len(value) > 8 else "")
    return str(value)


def eval_tables(summary: dict | None) -> tuple[list[tuple[str, str]], list[Table]]:
    """(facts, tables) for any evaluation summary.

    Scalars become facts; a dict of scalars one table row (e.g. marker frequency base vs tuned); a dict of
    dicts a table with a row per key; a list of dicts (e.g. Elo / Bradley–Terry entries) a table with a row
    per item, where a nested {rating, low, high} reads as "rating [low, high]".
    """
    facts: list[tuple[str, str]] = []
    tables: list[Table] = []
    for key, value in (summary or {}).items():
        if _is_scalar(value):
            facts.append((_label(key), format_value(value)))
        elif isinstance(value, dict) and all(_is_scalar(v) or _is_interval(v) for v in value.values()):
            tables.append(Table(_label(key), [_label(k) for k in value], [[format_value(v) for v in value.values()]]))
        elif isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
            tables.append(_records(_label(key), [{"": k, **v} for k, v in value.items()]))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            tables.append(_records(_label(key), value))
        else:
            facts.append((_label(key), format_value(value)))
    return facts, tables


def _records(title: str, items: list[dict]) -> Table:
    columns: list[str] = []
    for item in items:
        columns += [k for k in item if k not in columns]
    table = Table(title, [_label(c) for c in columns])
    table.rows = [[format_value(item.get(c)) if c in item else "" for c in columns] for item in items]
    return table


# --- quality filters ---------------------------------------------------------------------------

FILTER_SOURCES = {"dpo_data": "DPO data (chosen)", "reflections": "Reflections", "interactions": "Self-interactions"}


def filter_rows(stats: dict | None, limit: float | None = None) -> list[dict]:
    """One row per data source a stage filtered: counts, drop rate against the limit, reasons by count."""
    rows = []
    for key, label in FILTER_SOURCES.items():
        counts = (stats or {}).get(key)
        if not isinstance(counts, dict):
            continue
        drops = sorted((counts.get("drops") or {}).items(), key=lambda kv: -kv[1])
        rate = counts.get("drop_rate") or 0.0
        rows.append({
            "key": key, "label": label, "samples": counts.get("samples", 0), "kept": counts.get("kept", 0),
            "dropped": counts.get("dropped", 0), "drop_rate": rate, "drop_percent": round(100 * rate, 1),
            "over": limit is not None and rate > limit, "drops": drops,
            "fixes": sorted((counts.get("fixes") or {}).items(), key=lambda kv: -kv[1]),
            "flags": sorted((counts.get("flags") or {}).items(), key=lambda kv: -kv[1]),
            "marker_rate": counts.get("marker_rate"),
        })
    return rows
