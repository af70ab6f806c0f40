"""The kinds of training job, as plug-ins of one stage engine (training_jobs.engine).

A kind declares what differs between jobs: its launch parameters (a pydantic model with `stage_plan()`),
its stages with their labels, the artifacts each stage reads (what a resume needs), the functions that run
the stages, its pre-flight and launch with their API schemas, its launch form with its own URLs and the sections its
job page adds. Everything else — the stage loop, progress, heartbeat, cost, kill criteria, cancel, resume, events —
is the engine's.

Each kind is a module of training_jobs.kinds that calls `register`; KIND_MODULES lists them and they load on the
first lookup. A third kind is one module and one line there. The registry lives outside that package and imports no
kind statically, so every kind (and the engine, services and pages) can import it without a cycle.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from pydantic import BaseModel

from studio.errors import Invalid


def _no_context(ctx) -> None:
    return None


def _no_page(job, by_stage) -> dict:
    return {}


@dataclass(frozen=True)
class LaunchPage:
    """A kind's part of the one launch page (training/launch.html): its fields, pre-flight panel and how posted
    values become the parameters. The functions take the request and return what the page shows; no kind
    is named in the view."""

    url: str  # the page's URL name
    preflight_url: str  # the URL name the form posts to for a live pre-flight
    title: str
    form_id: str  # the form's id and data-testid
    fields_template: str
    preflight_template: str
    intro_template: str
    launch_label: str
    form_data: Callable[[Any], dict]  # posted QueryDict → the dict the params model validates
    start: Callable[[Any], tuple[dict, Any]]  # request → (data, pre-flight report) of a new form
    preflight: Callable[[Any, dict], Any]  # (principal, data) → report; another org's object is an error, not a 404
    context: Callable[..., dict]  # (request, data, report, *, show_field_errors=False) → template context
    ok: Callable[[Any], bool]  # report → whether it may launch
    errors: Callable[[Any], list]  # report → its (mutable) list of errors
    edit: Callable[[Any, dict], bool] = lambda request, data: False  # a post that edits the form (no launch)
    form_class: str = ""


@dataclass(frozen=True)
class JobKind:
    name: str  # TrainingJob.kind
    label: str
    params: type[BaseModel]  # the launch parameters a job stores; `stage_plan()` lists the stages it runs
    stages: tuple[str, ...]  # every stage a job of this kind can have, in order
    stage_labels: Mapping[str, str]
    stage_functions: Callable[[], Mapping[str, Callable]]  # stage → function(ctx); loaded when a job runs
    stage_inputs: Callable[[BaseModel], Mapping[str, tuple[tuple[str, str], ...]]]  # stage → (stage, artifact) it reads
    preflight: Callable[..., Any]  # (principal=, data=) → report; stores nothing
    launch: Callable[..., Any]  # (principal=, data=) → TrainingJob
    # its API (training_jobs.schemas unions them over the kinds): the body of POST /training-jobs and …/preflight
    # (a `kind` field naming it), what the pre-flight answers, and a job's estimate
    launch_schema: type[BaseModel]
    preflight_schema: type[BaseModel]
    estimate_schema: type[BaseModel]
    prepare_context: Callable[[Any], None] = _no_context  # what a stage context needs beyond the params
    launch_page: LaunchPage | None = None
    # the kind's own pages (its launch form's pre-flight, …): () → URL patterns, called when the URLconf loads
    urlpatterns: Callable[[], list] = lambda: []
    # the job page: what the live panel adds (charts, …), the results section, the line under the title
    panel: Callable[[Any, dict], dict] = _no_page  # (job, stage runs by name) → context
    panel_template: str = ""  # its cards in the live panel, after the stage timeline
    estimate_template: str = ""  # what the panel's estimate lists when it counts no teacher calls
    results: Callable[[Any, dict], dict] = _no_page  # (job, stage runs by name) → context
    meta_template: str = ""
    artifact_label: Callable[[str], str] = lambda name: name
    datasets: Callable[[Any], list] = lambda job: []  # the datasets a job was launched on that still exist
    presets: Mapping[str, Any] = field(default_factory=dict)
    # what its artifacts serve beyond the job: a checkpoint to chat with and export, rows for a dataset
    chat_and_export: bool = False
    gives_dataset_rows: bool = False
    eval_unit: str = "prompts"  # what the evaluation's samples are called on the results page
    # the stages still run after checkpoint evaluations stopped training early (the rest are skipped)
    after_early_stop: tuple[str, ...] = ("eval",)

    def params_of(self, job) -> BaseModel:
        return self.params.model_validate(job.params)

    def inputs_of(self, job, stage: str) -> tuple[tuple[str, str], ...]:
        return tuple(self.stage_inputs(self.params_of(job)).get(stage, ()))


# The kinds there are: each module registers its kind when imported (loaded on the first lookup).
KIND_MODULES = ("training_jobs.kinds.character", "training_jobs.kinds.unified")
DEFAULT_KIND = "character"  # a job launched without a kind is one of training_jobs.kinds.character's
_KINDS: dict[str, JobKind] = {}
_MODULE_OF: dict[str, str] = {}


def register(kind: JobKind) -> JobKind:
    _KINDS[kind.name] = kind
    _MODULE_OF[kind.name] = sys._getframe(1).f_globals.get("__name__", "")  # the kind's module, for all_kinds' order
    return kind


def _registered() -> dict[str, JobKind]:
    if len(_KINDS) < len(KIND_MODULES):
        for module in KIND_MODULES:
            import_module(module)
    return _KINDS


def kind_named(name: str) -> JobKind:
    try:
        return _registered()[name]
    except KeyError:
        raise Invalid(f"kind must be one of {', '.join(kind.name for kind in all_kinds())}", field="kind") from None


def kind_for(job) -> JobKind:
    return _registered()[job.kind]


def all_kinds() -> list[JobKind]:
    """The kinds in KIND_MODULES' order, whichever module was imported first (the API's unions, the kind choices
    and the launch page's tabs follow it)."""
    order = {module: position for position, module in enumerate(KIND_MODULES)}
    return sorted(_registered().values(), key=lambda kind: order.get(_MODULE_OF.get(kind.name, ""), len(order)))


def kind_choices() -> list[tuple[str, str]]:
    """TrainingJob.kind's choices: a callable, so a new kind needs no migration (they serialize it by reference)."""
    return [(k.name, k.label) for k in all_kinds()]


def kind_names(**capabilities: bool) -> list[str]:
    """The names of the kinds with these capabilities (`chat_and_export=True`, …)."""
    return [k.name for k in all_kinds() if all(getattr(k, key) == value for key, value in capabilities.items())]


def params_of(job) -> BaseModel:
    """The job's launch parameters, validated as its kind's model."""
    return kind_for(job).params_of(job)
