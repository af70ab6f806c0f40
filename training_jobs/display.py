"""What the job page draws, computed without Django: training curves as SVG coordinates, and the
evaluation summary as small tables whatever keys it holds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from training_jobs.outcome import percent_text, pp_text

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

    @property
    def hover(self) -> list[dict]:
        """Per point: a column to hover (or focus) and the label that then shows its step and value."""
        return hover_points([(x, y, f"step {format_step(step)} · {format_number(value)}") for x, y, step, value in self.points],
                            self.width, self.height)


def format_step(step) -> str:
    return f"{step:g}" if isinstance(step, float) else str(step)


def format_number(value: float) -> str:
    """A curve's value on hover: four significant digits (0.6931, 12.35, 0.0004127)."""
    return f"{value:.4g}"


def hover_points(points: list[tuple[float, float, str]], width: float, height: float) -> list[dict]:
    """Hit columns between neighbouring points (each point owns the half-way to the next), and where its label sits:
    above the point, kept inside the chart (anchored right near the right edge, below it near the top)."""
    out = []
    xs = [x for x, _, _ in points]
    for i, (x, y, label) in enumerate(points):
        left = 0 if i == 0 else (xs[i - 1] + x) / 2
        right = width if i == len(points) - 1 else (x + xs[i + 1]) / 2
        anchor = "end" if x > width * 0.7 else "start" if x < width * 0.3 else "middle"
        out.append({"x": x, "y": y, "label": label, "hit_x": left, "hit_w": max(right - left, 1.0),
                    "label_y": y + 14 if y < 22 else y - 6, "anchor": anchor})
    return out


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
        if value["low"] is None or value["high"] is None:  # the resamples never varied: no interval to show
            text = f"{format_value(point)} (no spread)"
        else:
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


# --- unified jobs: the data mix and the behavioral-range table -----------------------------------


@dataclass(frozen=True)
class MixChart:
    """Target vs achieved share per category (percent) over its reference range, as SVG coordinates."""

    width: int
    height: int
    left: float  # x of 0%
    right: float  # x of `scale`%
    scale: float
    rows: list[dict]
    ticks: list[tuple[float, int]]  # (x, percent)

    @property
    def show_counts(self) -> bool:
        return self.width >= 560

    @property
    def label_x(self) -> float:
        return self.left - 8

    @property
    def value_x(self) -> float:
        return self.right + 10


MIX_TOP = 18  # room for the percent axis


def mix_chart(bars: list[dict] | None, *, width: int = 400, row: int = 22, left: int = 96) -> MixChart | None:
    """The pre-flight's or compose stage's `mix.bars` ({category, target, achieved, count, low, high}) as a
    horizontal chart: the reference range a shaded band, the target a tick, the achieved share a bar.
    `achieved` None (no mix sampled yet) draws the targets alone. None when there are no bars.
    `width` is about the width it is shown at, so its text stays readable; from 560 the row counts fit too."""
    value_w = 150 if width >= 560 else 92
    bars = [b for b in bars or [] if isinstance(b, dict) and b.get("category")]
    if not bars:
        return None
    top = max([40.0] + [float(v) for b in bars for v in (b.get("target"), b.get("achieved"), b.get("high")) if _finite(v)])
    scale = 10 * math.ceil(top / 10)
    right = width - value_w

    def x(share) -> float:
        return left + (right - left) * min(max(float(share), 0.0), scale) / scale

    rows = []
    for i, bar in enumerate(bars):
        y = MIX_TOP + i * row
        low, high, target, achieved = bar.get("low"), bar.get("high"), bar.get("target") or 0, bar.get("achieved")
        has_band, has_bar = _finite(low) and _finite(high), _finite(achieved)
        rows.append({
            "category": bar["category"], "target": target, "achieved": achieved, "count": bar.get("count"),
            "low": low, "high": high, "text_y": y + row / 2 + 4,
            "band": (x(low), y + 3, max(x(high) - x(low), 1.5), row - 6) if has_band else None,
            "bar": (left, y + row / 2 - 4, x(achieved) - left, 8) if has_bar else None,
            "tick": (x(target), y + 1, y + row - 1),
            "off": has_bar and abs(float(achieved) - float(target)) > 1.0,  # sampling keeps within ±1 pp
        })
    ticks = [(x(p), p) for p in range(0, int(scale) + 1, 10)]
    return MixChart(width, MIX_TOP + len(bars) * row + 4, left, right, scale, rows, ticks)


def _percent(value) -> str:
    return f"{100 * value:.0f}%" if _finite(value) else "—"


