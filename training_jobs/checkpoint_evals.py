"""In-training checkpoint evaluations and the plateau rule that stops training early. Pure: no Django.

Every `eval_every_steps` optimizer steps of a DPO or SFT stage the backend saves the adapter it has so far, and
the checkpoint answers a small held-out set of prompts (the job's evaluation framings, none of them a training
prompt): one reply per prompt, without the constitution, as the final evaluation samples. Two numbers per
checkpoint, each with a 95 % Wilson score interval (`audits.evals.stats.wilson_interval`):

- **marker rate**: the share of its replies carrying one of the constitution's markers (the final evaluation's
  `has_marker`);
- **win rate vs base**: of the pairs (base reply, checkpoint reply) the judge decided, the share the checkpoint
  won. Each pair is judged in both orders; orders that disagree make a tie, and ties are left out of the rate
  and reported beside it (as in `training_jobs.outcome.win_rate`).

Plateau: after each evaluation the chosen metric is compared with the best so far; an evaluation counts as an
improvement only when it beats the best by at least `min_delta` (an evaluation without a value — no decided
pair — is no improvement). After `patience` evaluations in a row without one, training stops, the best
checkpoint is kept, and the job goes on to its final evaluation and ends as a normal end. Patience 0: never
stop early (the evaluations are only plotted).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from audits.evals.stats import wilson_interval
from training_jobs.outcome import percent_text

METRICS = {"win_rate": "win rate", "marker_rate": "marker rate"}
TRAINING_STAGES = ("dpo_train", "sft")  # the stages whose checkpoints are evaluated (not the smoke test's short runs)


def rate(hits: int, n: int) -> dict:
    """{hits, n, rate, low, high}: the share with its Wilson interval; rate and limits None when n is 0."""
    interval = wilson_interval(hits, n) if n else None
    return {"hits": hits, "n": n, "rate": hits / n if n else None,
            "low": interval[0] if interval else None, "high": interval[1] if interval else None}


def score(step: int, *, markers: list[bool] | None, winners: list[str | None]) -> dict:
    """One checkpoint's evaluation: `markers` (per reply: carries a marker; None when the constitution has none) and
    `winners` (per pair: "tuned" | "base" | "tie" | None when the judge gave no verdict)."""
    decided = [w for w in winners if w in ("tuned", "base")]
    wins = rate(decided.count("tuned"), len(decided))
    return {
        "step": step,
        "marker_rate": rate(sum(markers), len(markers)) if markers is not None else None,
        "win_rate": {**wins, "ties": winners.count("tie"), "base_wins": decided.count("base"),
                     "unjudged": winners.count(None), "pairs": len(winners)},
    }


def metric_value(entry: dict, metric: str) -> float | None:
    return (entry.get(metric) or {}).get("rate")


@dataclass
class Plateau:
    """The early-stop rule over a stage's evaluations, in order; `add` says whether training should stop now."""

    metric: str
    patience: int
    min_delta: float
    best_value: float | None = None
    best_step: int | None = None
    since_best: int = 0
    seen: list[tuple[int, float | None]] = field(default_factory=list)

    def add(self, step: int, value: float | None) -> bool:
        self.seen.append((step, value))
        improved = value is not None and math.isfinite(value) and (
            self.best_value is None or value >= self.best_value + self.min_delta - 1e-12)
        if improved:
            self.best_value, self.best_step, self.since_best = value, step, 0
        else:
            self.since_best += 1
        return self.patience > 0 and self.since_best >= self.patience

    def stop_record(self, *, stage: str, step: int) -> dict:
        """What the job keeps about the stop: numbers and the sentence the job page shows."""
        label = METRICS[self.metric]
        evals = "eval" if self.patience == 1 else "evals"
        message = f"stopped early: {label} plateaued for {self.patience} {evals} at step {step}"
        if self.best_step is not None:
            message += f" (best {label} {percent_text(self.best_value)} at step {self.best_step}; that checkpoint is kept)"
        else:
            message += f" (no checkpoint had a {label}; the last one is kept)"
        return {"stage": stage, "step": step, "metric": self.metric, "patience": self.patience, "min_delta": self.min_delta,
                "best_step": self.best_step, "best_value": self.best_value, "evals": len(self.seen), "message": message}


def stage_steps(params) -> dict[str, int]:
    """Optimizer steps of each full-scale training stage the job runs (what its evaluations are counted from)."""
    sizes = params.sizes
    per_epoch = lambda rows: max(1, math.ceil(rows / params.batch_size))  # noqa: E731
    steps = {"dpo_train": per_epoch(sizes["dpo_pairs"]) * params.epochs}
    if params.run_sft:
        steps["sft"] = per_epoch(sizes["reflections"] + sizes["interactions"]) * params.epochs
    return steps


def plan(params) -> dict[str, int]:
    """Checkpoint evaluations per training stage if none stops early: one at every multiple of eval_every_steps."""
    every = getattr(params, "eval_every_steps", 0)
    if not every:
        return {}
    return {stage: steps // every for stage, steps in stage_steps(params).items() if steps // every}


def workload(params) -> dict[str, int]:
    """The replies and judge calls the checkpoint evaluations make at most: per evaluated stage, the base's replies once
    and each checkpoint's, one per held-out prompt; each (base, checkpoint) pair judged in both orders."""
    k = getattr(params, "eval_holdout_prompts", 0)
    evals = plan(params)
    checkpoints = sum(evals.values())
    return {"evals": checkpoints, "replies": k * (checkpoints + len(evals)), "judge_calls": 2 * k * checkpoints}
