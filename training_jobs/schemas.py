"""Schemas of the training API (training jobs, pre-flight, artifacts, cost, constitutions).

The launch form's bounds and cross-field rules live in training_jobs.params.LaunchParams: `LaunchIn`
checks types only, so the pre-flight can report every bad value as an error (and a launch answers 422
naming the field) instead of the request failing on the first one.
"""

from datetime import datetime
from typing import Annotated, Literal, Union
from uuid import UUID

from ninja import Field, Schema
from pydantic import Discriminator, Tag

from studio.work.events import last_event_seq
from training_jobs import services
from training_jobs.constitution import markers, system_prompt
from training_jobs.job_kinds import DEFAULT_KIND
from training_jobs.models import StageRun


class LaunchFieldsOut(Schema):
    """The form's values without the persona (GET /training/defaults)."""

    preset: str = Field("custom", description="custom | quick | paper (the form fills a preset's values; see /training/presets/{name})")
    teacher_model: str = Field(..., description="litellm model answering with the constitution (chosen); offline/teacher needs no credentials")
    student_model: str = Field(..., description="litellm model serving the student, answering without it (rejected); offline/student offline")
    student_checkpoint: str = Field("tiny", description="What the backend trains: 'tiny' (built in), a local folder, or a hub id")
    dpo_pairs: int = Field(..., description="1–100,000")
    reflections: int = Field(..., description="Total reflections (10 introspective prompts × N), 1–1,000,000")
    interactions: int = Field(..., description="Self-interactions, 1–100,000")
    interaction_turns: int = Field(..., description="Turns per self-interaction, 2–50")
    data_scale: int = Field(100, description="Percent of the sizes to generate: 25, 50, 75 or 100")
    lora_rank: int
    lora_alpha: int
    lora_layers: int = Field(0, description="LoRA on the top N transformer layers only (the backward pass stops there); 0: every layer")
    learning_rate: float
    batch_size: int
    epochs: int
    dpo_beta: float
    nll_coef: float = Field(..., description="Weight of the NLL term next to the DPO loss")
    max_length: int = Field(..., description="Max tokens of a DPO example")
    sft_max_length: int = Field(..., description="Max tokens of an SFT example")
    temperature: float
    top_p: float
    max_new_tokens: int = 512
    smoke_test: str = Field("small", description="none | small | large | both: smoke tests before full scale")
    budget_usd: float | None = Field(None, description="Cap in USD (> 0); null for none")
    max_burn_usd_per_hour: float | None = None
    max_drop_rate: float = Field(0.3, description="Data-quality gate: a data stage is killed past this share of dropped samples")
    concurrency: int = Field(64, description="LLM calls in flight while generating data, 1–512")
    backend: str = "trl"
    name_suffix: str = ""
    generate_introspection: bool = True
    run_sft: bool = Field(True, description="SFT on the introspection data after DPO")
    strip_reflection_traces: bool = Field(False, description="Strip <think> traces from reflections (default: keep them)")
    keep_interaction_traces: bool = Field(False, description="Keep <think> traces in self-interactions (default: strip them)")
    review_eval_pairs: bool = Field(False, description="Send the evaluation's base-vs-tuned pairs to the persona's blind review "
                                                       "queue (prompt set training-<job>); default: judged only, nobody is asked")
    seed: int = 0
    eval_every_steps: int = Field(0, description="Evaluate the checkpoint every N training steps (marker rate and win rate vs "
                                  "base on held-out prompts, 95% Wilson intervals); 0: off. 0–100,000")
    eval_holdout_prompts: int = Field(8, description="Held-out prompts per checkpoint evaluation, 1–64")
    early_stop_patience: int = Field(3, description="Stop training after this many checkpoint evaluations without improvement "
                                     "(the best checkpoint is kept; a normal end); 0: never. 0–100")
    early_stop_min_delta: float = Field(0.05, description="The least rise in the metric that counts as an improvement, 0–1")
    early_stop_metric: str = Field("win_rate", description="win_rate | marker_rate")
    eval_trait_profile_prompts: int = Field(0, description="Trait profiles of base and tuned by revealed preference in the "
                                            "evaluation stage, on this many prompts each (same prompts and seed); 0: off, else 20–500")


class LaunchIn(LaunchFieldsOut):
    kind: Literal["character"] = Field("character", description="character (default): one persona's constitution → one adapter")
    persona_id: UUID
    constitution_version: int | None = Field(None, description="Default: the persona's newest constitution (derived on launch if none)")


class PhaseIn(Schema):
    name: str = Field(..., description="1–40 letters, digits, spaces, '_', '+' or '-'; unique in the curriculum")
    categories: list[str] | str = Field(..., description='Categories this phase trains on, or "all" (every category of the mix, shuffled)')
    learning_rate: float = Field(..., description="Above 0, at most 0.01; usually falling phase by phase")
    epochs: int = 1


