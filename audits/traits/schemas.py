from datetime import datetime
from typing import Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import StrictInt


class TraitProfileIn(Schema):
    persona_id: UUID | None = Field(None, description="Profile this persona, through its system prompt")
    training_job_id: UUID | None = Field(None, description="…or this training job's base model or tuned checkpoint (no system prompt)")
    side: Literal["base", "tuned"] | None = Field(None, description="With training_job_id: base (the untrained student) or tuned")
    prompts: StrictInt | None = Field(None, description="Prompts drawn from the 500 everyday first turns, 1–500 (default 60)")
    judge_model: str | None = Field(None, description="The judge (temperature 0.1); default the audit step's model, or the "
                                                      "offline judge (style features) without credentials")
    seed: StrictInt | None = Field(None, description="Seeds the draw of prompts and trait pairs, and sampling (default 0)")
    traits: list[str] | None = Field(None, description="Draw pairs from these catalog traits only (default all 144)")


class TraitRatingOut(Schema):
    trait: str
    rating: float = Field(..., description="Bradley–Terry on the Elo scale (mean 1000 over the traits rated)")
    low: float = Field(..., description="2.5 % bootstrap quantile")
    high: float = Field(..., description="97.5 % bootstrap quantile")
    rank: int = Field(..., description="1 + traits whose whole interval lies above this one's")
    shown: int = Field(..., description="Judgments naming it (both orders agreeing)")
    offered: int = Field(..., description="Judged pairs it was drawn in")
    constitution: bool = Field(..., description="The subject's constitution asserts it")


class TraitOrderDisagreementOut(Schema):
    pairs: int = Field(..., description="Replies judged in both orders")
    disagreed: int = Field(..., description="…whose two orders named different traits (dropped)")
    rate: float | None


class TraitDifferenceOut(Schema):
    trait: str
    before: float
    after: float
    difference: float = Field(..., description="after − before, Elo points")
    low: float
    high: float
    clear: bool = Field(..., description="The 95 % interval excludes 0")
    constitution: bool


class TraitSpearmanOut(Schema):
    rho: float | None = Field(..., description="Spearman's rank correlation over the traits both rated (None below 3)")
    traits: int


class TraitComparisonOut(Schema):
    profile_id: UUID
    compare_to_id: UUID
    subject_label: str
    compare_to_label: str
    spearman: TraitSpearmanOut
    boosted: list[TraitDifferenceOut]
    suppressed: list[TraitDifferenceOut]
    differences: list[TraitDifferenceOut]


class TraitProfileOut(Schema):
    id: UUID = Field(..., alias="public_id")
    subject_kind: str
    subject_id: UUID
    side: str
    subject_label: str
    status: str
    engine: str
    judge_label: str
    judge_model: str
    judge_warning: str | None = Field(None, description="When the judge shares the trained job's teacher's model family")
    prompts: int = Field(..., alias="prompts_count")
    seed: int
    progress_done: int
    progress_total: int
    error: str
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_judge_model(profile) -> str:
        return profile.config.get("judge", {}).get("model", "")

    @staticmethod
    def resolve_judge_warning(profile) -> str | None:
        return profile.config.get("judge_warning")


class TraitProfileDetailOut(TraitProfileOut):
    prompt_set: str = Field(..., alias="prompt_set.name")
    constitution_traits: list[str]
    counts: dict[str, int] | None = Field(None, description="Prompts by outcome: shown, disagreed, judge_failed, no_reply")
    order_disagreement: TraitOrderDisagreementOut | None
    ratings: list[TraitRatingOut]
    comparison: TraitComparisonOut | None = Field(None, description="Against compare_to, when given")

    @staticmethod
    def resolve_counts(profile) -> dict | None:
        return (profile.results or {}).get("counts")

    @staticmethod
    def resolve_order_disagreement(profile) -> dict | None:
        return (profile.results or {}).get("order_disagreement")

    @staticmethod
    def resolve_ratings(profile) -> list[dict]:
        return (profile.results or {}).get("ratings", [])

    @staticmethod
    def resolve_comparison(profile) -> dict | None:
        return getattr(profile, "comparison", None)
