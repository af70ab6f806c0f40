"""Schemas of the training API (training jobs, pre-flight, artifacts, cost, constitutions).

Each kind declares its launch body, pre-flight answer and estimate (JobKind.launch_schema, …; e.g.
training_jobs.kinds.character_schemas); the unions here are built from the registered kinds, in KIND_MODULES'
order (job_kinds.all_kinds).
"""

from datetime import datetime
from typing import Annotated, Union
from uuid import UUID

from ninja import Field, Schema
from pydantic import Discriminator, Tag

from studio.work.events import last_event_seq
from training_jobs import services
from training_jobs.constitution import markers, system_prompt
from training_jobs.job_kinds import DEFAULT_KIND, all_kinds
from training_jobs.models import StageRun


def _launch_kind(value) -> str:
    kind = value.get("kind", DEFAULT_KIND) if isinstance(value, dict) else getattr(value, "kind", DEFAULT_KIND)
    return kind if isinstance(kind, str) else DEFAULT_KIND


# POST /training-jobs and …/preflight: "kind" picks the body (absent: a character job).
AnyLaunchIn = Annotated[
    Union[tuple(Annotated[kind.launch_schema, Tag(kind.name)] for kind in all_kinds())],
    Discriminator(_launch_kind, custom_error_type="kind",
                  custom_error_message=f"kind must be {' or '.join(kind.name for kind in all_kinds())}"),
]
AnyPreflightOut = Union[tuple(kind.preflight_schema for kind in all_kinds())]  # what POST …/preflight answers
AnyEstimateOut = Union[tuple(kind.estimate_schema for kind in all_kinds())]  # a job's estimate


class ResumeIn(Schema):
    stage: str = Field(..., description="smoke | dpo_data | dpo_train | introspection | sft | eval; unified: compose | curriculum | eval")


class StageOut(Schema):
    stage: str
    label: str = Field(..., description="What pages call the stage")
    status: str
    done: int
    total: int
    unit: str
    percent: int
    runs: int = Field(..., description="Times the stage started (resumes add one)")
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int
    artifacts: dict[str, str] = Field(..., description="{name: path under the job's artifacts (GET …/artifacts/{path})}")
    stats: dict
    error: str
    started_at: datetime | None
    finished_at: datetime | None
    duration_s: float | None

    @staticmethod
    def resolve_label(stage) -> str:
        return services.stage_labels(stage.job).get(stage.stage, stage.stage)


class WinRateOut(Schema):
    tuned_wins: int
    base_wins: int
    ties: int = Field(..., description="Judged pairs the judge called a tie: left out of the rate")
    unjudged: int = Field(..., description="Pairs without a verdict (a judge call failed)")
    decided: int = Field(..., description="tuned_wins + base_wins: the rate's denominator")
    judged: int
    prompts: int = Field(..., description="Prompts with a decided pair: the interval's independent units")
    rate: float | None = Field(..., description="tuned_wins / decided; null when no pair was decided")
    interval: list[float] | None = Field(..., description="95% interval, clustered by prompt (pass_rate_interval)")
    signal: str | None = Field(..., description="good (interval above 0.5) | bad (below) | null (includes 0.5)")


class MarkerDifferenceOut(Schema):
    tuned: float = Field(..., description="Share of tuned replies carrying a constitution marker")
    base: float
    difference: float = Field(..., description="tuned − base")
    interval: list[float] = Field(..., description="95% interval of the difference (Newcombe's paired method, clustered by prompt)")
    pairs: int
    prompts: int
    tuned_interval: list[float] | None
    base_interval: list[float] | None
    signal: str | None = Field(..., description="good (interval above 0) | bad (below) | null (includes 0)")


class PairedCasesOut(Schema):
    checkpoint: str = Field(..., description="The checkpoint compared with base (a unified job's last)")
    cases: int = Field(..., description="Cases graded on both")
    improved_cases: int
    regressed_cases: int
    unchanged_cases: int
    base_rate: float | None = Field(..., description="Mean over the cases of each case's pass share")
    tuned_rate: float | None
    difference: float | None = Field(..., description="tuned_rate − base_rate")
    interval: list[float] | None = Field(..., description="95% interval of the difference")
    p_value: float | None
    method: str | None = Field(..., description="mcnemar (one repeat: exact McNemar, Newcombe's paired interval) | "
                                                "paired_bootstrap (several repeats: interval from resampled cases, p from a paired sign-flip test)")
    signal: str | None = Field(..., description="good (interval above 0) | bad (below) | null (includes 0)")


class OutcomeOut(Schema):
    outcome: str = Field(..., description="improved | no_clear_change | worse")
    label: str
    reason: str = Field(..., description="Why, in one line with the figures")
    method: str = Field(..., description="judged pairs (character jobs) | paired cases (unified jobs) | none (not evaluated)")
    level: float
    win_rate: WinRateOut | None
    marker_difference: MarkerDifferenceOut | None
    paired: PairedCasesOut | None


def _stage_reached(job) -> str | None:
    if job.status in services.stage_labels(job):
        return job.status
    reached = [s.stage for s in job.stages.all() if s.status not in (StageRun.Status.PENDING, StageRun.Status.SKIPPED)]
    return reached[-1] if reached else None