class UnifiedLaunchIn(Schema):
    """A unified job: one adapter for a behavioral range, from a data mix and a curriculum (no persona).

    Types only here; bounds and cross-field rules are training_jobs.unified.UnifiedParams' (the pre-flight
    reports each as an error naming its field, e.g. composition.tool or curriculum.phases.2.categories)."""

    kind: Literal["unified"]
    dataset_ids: list[UUID] = Field(..., description="The org's datasets to sample from (1–20)")
    composition: dict[str, float] | None = Field(None, description="{category: share in percent}: sums to 100, none above 40 "
                                                  "(default: the issue's reference mix)")
    total_rows: int | None = Field(None, description="Rows in the mix; null: as many as the shares allow")
    phases: list[PhaseIn] | None = Field(None, description="The curriculum, in order (default: foundation → analytical → "
                                         "empathic+creative → mixed → fine-tuning)")
    student_checkpoint: str = "tiny"
    lora_rank: int = 32
    lora_alpha: int = 64
    lora_dropout: float = 0.05
    batch_size: int = 4
    grad_accum: int = 8
    warmup_ratio: float = 0.03
    max_grad_norm: float = 1.0
    max_length: int = 1024
    max_steps_per_phase: int | None = Field(None, description="Cap per phase (quick runs)")
    judge_model: str = Field("offline/studio", description="Grades the behavioral-range evals; offline/studio needs no credentials")
    eval_repeats: int = 2
    eval_max_new_tokens: int = 64
    temperature: float = 0.7
    top_p: float = 0.95
    budget_usd: float | None = None
    max_burn_usd_per_hour: float | None = None
    concurrency: int = 16
    backend: str = "trl"
    name_suffix: str = ""
    seed: int = 0


def _launch_kind(value) -> str:
    kind = value.get("kind", DEFAULT_KIND) if isinstance(value, dict) else getattr(value, "kind", DEFAULT_KIND)
    return kind if isinstance(kind, str) else DEFAULT_KIND


# POST /training-jobs and …/preflight: "kind" picks the body (absent: a character job).
AnyLaunchIn = Annotated[
    Union[Annotated[LaunchIn, Tag("character")], Annotated[UnifiedLaunchIn, Tag("unified")]],
    Discriminator(_launch_kind, custom_error_type="kind", custom_error_message="kind must be character or unified"),
]


class IssueOut(Schema):
    field: str
    message: str


class EstimateOut(Schema):
    calls: int
    teacher_calls: int
    student_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None = Field(..., description="null when a model has no known price")
    priced: bool
    note: str


class UnifiedEstimateOut(Schema):
    training_tokens: int = Field(..., description="Rows × epochs × typical tokens, over the phases")
    steps: list[int] = Field(..., description="Optimizer steps per phase")
    judge_calls: int
    cost_usd: float | None = Field(..., description="null when the judge model has no known price")
    priced: bool


class MixBarOut(Schema):
    category: str
    target: float = Field(..., description="Percent")
    achieved: float = Field(..., description="Percent of the sampled mix")
    count: int
    low: float | None = Field(..., description="The category's reference range (percent), if it has one")
    high: float | None


class MixOut(Schema):
    total: int
    counts: dict[str, int]
    bars: list[MixBarOut]


class PhasePlanOut(Schema):
    name: str
    rows: int
    learning_rate: float
    epochs: int


class UnifiedPreflightOut(Schema):
    kind: Literal["unified"] = "unified"
    ok: bool
    errors: list[IssueOut] = Field(..., description="The job cannot run: a launch answers 422 naming the first one's field")
    warnings: list[IssueOut]
    estimate: UnifiedEstimateOut | None
    counts: dict[str, int] = Field(..., description="Rows available per category in the chosen datasets")
    stages: list[str]
    mix: MixOut | None = Field(..., description="The mix sampled to the composition (null while there are errors)")
    phases: list[PhasePlanOut] = Field(..., description="Rows per curriculum phase")


class PreflightOut(Schema):
    kind: Literal["character"] = "character"
    ok: bool
    errors: list[IssueOut] = Field(..., description="The job cannot run: a launch answers 422 naming the first one's field")
    warnings: list[IssueOut] = Field(..., description="It may run badly: a launch goes ahead")
    estimate: EstimateOut | None
    engine: str = Field(..., description="offline (both models offline) | providers")
    stages: list[str]
    sizes: dict[str, int] = Field(..., description="What the full-scale stages generate, after the data scale")
    constitution_version: int | None
    review_eval_pairs: bool = Field(..., description="Whether the evaluation's pairs will go to the persona's review queue")


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
    estimate: EstimateOut | UnifiedEstimateOut | None
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
