"""The character kind: one persona's constitution trained into one adapter (DPO, introspection, SFT, evaluation)."""

from __future__ import annotations

from personas.access import access_persona
from training_jobs.constitution import markers, system_prompt
from training_jobs.job_kinds import DEFAULT_KIND, JobKind, LaunchPage, register
from training_jobs.kinds.character_schemas import EstimateOut, LaunchIn, PreflightOut
from training_jobs.params import STAGE_INPUTS, STAGE_LABELS, STAGES, LaunchParams
from training_jobs.presets import PRESETS


def _stage_functions() -> dict:
    from training_jobs.character_stages import STAGE_FUNCTIONS  # the training code loads when a job runs

    return STAGE_FUNCTIONS


def _prepare_context(ctx) -> None:
    """The constitution the data is generated from, its markers and the system prompt the quality filter checks."""
    ctx.constitution = ctx.job.constitution.constitution
    ctx.markers = markers(ctx.constitution)
    ctx.system = system_prompt(ctx.constitution)


def _preflight(*, principal, data: dict) -> dict:
    from training_jobs.services import training_job_preflight

    access_persona(principal.organization, data.get("persona_id"))  # another org's persona is 404 whatever else is wrong
    return training_job_preflight(principal=principal, data=data).as_dict()


def _launch(*, principal, data: dict):
    from training_jobs.services import training_job_launch

    access_persona(principal.organization, data.get("persona_id"))
    return training_job_launch(principal=principal, data=data)


def _panel(job, by_stage: dict) -> dict:
    from training_jobs.views import character_charts

    return {"charts": character_charts(by_stage)}


def _results(job, by_stage: dict) -> dict:
    from training_jobs.views import character_results

    return character_results(job, by_stage)


def _page(name: str):
    """A launch-page function of training_jobs.views, looked up when called (the views load with the pages)."""

    def call(*args, **kwargs):
        from training_jobs import views

        return getattr(views, name)(*args, **kwargs)

    return call


def _form_data(posted) -> dict:
    from training_jobs.launch_form import form_data

    return form_data(posted)


LAUNCH_PAGE = LaunchPage(
    url="training_job_new", preflight_url="training_job_preflight", title="Launch Training Job", form_id="launch-form",
    fields_template="training/partials/launch_fields.html", preflight_template="training/partials/preflight.html",
    intro_template="training/partials/launch_intro_character.html", launch_label="Launch Training Job",
    form_data=_form_data, start=_page("character_launch_start"), preflight=_page("character_page_preflight"),
    context=_page("character_form_context"), ok=lambda report: report.ok, errors=lambda report: report.errors,
)

CHARACTER = register(JobKind(
    name=DEFAULT_KIND, label="Character", params=LaunchParams, stages=STAGES, stage_labels=STAGE_LABELS,
    stage_functions=_stage_functions, stage_inputs=lambda params: STAGE_INPUTS, preflight=_preflight, launch=_launch,
    launch_schema=LaunchIn, preflight_schema=PreflightOut, estimate_schema=EstimateOut,
    prepare_context=_prepare_context, launch_page=LAUNCH_PAGE, panel=_panel, results=_results, presets=PRESETS,
    meta_template="training/partials/job_meta_character.html", eval_unit="prompts",
    chat_and_export=True, gives_dataset_rows=True,
))
