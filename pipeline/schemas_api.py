from datetime import datetime
from uuid import UUID

from ninja import Field, Schema

from studio.work.events import last_event_seq


class PersonaGenerateIn(Schema):
    brief: str = Field(..., description="1–4000 characters, stored as written")
    workspace: str | None = Field(None, description="workspace id or slug (default: the org's default workspace)")
    stream: bool = False


class ForkIn(Schema):
    note: str = Field(..., description="What differs from the parent (1–200 characters), e.g. 'same woman, but at work'")


class GenerateOut(Schema):
    id: UUID
    status: str
    run_id: UUID
    engine: str


class StepOut(Schema):
    step: str
    attempt: int
    status: str
    model_requested: str
    model_used: str
    llm_attempts: list[dict]
    error: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None


class RunOut(Schema):
    id: UUID = Field(..., alias="public_id")
    persona_id: UUID = Field(..., alias="persona.public_id")
    status: str
    engine: str
    error: str
    audit_rounds: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    last_event_seq: int
    steps: list[StepOut]

    @staticmethod
    def resolve_last_event_seq(run) -> int:
        return last_event_seq(run)
