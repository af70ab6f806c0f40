"""Several jobs' curves on shared axes, for the compare page: DPO loss and reward accuracy, SFT loss, the unified
curriculum's loss (phases one after the other) and the behavioral-range eval's pass rate per checkpoint."""

from __future__ import annotations

from training_jobs import display
from training_jobs.models import StageRun, TrainingJob

COMPARE_MAX = len(display.SERIES_COLOURS)


def _stats(stages: dict[str, StageRun], stage: str) -> dict:
    return (stages[stage].stats or {}) if stage in stages else {}


def curriculum_history(stats: dict) -> list[dict]:
    """A unified job's phases' loss histories as one, each phase's steps after the last phase's."""
    out, offset = [], 0
    numbers = sorted(int(k[6:-8]) for k in stats if k.startswith("phase_") and k.endswith("_history") and k[6:-8].isdigit())
    for n in numbers:
        history = stats.get(f"phase_{n}_history") or []
        last = 0
        for i, entry in enumerate(history):
            step = entry.get("step", i + 1)
            step = step if isinstance(step, int | float) else i + 1
            out.append({**entry, "step": offset + step})
            last = max(last, step)
        offset += last
    return out


def range_history(stats: dict) -> list[dict]:
    """The behavioral-range eval's overall pass rate per checkpoint ("step" is the checkpoint's number, 0 the base)."""
    table = ((stats.get("eval") or {}).get("table")) or []
    overall = next((row for row in table if row.get("context") is None), None)
    return [{"step": i, "pass_rate": cell.get("rate")} for i, cell in enumerate((overall or {}).get("cells") or []) if cell]


CURVES = (  # title, where the history is, its key, fixed range, reference line
    ("DPO loss", lambda s: _stats(s, "dpo_train").get("dpo_history"), "loss", None, None),
    ("DPO reward accuracy", lambda s: _stats(s, "dpo_train").get("dpo_history"), "rewards/accuracies", (0.0, 1.0), 0.5),
    ("SFT loss", lambda s: _stats(s, "sft").get("sft_history"), "loss", None, None),
    ("Curriculum loss (phases in order)", lambda s: curriculum_history(_stats(s, "curriculum")), "loss", None, None),
    ("Eval: behavioral-range pass rate per checkpoint", lambda s: range_history(_stats(s, "eval")), "pass_rate", (0.0, 1.0), None),
)


def compare_charts(jobs: list[TrainingJob]) -> list[display.OverlayChart]:
    """One overlay chart per curve at least one of the jobs logged."""
    stages = {job.pk: {s.stage: s for s in job.stages.all()} for job in jobs}
    charts = []
    for title, history_of, key, fixed, reference in CURVES:
        series = [(job.name, history_of(stages[job.pk]) or []) for job in jobs]
        if chart := display.overlay_chart(title, series, key, fixed=fixed, reference=reference):
            charts.append(chart)
    return charts