def _change_interval(interval) -> str:
    """A change's interval in percentage points, "" when there is none; a bound near 0 keeps the decimals that
    tell it from 0 (the Δ is coloured when the interval excludes 0, so it must not read "+0 to +30 pp")."""
    if not interval or not all(_finite(v) for v in interval):
        return ""
    return f"{_pp(interval[0]).removesuffix(' pp')} to {_pp(interval[1])}".replace("−", "-")


def range_table(summary: dict | None) -> dict | None:
    """The behavioral-range eval across checkpoints as rows ready to print: overall, then each kind and its
    contexts; per checkpoint the pass rate with its 95% interval, and the change from the first checkpoint
    to the last (percentage points) with its interval; the change is marked up / down only when that
    interval excludes 0 (range_evals.compare_checkpoints' "delta_clear"). None when there is no table."""
    summary = summary or {}
    rows = summary.get("table") or []
    if not rows:
        return None
    out = []
    for row in rows:
        cells = []
        for cell in row.get("cells") or []:
            if not cell:
                cells.append(None)
                continue
            interval = cell.get("interval") or None
            cells.append({"rate": _percent(cell.get("rate")), "cases": cell.get("cases"),
                          "interval": f"{_percent(interval[0])}–{_percent(interval[1])}" if interval else ""})
        delta = row.get("delta")
        kind, context = row.get("kind", ""), row.get("context")
        out.append({
            "kind": kind, "context": context, "total": context is None,
            "label": context.replace("_", " ") if context else kind.capitalize(),
            "cells": cells, "delta": f"{100 * delta:+.0f} pp" if _finite(delta) else "—",
            "delta_interval": _change_interval(row.get("delta_interval")),
            "trend": row.get("delta_clear") if row.get("delta_clear") in ("up", "down") else "",
        })
    return {"checkpoints": summary.get("checkpoints") or [c["label"] for c in rows[0].get("cells") or [] if c],
            "rows": out, "repeats": summary.get("repeats"), "cases": summary.get("cases"),
            "judge_model": summary.get("judge_model")}


# --- the outcome and the replies side by side ------------------------------------------------------


def _pp(value) -> str:
    return pp_text(value) if _finite(value) else "—"


def _win_percent(value) -> str:
    """A win rate in %, with the decimals that tell it from 50% (no change) where whole percent would not."""
    return percent_text(value, 0.5) if _finite(value) else "—"


def _range(interval, fmt) -> str:
    return f"[{fmt(interval[0])}, {fmt(interval[1])}]" if interval else ""


def outcome_view(detail: dict | None) -> dict | None:
    """A job's outcome (training_jobs.outcome) for the page: the verdict, why, and a row per figure behind it, each
    row saying whether its interval excludes no change (signal good / bad / none). None before the job ends."""
    if not detail or not detail.get("outcome"):
        return None
    rows = []
    if win := detail.get("win_rate"):
        counts = f"{win['tuned_wins']}–{win['base_wins']}" + (f", {win['ties']} ties" if win["ties"] else "")
        rows.append({"label": "Tuned win rate vs base", "value": _percent(win["rate"]),
                     "interval": _range(win["interval"], _win_percent), "signal": win["signal"] or "none",
                     "note": f"{counts} of {win['judged']} judged pairs, decided ones on {win['prompts']} prompt{'' if win['prompts'] == 1 else 's'}; no change = 50%"})
    if marks := detail.get("marker_difference"):
        rows.append({"label": "Marker rate, tuned − base", "value": _pp(marks["difference"]),
                     "interval": _range(marks["interval"], _pp), "signal": marks["signal"] or "none",
                     "note": f"{_percent(marks['tuned'])} vs {_percent(marks['base'])} of {marks['pairs']} reply pairs; no change = 0"})
    if paired := detail.get("paired"):
        test = "exact McNemar" if paired.get("method") == "mcnemar" else "paired sign-flip test"
        rows.append({"label": f"Pass rate, base → {paired['checkpoint']}", "value": _pp(paired["difference"]),
                     "interval": _range(paired["interval"], _pp), "signal": paired["signal"] or "none",
                     "note": f"{_percent(paired['base_rate'])} → {_percent(paired['tuned_rate'])} over {paired['cases']} cases: "
                             f"{paired['improved_cases']} improved, {paired['regressed_cases']} regressed; {test} "
                             f"p = {paired['p_value']:.3g}; no change = 0" if paired["cases"] else "no case graded on both"})
    return {"outcome": detail["outcome"], "label": detail.get("label") or detail["outcome"].replace("_", " ").capitalize(),
            "reason": detail.get("reason", ""), "rows": rows, "level": detail.get("level", 0.95)}