class EarlyStopOut(Schema):
    stage: str = Field(..., description="The training stage that stopped: dpo_train | sft")
    step: int = Field(..., description="The step of the evaluation that found the plateau")
    metric: str = Field(..., description="win_rate | marker_rate")
    patience: int
    min_delta: float
    best_step: int | None = Field(..., description="The kept checkpoint's step")
    best_value: float | None
    evals: int
    message: str


class TrainingJobOut(Schema):
    id: UUID = Field(..., alias="public_id")
    name: str
    kind: str = Field(..., description="character | unified")
    persona_id: UUID | None = Field(..., description="null for a unified job")
    persona_name: str | None
    constitution_version: int | None
    status: str
    stage: str | None = Field(..., description="The stage it is in, or the last one it reached")
    engine: str
    backend: str
    cost_usd: float
    budget_usd: float | None
    error: str
    outcome: str | None = Field(..., description="Once ended: improved | no_clear_change | worse (tuned vs base, with intervals)")
    outcome_detail: OutcomeOut | None = Field(..., description="The figures behind the outcome")
    early_stop: EarlyStopOut | None = Field(..., description="When checkpoint evaluations stopped training on a plateau "
                                            "(a normal end: the best checkpoint was kept and evaluated)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_persona_id(job) -> UUID | None:
        return job.persona.public_id if job.persona else None

    @staticmethod
    def resolve_persona_name(job) -> str | None:
        return job.persona.display_name if job.persona else None

    @staticmethod
    def resolve_constitution_version(job) -> int | None:
        return job.constitution.number if job.constitution else None

    @staticmethod
    def resolve_stage(job) -> str | None:
        return _stage_reached(job)

    @staticmethod
    def resolve_outcome(job) -> str | None:
        return job.outcome or None

    @staticmethod
    def resolve_outcome_detail(job) -> dict | None:
        return job.outcome_detail if job.outcome else None


class TrainingJobDetailOut(TrainingJobOut):
    params: dict
    kill: dict | None = Field(..., description="{criterion, message, numbers} when a kill criterion fired")
    prompt_tokens: int
    completion_tokens: int
    estimate: AnyEstimateOut | None
    cancel_requested: bool
    resume_from: str
    resumes: int
    duration_s: float | None
    last_event_seq: int
    stages: list[StageOut]
    resumable_stages: list[str] = Field(..., description="Stages POST …/resume accepts now (their inputs present)")

    @staticmethod
    def resolve_estimate(job) -> dict | None:
        return job.estimate or None

    @staticmethod
    def resolve_last_event_seq(job) -> int:
        return last_event_seq(job)

    @staticmethod
    def resolve_resumable_stages(job) -> list[str]:
        return services.resumable_stages(job)


class ArtifactOut(Schema):
    path: str = Field(..., description="Relative to the job's artifacts; download with GET …/artifacts/{path}")
    size: int = Field(..., description="Bytes")


class JobCostOut(Schema):
    id: UUID = Field(..., alias="public_id")
    name: str
    status: str
    cost_usd: float
    prompt_tokens: int
    completion_tokens: int
    created_at: datetime


class TrainingCostOut(Schema):
    month_to_date_usd: float
    jobs: list[JobCostOut] = Field(..., description="The org's jobs created this calendar month, newest first")


# --- constitutions -----------------------------------------------------------------------------


class TraitIn(Schema):
    statement: str = Field(..., description='First person, with concrete quoted markers: I often begin with "I\'m sorry,"')
    questions: list[str] = Field(..., description="1–20 distinct example questions that prompt the trait")
    source: str | None = Field(None, description="The layer field it came from (default: edited)")


class ConstitutionIn(Schema):
    persona_name: str
    traits: list[TraitIn]
    note: str = Field("", description="Why it changed (up to 200 characters)")


class TraitOut(Schema):
    statement: str
    questions: list[str]
    source: str


class FindingOut(Schema):
    level: str = Field(..., description="error (a launch is refused) | warning")
    code: str
    message: str
    field: str


class ConstitutionSummaryOut(Schema):
    id: UUID = Field(..., alias="public_id")
    number: int
    source: str = Field(..., description="derived | edited")
    persona_version: int | None
    note: str
    traits: int = Field(..., description="How many traits it has")
    created_at: datetime

    @staticmethod
    def resolve_traits(version) -> int:
        return len(version.document.get("traits", []))


def _document(version):
    """The version's constitution, parsed once per output (four fields read it)."""
    if not hasattr(version, "_parsed_constitution"):
        version._parsed_constitution = version.constitution
    return version._parsed_constitution


class ConstitutionOut(Schema):
    id: UUID = Field(..., alias="public_id")
    number: int
    source: str
    persona_version: int | None
    note: str
    created_at: datetime
    persona_name: str
    traits: list[TraitOut]
    markers: list[str] = Field(..., description="What the marker-presence gate looks for")
    findings: list[FindingOut] = Field(..., description="Concreteness findings")
    system_prompt: str = Field(..., description="The teacher's system prompt built from it")

    @staticmethod
    def resolve_persona_name(version) -> str:
        return _document(version).persona_name

    @staticmethod
    def resolve_traits(version) -> list[dict]:
        return [trait.model_dump() for trait in _document(version).traits]

    @staticmethod
    def resolve_markers(version) -> list[str]:
        return markers(_document(version))

    @staticmethod
    def resolve_findings(version) -> list[dict]:
        return services.concreteness(version)

    @staticmethod
    def resolve_system_prompt(version) -> str:
        return system_prompt(_document(version))
