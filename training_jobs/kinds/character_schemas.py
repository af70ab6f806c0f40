"""The character kind's API schemas: its launch body, its pre-flight's answer and a job's estimate.

The launch form's bounds and cross-field rules live in training_jobs.params.LaunchParams: `LaunchIn` checks types only,
so the pre-flight can report every bad value as an error (and a launch answers 422 naming the field) instead of the
request failing on the first one.
"""

from typing import Literal
from uuid import UUID

from ninja import Field, Schema

from training_jobs.launch_schemas import LaunchFieldsOut, PreflightBase


class LaunchIn(LaunchFieldsOut):
    kind: Literal["character"] = Field("character", description="character (default): one persona's constitution → one adapter")
    persona_id: UUID
    constitution_version: int | None = Field(None, description="Default: the persona's newest constitution (derived on launch if none)")


class EstimateOut(Schema):
    calls: int
    teacher_calls: int
    student_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None = Field(..., description="null when a model has no known price")
    priced: bool
    note: str


class PreflightOut(PreflightBase):
    kind: Literal["character"] = "character"
    estimate: EstimateOut | None
    engine: str = Field(..., description="offline (both models offline) | providers")
    stages: list[str]
    sizes: dict[str, int] = Field(..., description="What the full-scale stages generate, after the data scale")
    constitution_version: int | None
    review_eval_pairs: bool = Field(..., description="Whether the evaluation's pairs will go to the persona's review queue")
