from datetime import datetime
from uuid import UUID

from ninja import Field, Schema

from audits.reviews import selectors, services


class ComparisonIn(Schema):
    persona_id: UUID
    prompt_set: str | None = Field(None, description="name of the prompt set (default: 'default')")
    prompt: str
    text_a: str
    text_b: str
    source_a: str = Field(..., description="where text_a came from: 'persona v3', 'base', 'checkpoint 2'…; hidden from reviewers")
    source_b: str


class ComparisonBulkIn(Schema):
    persona_id: UUID
    prompt_set: str | None = None
    items: list[dict] = Field(..., description="rows of {prompt, text_a, text_b, source_a, source_b[, prompt_id]}; all stored or none")


class ComparisonOut(Schema):
    id: UUID = Field(..., alias="public_id")
    persona_id: UUID = Field(..., alias="persona.public_id")
    prompt_set: str
    prompt: str
    text_a: str
    text_b: str
    source_a: str = Field(..., alias="source_a.label")
    source_b: str = Field(..., alias="source_b.label")
    origin: str
    votes: int = Field(..., description="Human votes on the pair")
    created_at: datetime

    @staticmethod
    def resolve_votes(comparison) -> int:
        return getattr(comparison, "votes", 0)  # annotated by selectors.comparisons_of and access_comparison


class CreatedOut(Schema):
    created: int
    ids: list[UUID]


class ComparisonImportIn(Schema):
    persona_id: UUID
    prompt_set: str | None = None
    format: str = Field(..., description="csv or jsonl")
    content: str = Field(..., description="the file's text: columns/keys prompt, text_a, text_b, source_a, source_b[, prompt_id]")


class ComparisonRowErrorOut(Schema):
    row: int
    field: str
    message: str


class ComparisonImportOut(Schema):
    id: UUID = Field(..., alias="public_id")
    persona_id: UUID = Field(..., alias="persona.public_id")
    prompt_set: str
    format: str
    status: str
    row_count: int
    valid_rows: int
    errors: list[ComparisonRowErrorOut]
    preview: list[dict] = Field(..., description="The first 5 valid rows")
    created_at: datetime

    @staticmethod
    def resolve_valid_rows(comparison_import) -> int:
        return len(comparison_import.rows)

    @staticmethod
    def resolve_preview(comparison_import) -> list[dict]:
        return comparison_import.rows[:5]


class GenerationIn(Schema):
    persona_id: UUID
    prompt_set: str | None = None
    prompts: list[str]
    version_a: int
    version_b: int
    samples: int = Field(1, description="answers per prompt and version (1–10)")


class ComparisonGenerationOut(Schema):
    id: UUID = Field(..., alias="public_id")
    persona_id: UUID = Field(..., alias="persona.public_id")
    prompt_set: str
    status: str
    engine: str
    prompts: int
    samples: int
    version_a: int
    version_b: int
    created: int = Field(..., alias="created_count")
    calls_done: int
    calls_total: int
    errored: int = Field(..., description="Pairs that failed (a version gave no answer); every pair failed: the generation failed")
    error: str
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_prompts(generation) -> int:
        return len(generation.prompts)


class ProgressOut(Schema):
    done: int
    total: int


class QueueItemOut(Schema):
    """A pair as one reviewer sees it (an Assignment): sides in the order randomized for them."""

    comparison_id: UUID = Field(..., alias="comparison.public_id")
    prompt_set: str = Field(..., alias="comparison.prompt_set",
                            description="The set the pair belongs to (a training job's evaluation: training-<job>)")
    prompt: str = Field(..., alias="comparison.prompt")
    a: str
    b: str

    @staticmethod
    def resolve_a(assignment) -> str:
        return assignment.sides()[0]

    @staticmethod
    def resolve_b(assignment) -> str:
        return assignment.sides()[1]


class QueueOut(Schema):
    item: QueueItemOut | None
    progress: ProgressOut


class JudgmentIn(Schema):
    choice: str = Field(..., description="A, B or tie: the side as shown to you by /review-queue/next")
    scores: dict = Field(..., description="in_character, protocol_adherent, closure_complete: whole numbers 1–5")
    comment: str = ""


class JudgmentOut(Schema):
    id: UUID = Field(..., alias="public_id")
    comparison_id: UUID = Field(..., alias="comparison.public_id")
    choice: str = Field(..., description="A, B or tie: the side as it was shown to you")
    scores: dict
    weighted_score: float
    weights: dict
    sources: dict = Field(..., description="the source of A and of B as you saw them: revealed once your vote is in")
    progress: ProgressOut

    @staticmethod
    def resolve_choice(judgment) -> str:
        if judgment.choice == "tie":
            return "tie"
        shown = {"a": "B", "b": "A"} if judgment.assignment.flipped else {"a": "A", "b": "B"}
        return shown[judgment.choice]

    @staticmethod
    def resolve_weights(judgment) -> dict:
        return selectors.axis_weights(judgment.comparison.persona)

    @staticmethod
    def resolve_sources(judgment) -> dict:
        source_a, source_b = judgment.assignment.shown_sources()
        return {"A": source_a, "B": source_b}

    @staticmethod
    def resolve_progress(judgment, context) -> dict:
        return services.queue_progress(principal=context["request"].auth)