def character_samples(rows: list[dict], limit: int = 5) -> list[dict]:
    """The first sample of the first `limit` held-out prompts of a character job's eval/samples.jsonl."""
    seen, out = set(), []
    for row in rows:
        prompt = row.get("prompt")
        if not isinstance(prompt, str) or prompt in seen:
            continue
        seen.add(prompt)
        out.append({"prompt": prompt, "turns": [{"user": prompt, "base": str(row.get("base", "")), "tuned": str(row.get("tuned", ""))}],
                    "winner": row.get("winner"), "base_passed": None, "tuned_passed": None})
        if len(out) == limit:
            break
    return out


def unified_samples(rows: list[dict], cases: dict, base: str, last: str, limit: int = 5) -> list[dict]:
    """Base and `last` replies to the same range-eval cases (first repeat), one case per context first, for variety.

    `rows`: eval/results.jsonl ({checkpoint, repeat, case, replies, passed}); `cases`: the catalog by id."""
    first = {}
    for row in rows:
        if row.get("repeat", 0) == 0 and row.get("checkpoint") in (base, last) and row.get("case") in cases:
            first.setdefault(row["case"], {})[row["checkpoint"]] = row
    both = [case_id for case_id, sides in first.items() if base in sides and last in sides]
    by_context: dict[str, list[str]] = {}
    for case_id in both:
        by_context.setdefault(cases[case_id].context, []).append(case_id)
    picked = []
    for round_ in range(max((len(ids) for ids in by_context.values()), default=0)):
        picked += [ids[round_] for ids in by_context.values() if round_ < len(ids)]
    out = []
    for case_id in picked[:limit]:
        case, b, t = cases[case_id], first[case_id][base], first[case_id][last]
        replies = lambda row: list(row.get("replies") or []) + [""] * len(case.turns)  # noqa: E731
        out.append({"prompt": case.turns[0], "case": case_id, "context": case.context, "winner": None,
                    "turns": [{"user": user, "base": rb, "tuned": rt}
                              for user, rb, rt in zip(case.turns, replies(b), replies(t))],
                    "base_passed": b.get("passed"), "tuned_passed": t.get("passed")})
    return out


# --- several jobs on one chart (the compare page) -----------------------------------------------------

SERIES_COLOURS = ("#5b4bdb", "#d9822b", "#1f7a4d", "#c0362c", "#0f7fa8", "#8a4baf")


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    points: list[tuple[float, float, float, float]]  # (x, y, step, value)

    @property
    def polyline(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in self.points)


@dataclass(frozen=True)
class OverlayChart:
    title: str
    width: int
    height: int
    series: list[Series]
    top: float
    bottom: float
    last_step: float
    reference_y: float | None = None
    reference: float | None = None

    @property
    def hover(self) -> list[dict]:
        return hover_points([(x, y, f"{s.label} · step {format_step(step)} · {format_number(value)}")
                             for s in self.series for x, y, step, value in s.points], self.width, self.height)


def overlay_chart(title: str, series: list[tuple[str, list[dict]]], key: str, *, width: int = 640, height: int = 200,
                  pad: int = 10, pad_y: int = 16, fixed: tuple[float, float] | None = None,
                  reference: float | None = None) -> OverlayChart | None:
    """Several histories' `key` on shared axes: x is the logged step (so jobs line up by step), y spans every value
    (or `fixed`). Series that never logged `key` are left out; None when none did."""
    logged = []
    for label, history in series:
        values = [(entry.get("step", i), entry[key]) for i, entry in enumerate(history or []) if _finite(entry.get(key))]
        if values:
            logged.append((label, values))
    if not logged:
        return None
    every = [v for _, values in logged for _, v in values]
    low, high = fixed or (min(every), max(every))
    if reference is not None and not fixed:
        low, high = min(low, reference), max(high, reference)
    if high - low < 1e-9:
        low, high = low - 0.5, high + 0.5
    first = min(s for _, values in logged for s, _ in values)
    last = max(s for _, values in logged for s, _ in values)
    span = (last - first) or 1
    inner_w, inner_h = width - 2 * pad, height - 2 * pad_y

    def y(value: float) -> float:
        return pad_y + inner_h * (1 - (min(max(value, low), high) - low) / (high - low))

    drawn = [Series(label, SERIES_COLOURS[i % len(SERIES_COLOURS)], [(pad + inner_w * (s - first) / span, y(v), s, v) for s, v in values])
             for i, (label, values) in enumerate(logged)]
    return OverlayChart(title, width, height, drawn, high, low, last, y(reference) if reference is not None else None, reference)


# --- checkpoint evaluations beside the loss (one x axis in steps) --------------------------------

EVAL_SERIES = (("win_rate", "win rate vs base", SERIES_COLOURS[0]), ("marker_rate", "marker rate", SERIES_COLOURS[1]))


