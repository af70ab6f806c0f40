"""The unified kind: one adapter for a behavioral range, from a data mix and a curriculum (no persona)."""

from __future__ import annotations

from training_jobs.kinds import JobKind, register
from training_jobs.unified import UNIFIED_STAGE_LABELS, UNIFIED_STAGES, UnifiedParams, unified_launch, unified_preflight


def _stage_functions() -> dict:
    from training_jobs.unified_stages import UNIFIED_STAGE_FUNCTIONS  # the training code loads when a job runs

    return UNIFIED_STAGE_FUNCTIONS


def _stage_inputs(params: UnifiedParams) -> dict:
    """Curriculum reads every phase's rows compose wrote; the evaluation the last phase's checkpoint."""
    phases = len(params.phases)
    return {"compose": (), "curriculum": tuple(("compose", f"phase_{n}") for n in range(1, phases + 1)),
            "eval": (("curriculum", f"phase_{phases}_adapter"),)}


def _panel(job, by_stage: dict) -> dict:
    from training_jobs.unified_views import unified_panel

    return unified_panel(job, by_stage)


def _results(job, by_stage: dict) -> dict:
    from training_jobs.unified_views import unified_results

    return unified_results(job, by_stage)


def _artifact_label(name: str) -> str:
    from training_jobs.unified_views import artifact_label

    return artifact_label(name)


def _datasets(job) -> list:
    from training_jobs.unified_views import job_datasets

    return job_datasets(job)


UNIFIED = register(JobKind(
    name="unified", label="Unified", params=UnifiedParams, stages=UNIFIED_STAGES, stage_labels=UNIFIED_STAGE_LABELS,
    stage_functions=_stage_functions, stage_inputs=_stage_inputs, preflight=unified_preflight, launch=unified_launch,
    panel=_panel, results=_results, artifact_label=_artifact_label, datasets=_datasets,
    meta_template="training/partials/job_meta_unified.html", eval_unit="cases",
))
