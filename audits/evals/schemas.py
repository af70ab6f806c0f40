from datetime import datetime
from uuid import UUID

from ninja import Field, Schema
from pydantic import ConfigDict, StrictInt


class EvalCaseIn(Schema):
    layer: str = Field(..., description="floor | protocol | persona | closure")
    title: str
    prompt: str | None = Field(None, description="One user message; or give `turns`")
    turns: list[dict] | None = Field(None, description='A short scripted conversation: [{"role": "user" | "assistant", "content"}], ending with a user turn')
    check: dict = Field(..., description="judge {rubric} | required_phrases / forbidden_phrases {phrases} | structural {max_words, max_sentences, ends_with_question, no_markdown, first_person}")


class EvalCasePatchIn(Schema):
    layer: str | None = None
    title: str | None = None
    prompt: str | None = None
    turns: list[dict] | None = None
    check: dict | None = None


class EvalCaseOut(Schema):
    """A stored EvalCase (the persona's own), or a row of the suite (audits.evals.services.persona_suite)."""

    model_config = ConfigDict(populate_by_name=True)  # a suite row has `id` and `check`; a stored case public_id and check_rule

    id: UUID | None = Field(..., alias="public_id")
    key: str
    source: str = Field(..., description="catalog (applies to every persona) | persona")
    layer: str
    title: str
    turns: list[dict]
    check: dict = Field(..., alias="check_rule")
    rendered: dict | None = Field(None, description="The suite list: turns and check with this persona's values in place of "
                                                    "the placeholders ({name}, {signature_phrase}, …), as the page shows them")

    @staticmethod
    def resolve_source(case) -> str:
        return case["source"] if isinstance(case, dict) else "persona"


class EvalRunIn(Schema):
    epochs: StrictInt | None = Field(None, description="Repeats per case, 1–10 (default 3)")
    subject: dict | None = Field(None, description='Who answers: {"kind": "persona"} (default, its system prompt) or '
                                                   '{"kind": "checkpoint", "training_job": "<id>"}: a training job of this '
                                                   "persona, tuned and base with no system prompt, on the persona's "
                                                   "long-conversation cases only")


class EvalRunOut(Schema):
    id: UUID = Field(..., alias="public_id")
    persona_id: UUID = Field(..., alias="persona.public_id")
    version: int = Field(..., alias="version.number")
    status: str
    engine: str
    epochs: int
    progress_done: int
    progress_total: int
    gate_state: str | None = Field(..., description="The ship gate once completed: pass | fail | inconclusive")
    gate_passed: bool | None = Field(..., description="gate_state == pass (null until completed)")
    gate_reasons: list[str]
    error: str = Field(..., description="Why the run failed; empty otherwise")
    errored: int = Field(..., description="Trials that could not be graded (no reply, no valid verdict); a run whose every "
                                          "trial errored ends failed")
    cost_usd: float
    created_at: datetime
    finished_at: datetime | None
    subject: dict = Field(..., description='Who answered: {"kind": "persona"} or {"kind": "checkpoint", "training_job", "stage"}')

    @staticmethod
    def resolve_gate_state(run) -> str | None:
        return run.gate_state or None

    @staticmethod
    def resolve_subject(run) -> dict:
        return (run.config or {}).get("subject") or {"kind": "persona"}


class LayerOut(Schema):
    layer: str
    cases: int
    passes: int
    fails: int
    errors: int
    rate: float | None = Field(..., description="passes / (passes + fails); null without a graded trial")
    interval: list[float] | None = Field(..., description="95% Wilson score interval, cases as the independent units "
                                                         "(audits.evals.stats.pass_rate_interval); null: no data")
    threshold: float
    tolerance: float = Field(..., description="pass needs the interval's low end ≥ threshold − tolerance")
    state: str = Field(..., description="pass | fail | inconclusive")
    cases_needed: int | None = Field(..., description="inconclusive: more all-passing cases that would make it pass")
    pass_k: float | None = Field(..., description="epochs > 1: share of graded cases whose every epoch passed (pass^k)")
    pass_k_cases: int
    graded_cases: int
    met: bool = Field(..., description="state == pass")
    reason: str


