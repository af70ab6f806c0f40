from datetime import datetime
from uuid import UUID

from ninja import Schema


class ChatIn(Schema):
    message: str
    session_id: UUID | None = None


class DriftOut(Schema):
    score: float
    threshold: float  # the bound the reply was held to: the fingerprint's own spread, or the configured threshold
    threshold_source: str | None = None  # calibrated | floor | configured
    threshold_label: str | None = None  # the source in words: "this persona's own spread"
    action: str
    flagged: bool


class ChatOut(Schema):
    session_id: UUID
    persona_id: UUID
    engine: str  # providers | local (no credentials: SmolLM2 in-process) | offline
    reply: str
    drift: DriftOut | None
    drift_note: str | None  # why the reply was not scored ("fingerprint not ready"), else null
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    created_at: datetime


class ChatWithheldOut(Schema):
    detail: str
    session_id: UUID
    drift: DriftOut


class LockoutOut(Schema):
    id: UUID
    reason: str
    started_at: datetime
    ends_at: datetime
    chat_session_id: UUID | None


class SafeWordOut(Schema):
    detail: str
    session_id: UUID
    lockout: LockoutOut


class ChatMessageOut(Schema):
    role: str
    content: str | None  # null for a withheld reply
    drift_score: float | None
    drift_threshold: float | None  # the bound the score was held to (null for replies scored before bounds were kept)
    drift_threshold_source: str  # calibrated | floor | configured; blank when not scored
    drift_note: str
    flagged: bool
    blocked: bool
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    created_at: datetime


class ChatSessionOut(Schema):
    id: UUID
    persona_id: UUID
    version: int | None
    engine: str  # providers | local (no credentials: SmolLM2 in-process) | offline
    created_at: datetime
    updated_at: datetime
    messages: list[ChatMessageOut]


class ChatSessionSummaryOut(Schema):
    id: UUID
    version: int | None
    engine: str  # providers | local (no credentials: SmolLM2 in-process) | offline
    messages: int
    created_at: datetime
    updated_at: datetime
