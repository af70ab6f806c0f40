from datetime import datetime
from uuid import UUID

from ninja import Field, Schema

from audits.drift import DriftBound
from audits.chat.services import fingerprint_drift_bound
from studio.config.selectors import effective_tree


class AuditJobOut(Schema):
    id: UUID = Field(..., alias="public_id")
    persona_id: UUID = Field(..., alias="persona.public_id")
    version: int = Field(..., alias="version.number")
    kind: str
    status: str
    trigger: str
    engine: str
    chat_model: str
    judge_model: str
    total: int
    done: int
    percent: int
    error: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class AuditJobStartOut(Schema):
    job_id: UUID
    kind: str
    status: str
    version: int


class CategoryRateOut(Schema):
    passed: int
    failed: int
    errors: int
    pass_rate: float | None


class ProvocationRunOut(Schema):
    id: UUID = Field(..., alias="public_id")
    persona_id: UUID = Field(..., alias="persona.public_id")
    version: int = Field(..., alias="version.number")
    status: str
    engine: str
    chat_model: str
    judge_model: str
    tests: int
    passed: int
    failed: int
    errors: int
    pass_rate: float | None
    categories: dict[str, CategoryRateOut] = Field(..., alias="category_rates")
    error: str
    cost_usd: float
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_tests(job) -> int:
        return job.passed + job.failed + job.errors


class TurnOut(Schema):
    role: str
    content: str


class ProvocationResultOut(Schema):
    test_id: str
    category: str
    title: str
    criterion: str
    transcript: list[TurnOut]
    verdict: str
    reason: str


class ProvocationRunDetailOut(ProvocationRunOut):
    results: list[ProvocationResultOut]


class CalibrationOut(Schema):
    """The spread of the fingerprint's own answers: each one's cosine distance to the mean of the others."""

    n: int
    mean: float
    sd: float
    p95: float
    max: float


def _drift_bound(fingerprint) -> DriftBound:
    """Worked out once per fingerprint serialized (two fields show it; it reads the config tree)."""
    if not hasattr(fingerprint, "_drift_bound"):
        tree = effective_tree(fingerprint.organization, fingerprint.persona.workspace)
        fingerprint._drift_bound = fingerprint_drift_bound(fingerprint, tree)
    return fingerprint._drift_bound


class FingerprintOut(Schema):
    id: UUID = Field(..., alias="public_id")
    version: int = Field(..., alias="version.number")
    status: str
    engine: str
    chat_model: str  # the model that answered the scenarios: the persona's chat model
    embedding_model: str
    embedding_label: str  # "MiniLM-L6 (semantic)", or "hashed n-grams (fallback: <why>)"
    scenarios: int
    dimensions: int | None
    calibration: CalibrationOut | None  # null for one answer, or a fingerprint from before calibration
    drift_threshold: float  # the bound a reply is held to now: max(threshold, mean + z·sd), the threshold alone without calibration
    drift_threshold_source: str  # calibrated | floor | configured
    distinctiveness: float | None  # cosine distance from a generic assistant's fingerprint (same scenarios and models)
    vector: list[float] | None = None
    error: str
    job_id: UUID | None
    cost_usd: float
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_dimensions(fingerprint) -> int | None:
        return len(fingerprint.vector) if fingerprint.vector else None

    @staticmethod
    def resolve_calibration(fingerprint) -> dict | None:
        return fingerprint.calibration if fingerprint.own_spread else None

    @staticmethod
    def resolve_drift_threshold(fingerprint) -> float:
        return round(_drift_bound(fingerprint).value, 4)

    @staticmethod
    def resolve_drift_threshold_source(fingerprint) -> str:
        return _drift_bound(fingerprint).source

    @staticmethod
    def resolve_vector(fingerprint) -> list[float] | None:
        # Only when asked for (?vector=true): hundreds of floats.
        return fingerprint.vector if getattr(fingerprint, "include_vector", False) else None

    @staticmethod
    def resolve_job_id(fingerprint) -> UUID | None:
        return fingerprint.job.public_id if fingerprint.job_id else None


class AuditAttemptOut(Schema):
    run_id: UUID
    attempt: int
    status: str
    model: str
    scores: dict[str, float | None] | None
    overall: float | None
    passed: bool
    threshold: float
    notes: str
    finished_at: datetime | None


class PersonaAuditsOut(Schema):
    persona_id: UUID
    version: int | None
    attempts: list[AuditAttemptOut]
    fingerprint: FingerprintOut | None
    provocations: ProvocationRunOut | None
    active_jobs: list[AuditJobOut]


class PersonaRef(Schema):
    id: UUID = Field(..., alias="public_id")
    name: str = Field(..., alias="display_name")


class ParentDriftOut(Schema):
    distance: float | None  # null until both have a ready fingerprint in the same embedding space
    max_drift: float  # engine.pipeline.fork.max_drift_from_parent
    flagged: bool  # distance > max_drift: no longer recognisably its parent
    note: str


class LineageNodeOut(Schema):
    persona: PersonaRef
    parent_id: UUID | None
    depth: int
    fork_note: str
    parent_version: int | None
    drift_from_parent: ParentDriftOut | None


