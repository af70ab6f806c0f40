from datetime import datetime
from uuid import UUID

from ninja import Field, Schema
from pydantic import StrictInt


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
    id: UUID | None
    key: str
    source: str = Field(..., description="catalog (applies to every persona) | persona")
    layer: str
    title: str
    turns: list[dict]
    check: dict


class EvalRunIn(Schema):
    epochs: StrictInt | None = Field(None, description="Repeats per case, 1–10 (default 3)")


class EvalRunOut(Schema):
    id: UUID
    persona_id: UUID
    version: int
    status: str
    engine: str
    epochs: int
    progress_done: int
    progress_total: int
    gate_passed: bool | None
    gate_reasons: list[str]
    error: str
    cost_usd: float
    created_at: datetime
    finished_at: datetime | None


class LayerOut(Schema):
    layer: str
    cases: int
    passes: int
    fails: int
    errors: int
    rate: float | None
    interval: list[float] | None = Field(..., description="95% bootstrap interval (cases resampled with their epochs)")
    threshold: float
    met: bool
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


class EvalRunDetailOut(EvalRunOut):
    config: dict
    layers: list[LayerOut]
    failing_cases: list[FailingCaseOut]