class SkipOut(Schema):
    comparison_id: UUID
    skipped: bool
    progress: ProgressOut


class JudgeStartOut(Schema):
    queued: int
    judge_run_id: UUID | None = None  # GET /v1/judge-runs/{judge_run_id} for its progress


class ReviewerOut(Schema):
    member_id: UUID = Field(..., alias="public_id")
    email: str = Field(..., alias="user.email")
    role: str


class KappaPairOut(Schema):
    first: str
    second: str
    n: int = Field(..., description="pairs both reviewers voted on")
    kappa: float | None = Field(..., description="Cohen's κ of their choices (a, b, tie); null when undefined")


class KappaMatrixOut(Schema):
    reviewers: list[str]
    kappa: list[list[float | None]] = Field(..., description="κ[i][j] between reviewers i and j; null on the diagonal or without common pairs")
    n: list[list[int]] = Field(..., description="common pairs of reviewers i and j")


class AlphaOut(Schema):
    alpha: float | None = Field(..., description="Krippendorff's α (ordinal); null: no data (under two reviewers per pair, or no variation)")
    n: int = Field(..., description="pairs scored on this axis by at least two reviewers")
    band: str | None = Field(..., description="poor < 0.4 ≤ moderate < 0.6 ≤ substantial < 0.8 ≤ strong")
    warning: bool = Field(..., description="α under 0.4: the reviewers read this axis differently")


class ReviewerAgreementOut(Schema):
    reviewer: str
    votes: int
    agreement: float | None = Field(..., description="share of agreement with the majority of the other reviewers (leave-one-out)")
    agreement_n: int = Field(..., description="pairs where the other reviewers had a majority")
    median_seconds: float | None
    ties: int
    mean_weighted_score: float | None


class AgreementOut(Schema):
    persona_id: UUID
    prompt_set: str | None
    votes: int
    pairs: list[KappaPairOut]
    kappa_matrix: KappaMatrixOut
    alpha: dict[str, AlphaOut]
    reviewers: list[ReviewerAgreementOut]


class RatingOut(Schema):
    rating: float
    mean: float
    std: float | None = Field(..., description="null when the resamples never vary")
    low: float | None = Field(..., description="2.5 % quantile; null when the resamples never vary")
    high: float | None
    rank: int | None


class LeaderboardEntryOut(Schema):
    source: str
    component: int = Field(..., description="the connected component of the comparison graph; sources are ranked only within one")
    votes: int
    rank: int | None = Field(..., description="1 + rated sources of the same component whose whole 95 % interval lies above")
    rating: float | None = Field(..., description="Bradley–Terry on the Elo scale; null when too few votes")
    too_few_votes: bool
    prior_dominated: bool = Field(..., description="unanimous outcomes in the component: the interval comes from the prior")
    interval: str | None = Field(..., description="bootstrap or posterior (Bradley–Terry with its prior)")
    note: str | None
    bradley_terry: RatingOut | None
    elo: RatingOut | None


class ComponentOut(Schema):
    component: int
    sources: list[str]
    votes: int
    prior_dominated: bool


class OrderDisagreementOut(Schema):
    judge_model: str
    pairs: int = Field(..., description="pairs this judge model read in both orders")
    disagreed: int = Field(..., description="pairs whose two orders named different things (counted as ties)")
    rate: float | None = Field(..., description="disagreed / pairs; null without pairs")


class JudgeHumanAgreementOut(Schema):
    judge_model: str
    pairs: int = Field(..., description="pairs this judge voted on whose human votes have a majority")
    kappa: float | None = Field(..., description="Cohen's κ of the judge's choice and the human majority's (a, b, tie); null when undefined")


class LeaderboardOut(Schema):
    persona_id: UUID
    kind: str
    prompt_set: str | None
    votes: int
    rounds: int
    min_votes: int = Field(..., description="votes a source needs for a rating (config reviews.min_votes_for_rating)")
    components: list[ComponentOut]
    entries: list[LeaderboardEntryOut]
    order_disagreement: list[OrderDisagreementOut] = Field(
        ..., description="per judge model, how often its two orders disagreed (judge votes; empty for human votes)")
    human_agreement: list[JudgeHumanAgreementOut] = Field(
        ..., description="per judge model, κ with the human majority where people voted on the same pairs (judge board only)")


class JudgeRunOut(Schema):
    id: UUID = Field(..., alias="public_id")
    persona_id: UUID = Field(..., alias="persona.public_id")
    status: str
    pairs: int
    calls_done: int
    calls_total: int
    stored: int
    errored: int = Field(..., description="Pairs the judge gave no valid verdict on; none got one: the run failed")
    order_disagreement: list[OrderDisagreementOut] = Field(
        ..., description="per judge model, pairs of this run whose two orders disagreed (each counted as a tie)")
    error: str
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_pairs(run) -> int:
        return len(run.comparison_ids)