class LineageOut(Schema):
    persona_id: UUID
    parent: PersonaRef | None
    parent_version: int | None
    fork_note: str
    drift_from_parent: ParentDriftOut | None
    tree: list[LineageNodeOut]  # the family from its root, depth first (empty for a persona with no parent and no forks)


class DistinctivenessOut(Schema):
    persona_id: UUID
    score: float | None  # null before the first fingerprint, or without a comparable baseline
    fingerprint_id: UUID | None
    version: int | None
    chat_model: str | None
    embedding_model: str | None
    scenarios: int | None
    baseline_prompt: str | None


class NearCloneOut(Schema):
    a: PersonaRef
    b: PersonaRef
    distance: float


class NearClonesOut(Schema):
    clone_floor: float  # engine.pipeline.distinctiveness.clone_floor
    pairs: list[NearCloneOut]


# --- robustness attack runs (audits.attack_runs) ---------------------------------------------------


class AttackRunIn(Schema):
    attacks: list[str] | None = Field(None, description="Attack ids (GET /v1/attacks lists them); absent: all")
    prompts: int | None = Field(None, description="How many of the 12 ordinary prompts, from the first; absent: all")


class AttackOut(Schema):
    id: str
    kind: str  # control | suffix | prefill
    title: str
    suffix: str


class AttackCatalogOut(Schema):
    attacks: list[AttackOut]
    prompts: list[str]  # the ordinary prompts every attack is applied to, in order (a run with `prompts: n` takes the first n)
    keep_going: str  # what the user says after the prefilled reply


class RateOut(Schema):
    """successes of n, with Wilson's 95 % score interval (null with no data)."""

    successes: int
    n: int
    rate: float | None
    interval: list[float] | None


class JudgeRateOut(RateOut):
    errors: int  # replies the judge could not grade (or never written), left out of n


class MeanOut(Schema):
    """The mean with Student's t 95 % interval (null below two values)."""

    n: int
    mean: float | None
    sd: float | None
    interval: list[float] | None


class AttackSideOut(Schema):
    replies: int
    judge: JudgeRateOut  # in character by the judge
    fingerprint: RateOut  # in character by the fingerprint: drift within the bound
    drift: MeanOut  # mean cosine distance from the fingerprint


class PairedRateOut(Schema):
    """Tuned − base on the prompts both had graded (audits.evals.stats.compare_cases)."""

    cases: int
    first_rate: float  # base
    second_rate: float  # tuned
    difference: float
    interval: list[float]
    p_value: float
    method: str
    improved: int
    regressed: int
    unchanged: int
    direction: str | None


class AttackDifferenceOut(Schema):
    judge: PairedRateOut | None
    drift: MeanOut  # of the paired differences tuned − base


class AttackSummaryOut(AttackOut):
    sides: dict[str, AttackSideOut]
    difference: AttackDifferenceOut | None  # base vs tuned runs only


class AttackFingerprintOut(Schema):
    scored: bool
    note: str | None = None
    id: UUID | None = None
    version: int | None = None
    embedding_model: str | None = None
    bound: float | None = None
    bound_source: str | None = None
    bound_label: str | None = None


class AttackRunStartOut(Schema):
    run_id: UUID
    kind: str
    status: str
    version: int
    total: int

    @classmethod
    def of(cls, run) -> "AttackRunStartOut":
        return cls(run_id=run.public_id, kind=run.kind, status=run.status, version=run.version.number, total=run.total)


class AttackRunOut(Schema):
    id: UUID = Field(..., alias="public_id")
    kind: str  # attacks (a persona) | checkpoint_attacks (a training job's base and tuned checkpoints)
    persona_id: UUID = Field(..., alias="persona.public_id")
    version: int = Field(..., alias="version.number")
    training_job_id: UUID | None
    status: str
    engine: str
    chat_model: str
    judge_model: str
    total: int
    done: int
    percent: int
    error: str
    sides: list[str]
    prompts: int
    attacks: list[AttackSummaryOut]  # empty until it completes
    fingerprint: AttackFingerprintOut | None
    cost_usd: float
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_training_job_id(job) -> str | None:
        return job.params.get("training_job")

    @staticmethod
    def resolve_sides(job) -> list[str]:
        return job.params.get("sides", [])

    @staticmethod
    def resolve_prompts(job) -> int:
        return int(job.params.get("prompts", 0))

    @staticmethod
    def resolve_attacks(job) -> list[dict]:
        return (job.summary or {}).get("attacks", [])

    @staticmethod
    def resolve_fingerprint(job) -> dict | None:
        return (job.summary or {}).get("fingerprint")


class AttackReplyOut(Schema):
    attack: str
    side: str
    prompt_index: int
    transcript: list[TurnOut]
    verdict: str
    reason: str
    drift: float | None
    within_bound: bool | None


class AttackRunDetailOut(AttackRunOut):
    replies: list[AttackReplyOut]

    @staticmethod
    def resolve_replies(job) -> list:
        return list(job.attack_replies.all())
