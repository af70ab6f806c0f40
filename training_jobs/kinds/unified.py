"""The unified kind: one adapter for a behavioral range, from a data mix and a curriculum (no persona)."""

from __future__ import annotations

from training_jobs.job_kinds import JobKind, LaunchPage, register
from training_jobs.kinds.unified_schemas import UnifiedEstimateOut, UnifiedLaunchIn, UnifiedPreflightOut
from training_jobs.unified import (UNIFIED_KIND, UNIFIED_STAGE_LABELS, UNIFIED_STAGES, UnifiedParams, unified_launch,
                                   unified_preflight)


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


def _page(name: str):
    """A launch-page function of training_jobs.unified_views, looked up when called (the views load with the pages)."""

    def call(*args, **kwargs):
        from training_jobs import unified_views

        return getattr(unified_views, name)(*args, **kwargs)

    return call


def _urlpatterns() -> list:
    """The unified launch form's pages (the form itself is the shared launch view's)."""
    from django.urls import path

    from training_jobs import unified_views, views

    return [
        path("training/unified/new/", views.training_job_new, {"kind": UNIFIED_KIND}, name="training_job_unified_new"),
        path("training/unified/new/preflight/", unified_views.training_job_unified_preflight, name="training_job_unified_preflight"),
        path("training/unified/new/phases/", unified_views.training_job_unified_phases, name="training_job_unified_phases"),
    ]


def _form_data(posted) -> dict:
    from training_jobs.unified_form import form_data

    return form_data(posted)


LAUNCH_PAGE = LaunchPage(
    url="training_job_unified_new", preflight_url="training_job_unified_preflight", title="Unified training",
    form_id="unified-form", form_class="unified-form", fields_template="training/partials/unified_fields.html",
    preflight_template="training/partials/unified_preflight.html", intro_template="training/partials/launch_intro_unified.html",
    launch_label="Launch unified training", form_data=_form_data, start=_page("unified_launch_start"),
    preflight=_page("unified_page_preflight"), context=_page("unified_form_context"), edit=_page("unified_launch_edit"),
    ok=lambda report: report["ok"], errors=lambda report: report["errors"],
)

UNIFIED = register(JobKind(
    name=UNIFIED_KIND, label="Unified", params=UnifiedParams, stages=UNIFIED_STAGES, stage_labels=UNIFIED_STAGE_LABELS,
    stage_functions=_stage_functions, stage_inputs=_stage_inputs, preflight=unified_preflight, launch=unified_launch,
    launch_schema=UnifiedLaunchIn, preflight_schema=UnifiedPreflightOut, estimate_schema=UnifiedEstimateOut,
    launch_page=LAUNCH_PAGE, urlpatterns=_urlpatterns, panel=_panel, panel_template="training/partials/job_panel_unified.html",
    estimate_template="training/partials/job_estimate_unified.html", results=_results, artifact_label=_artifact_label, datasets=_datasets,
    meta_template="training/partials/job_meta_unified.html", eval_unit="cases",
))
