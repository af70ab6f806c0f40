"""Unified jobs built with the ORM as a worker would leave them (stats, checkpoints), for the page and API tests."""

import json
from decimal import Decimal

from tests.test_unified_jobs import make_dataset  # noqa: F401  (re-exported for the unified page and API tests)
from training_jobs.composition import DEFAULT_RANGES, DEFAULT_SHARES
from training_jobs.curriculum import ALL, DEFAULT_PHASES
from training_jobs.categories import CATEGORIES
from training_jobs.models import JobStatus, StageRun, TrainingJob
from training_jobs.outcome import unified_outcome
from training_jobs.range_evals import ALL_CASES, compare_checkpoints
from training_jobs.unified import UNIFIED_KIND, UNIFIED_STAGES, UnifiedParams

PHASES = [p.as_dict() for p in DEFAULT_PHASES]
CHECKPOINTS = ["base"] + [f"{n}. {p['name']}" for n, p in enumerate(PHASES, start=1)]


def _rate(rate: float, cases: int) -> dict:
    return {"cases": cases, "trials": 2 * cases, "passes": round(rate * 2 * cases), "fails": 2 * cases - round(rate * 2 * cases),
            "errors": 0, "rate": rate, "interval": [max(0.0, rate - 0.15), min(1.0, rate + 0.15)]}


def range_summary(step: float) -> dict:
    """What range_evals.summarize gives one checkpoint: rates that rise with `step`."""
    return {
        "overall": _rate(0.3 + step, 12),
        "kinds": {"range": _rate(0.25 + step, 6), "consistency": _rate(0.5 + step / 2, 3), "transition": _rate(0.2 + step, 3)},
        "contexts": {"range": {"technical": _rate(0.4 + step, 3), "empathetic": _rate(0.1 + step, 3)},
                     "consistency": {"empathetic": _rate(0.5 + step / 2, 3)},
                     "transition": {"technical→empathetic": _rate(0.2 + step, 3)}},
        "repeats": 2, "rounds": 200, "seed": 0,
    }


def mix_stats(total: int = 100) -> dict:
    counts = {c: int(share * total / 100) for c, share in DEFAULT_SHARES.items()}
    bars = [{"category": c, "target": share, "achieved": 100 * counts[c] / total, "count": counts[c],
             "low": DEFAULT_RANGES[c][0], "high": DEFAULT_RANGES[c][1]} for c, share in DEFAULT_SHARES.items()]
    return {"total": total, "counts": counts, "bars": bars}


def make_unified_job(org, dataset, *, status=JobStatus.SUCCEEDED, stage_status=StageRun.Status.COMPLETED, trained=True,
                     name="unified-acme-range") -> TrainingJob:
    """A unified job on `dataset`: the mix composed, every phase trained (curves, checkpoints), every checkpoint evaluated.
    `trained=False` leaves the stages as a queued job has them."""
    params = UnifiedParams.model_validate({"dataset_ids": [str(dataset.public_id)]}).model_dump(mode="json")
    job = TrainingJob.objects.create(
        organization=org, workspace=org.workspaces.first(), persona=None, constitution=None, kind=UNIFIED_KIND,
        name=name, params=params, status=status, engine="local", budget_usd=Decimal("3"),
        estimate={"training_tokens": 150_000, "steps": [1, 1, 1, 4, 4], "judge_calls": 0, "cost_usd": 0.0, "priced": True},
    )
    if not trained:
        StageRun.objects.bulk_create([StageRun(job=job, stage=stage, position=i) for i, stage in enumerate(UNIFIED_STAGES)])
        return job
    root = job.artifacts_dir
    (root / "compose").mkdir(parents=True, exist_ok=True)
    (root / "compose/mix.jsonl").write_text('{"messages": []}\n')
    artifacts = {"compose": {"mix": "compose/mix.jsonl"}, "curriculum": {}, "eval": {}}
    history = {}
    for n in range(1, len(PHASES) + 1):
        (root / f"compose/phase_{n}.jsonl").write_text('{"messages": []}\n')
        artifacts["compose"][f"phase_{n}"] = f"compose/phase_{n}.jsonl"
        folder = root / f"curriculum/phase_{n}/adapter"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "adapter_config.json").write_text("{}")
        artifacts["curriculum"][f"phase_{n}_adapter"] = f"curriculum/phase_{n}/adapter"
        history[f"phase_{n}_history"] = [{"step": s, "loss": 2.0 / n - 0.05 * s, "learning_rate": PHASES[n - 1]["learning_rate"],
                                          "grad_norm": 1.0} for s in range(1, 5)]
    mix = mix_stats()
    rows = [sum(mix["counts"].get(c, 0) for c in (CATEGORIES if p["categories"] == [ALL] else p["categories"]))
            for p in PHASES]
    stats = {
        "compose": {"mix": mix, "phases": [{"name": p["name"], "rows": r, "categories": p["categories"]} for p, r in zip(PHASES, rows)]},
        "curriculum": {"phases": [{"phase": n, "name": p["name"], "rows": r, "steps": 4, "learning_rate": p["learning_rate"],
                                   "epochs": 1, "final_metrics": {"loss": round(2.0 / n - 0.2, 4)}, "wall_s": 3.5}
                                  for n, (p, r) in enumerate(zip(PHASES, rows), start=1)], **history},
        "eval": {"eval": {"checkpoints": CHECKPOINTS, "repeats": 2, "cases": 12, "judge_model": "offline/studio",
                          "table": compare_checkpoints({label: range_summary(0.08 * i) for i, label in enumerate(CHECKPOINTS)}),
                          "overall": {label: range_summary(0.08 * i)["overall"] for i, label in enumerate(CHECKPOINTS)}}},
    }
    outcome = _eval_results(root, artifacts["eval"])
    stats["eval"]["eval"]["outcome"] = outcome
    if status == JobStatus.SUCCEEDED:
        job.outcome, job.outcome_detail = outcome["outcome"], outcome
        job.save(update_fields=["outcome", "outcome_detail"])
    StageRun.objects.bulk_create([
        StageRun(job=job, stage=stage, position=i, status=stage_status, done=4, total=4, unit="steps", runs=1,
                 stats=stats[stage], artifacts=artifacts[stage])
        for i, stage in enumerate(UNIFIED_STAGES)
    ])
    return job


def _eval_results(root, artifacts: dict) -> dict:
    """eval/results.jsonl for base and the last checkpoint (one repeat; 9 of the first 12 cases pass on the last
    checkpoint against 2 on base, none regresses) and the outcome the worker computes from them."""
    cases = ALL_CASES[:12]
    rows = []
    for label, passing in ((CHECKPOINTS[0], 2), (CHECKPOINTS[-1], 9)):
        for n, case in enumerate(cases):
            rows.append({"checkpoint": label, "repeat": 0, "case": case.id, "kind": case.kind, "passed": n < passing,
                         "replies": [f"{label} reply {t + 1} to {case.id}" for t in range(len(case.turns))]})
    (root / "eval").mkdir(parents=True, exist_ok=True)
    (root / "eval/results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    artifacts["results"] = "eval/results.jsonl"
    graded = lambda label: {r["case"]: [r["passed"]] for r in rows if r["checkpoint"] == label}  # noqa: E731
    return unified_outcome(graded(CHECKPOINTS[0]), graded(CHECKPOINTS[-1]), checkpoint=CHECKPOINTS[-1]).as_dict()