class TrialOut(Schema):
    epoch: int
    verdict: str
    reason: str
    reply: str


class FailingCaseOut(Schema):
    key: str
    layer: str
    title: str
    fails: int
    errors: int
    trials: list[TrialOut]


class BandPointOut(Schema):
    turn: int
    n: int = Field(..., description="repeats scored at this turn")
    mean: float
    sd: float | None = Field(..., description="sample standard deviation (n − 1); null with one repeat")
    interval: list[float] | None = Field(..., description="95% t-interval of the mean (mean ± t·sd/√n); null with one repeat")
    min: float
    max: float


class RepeatOut(Schema):
    repeat: int
    verdict: str = Field(..., description="pass | fail by the case's assertion; error when it could not run or be scored")
    reason: str
    seed: int | None
    drift: list[float] = Field(..., description="per turn: the reply's cosine distance to the persona's fingerprint")
    base_drift: list[float] | None = Field(..., description="a checkpoint subject: the base model's, same user messages")
    first_crossing: int | None = Field(..., description="the first turn strictly above the threshold; null: never")
    transcript: list[dict] = Field(..., description="[{turn, phase, user, reply, base?}]")


class LongConversationSummaryOut(Schema):
    band: list[BandPointOut]
    first_crossings: list[int | None]
    earliest_crossing: int | None
    mean_crossing: int | None
    repeats_passed: int
    repeats_scored: int


class LongConversationOut(Schema):
    key: str
    layer: str
    title: str
    subject: str = Field(..., description="persona | checkpoint")
    turns: int
    threshold: float | None = Field(..., description="the case's, else engine.pipeline.drift_detection.threshold")
    before_turn: int = Field(..., description="the assertion checks turns 1 … before_turn − 1")
    planned_repeats: int
    repeats: list[RepeatOut]
    errors: list[str] = Field(..., description="why repeats errored")
    band: list[BandPointOut] = Field([], description="per turn over the repeats (the chart shades min–max)")
    first_crossings: list[int | None] = Field([], description="per repeat")
    earliest_crossing: int | None = Field(None, description="the earliest first crossing of any repeat")
    mean_crossing: int | None = Field(None, description="the first turn the mean drift is above the threshold")
    repeats_passed: int = Field(0, description="repeats that passed the assertion")
    repeats_scored: int = Field(0, description="repeats that ran to the end and were scored")
    base: LongConversationSummaryOut | None = Field(None, description="a checkpoint subject: the base model's band")


class EvalRunDetailOut(EvalRunOut):
    config: dict
    layers: list[LayerOut] = Field(..., alias="layer_rows")
    failing_cases: list[FailingCaseOut]
    long_conversations: list[LongConversationOut] = Field(..., description="drift per turn of each long-conversation case")


class PairedOut(Schema):
    scope: str = Field(..., description="overall | floor | protocol | persona | closure")
    cases: int = Field(..., description="cases graded in both runs")
    first_rate: float = Field(..., description="mean per-case pass share in the first run")
    second_rate: float
    difference: float = Field(..., description="second − first")
    interval: list[float] = Field(..., description="95% interval of the difference")
    p_value: float
    method: str = Field(..., description="mcnemar (one trial per case: exact McNemar, Newcombe's paired interval) | paired_bootstrap (several epochs: interval from resampled cases, p from a paired sign-flip test)")
    improved: int = Field(..., description="cases whose pass share rose in the second run")
    regressed: int
    unchanged: int
    direction: str | None = Field(..., description="better | worse when the interval excludes 0, else null")


class ComparedRunOut(Schema):
    id: UUID
    persona_id: UUID
    persona: str
    version: int
    epochs: int
    gate_state: str | None
    created_at: datetime


class EvalRunComparisonOut(Schema):
    first: ComparedRunOut
    second: ComparedRunOut
    shared_cases: int
    only_first: int = Field(..., description="cases graded only in the first run (left out)")
    only_second: int
    rows: list[PairedOut]
