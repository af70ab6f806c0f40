"""The unified kind's API schemas: its launch body (datasets, composition, curriculum), its pre-flight's answer
(rows per category, the sampled mix, rows per phase) and a job's estimate."""

from typing import Literal
from uuid import UUID

from ninja import Field, Schema

from training_jobs.launch_schemas import PreflightBase


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


class UnifiedPreflightOut(PreflightBase):
    kind: Literal["unified"] = "unified"
    estimate: UnifiedEstimateOut | None
    counts: dict[str, int] = Field(..., description="Rows available per category in the chosen datasets")
    stages: list[str]
    mix: MixOut | None = Field(..., description="The mix sampled to the composition (null while there are errors)")
    phases: list[PhasePlanOut] = Field(..., description="Rows per curriculum phase")