def checkpoint_chart(history: list[dict], evals: list[dict], *, planned_steps: int = 0, early_stop: dict | None = None,
                     width: int = 640, loss_height: int = 110, rate_height: int = 150, pad: int = 34, pad_y: int = 14) -> dict | None:
    """The stage's loss (top) and its checkpoint evaluations (bottom: each metric with its 95 % interval as a whisker)
    on one x axis in training steps, from 0 to the planned steps (or the last step seen, when more); None before the
    first evaluation. Steps place points (a stage that stopped early leaves the rest of the axis empty)."""
    if not evals:
        return None
    losses = [(float(h["step"]), float(h["loss"])) for h in history or [] if _finite(h.get("loss")) and _finite(h.get("step"))]
    last = max([planned_steps, *(s for s, _ in losses), *(e["step"] for e in evals)])
    inner_w = width - 2 * pad

    def x(step: float) -> float:
        return pad + inner_w * step / last if last else pad

    def rate_y(value: float) -> float:
        top = loss_height + pad_y
        return top + (rate_height - 2 * pad_y) * (1 - min(max(value, 0.0), 1.0))

    loss = None
    if losses:
        low, high = min(v for _, v in losses), max(v for _, v in losses)
        if high - low < 1e-9:
            low, high = low - 0.5, high + 0.5
        loss_y = lambda v: pad_y + (loss_height - 2 * pad_y) * (1 - (v - low) / (high - low))  # noqa: E731
        points = [(x(s), loss_y(v), s, v) for s, v in losses]
        loss = {"polyline": " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in points), "top": high, "bottom": low,
                "last": losses[-1][1], "hover": hover_points([(px, py, f"step {format_step(s)} · loss {format_number(v)}")
                                                              for px, py, s, v in points], width, loss_height)}
    series = []
    for i, (key, label, colour) in enumerate(EVAL_SERIES):
        nudge = (i - (len(EVAL_SERIES) - 1) / 2) * 4  # the two metrics' whiskers side by side, not on top of each other
        marks = []
        for entry in evals:
            value = entry.get(key) or {}
            if value.get("rate") is None:
                continue
            n_word = f"{value['hits']}/{value['n']}" + (" decided" if key == "win_rate" else " replies")
            marks.append({"x": x(entry["step"]) + nudge, "y": rate_y(value["rate"]), "low_y": rate_y(value["low"]), "high_y": rate_y(value["high"]),
                          "step": entry["step"], "rate": value["rate"],
                          "label": f"step {entry['step']} · {label} {percent_text(value['rate'])} "
                                   f"(95% {percent_text(value['low'])}–{percent_text(value['high'])}, {n_word})"})
        if marks:
            series.append({"key": key, "label": label, "colour": colour, "marks": marks,
                           "polyline": " ".join(f"{m['x']:.1f},{m['y']:.1f}" for m in marks), "last": marks[-1]["rate"]})
    rows = [{"step": e["step"], "win_rate": _rate_text(e.get("win_rate"), "decided"), "ties": (e.get("win_rate") or {}).get("ties", 0),
             "marker_rate": _rate_text(e.get("marker_rate"), "replies"), "not_counted": e.get("not_counted", ""),
             "kept": bool(early_stop) and e["step"] == early_stop.get("best_step")} for e in evals]
    base_marker = next((e["base_marker_rate"]["rate"] for e in evals if (e.get("base_marker_rate") or {}).get("rate") is not None), None)
    stop = None
    if early_stop:
        stop = {"x": x(early_stop["step"]), "step": early_stop["step"],
                "best_x": x(early_stop["best_step"]) if early_stop.get("best_step") is not None else None}
    return {"width": width, "height": loss_height + rate_height, "loss_height": loss_height, "rate_height": rate_height,
            "pad": pad, "pad_y": pad_y,
            "right": width - pad, "last_step": last, "loss": loss, "series": series, "evals": len(evals),
            "rate_top": rate_y(1.0), "rate_bottom": rate_y(0.0), "half_y": rate_y(0.5),
            "base_marker_y": rate_y(base_marker) if base_marker is not None else None, "base_marker": base_marker,
            "stop": stop, "ticks": [{"x": x(s), "step": s} for s in _step_ticks(last)], "rows": rows}


def _rate_text(value: dict | None, of: str) -> str:
    """"62% (95% 31%–86%, 5/8 decided)", or "—" without data."""
    if not value or value.get("rate") is None:
        return "—"
    return (f"{percent_text(value['rate'])} (95% {percent_text(value['low'])}–{percent_text(value['high'])}, "
            f"{value['hits']}/{value['n']} {of})")


def _step_ticks(last: float, count: int = 5) -> list[int]:
    """Round step numbers along the axis, 0 and the end included."""
    if last <= 0:
        return [0]
    raw = last / count
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = list(range(0, int(last) + 1, int(step)))
    return ticks if ticks[-1] == last else ticks + [int(last)] if last - ticks[-1] > step / 3 else ticks[:-1] + [int(last)]
