from datetime import datetime
from uuid import UUID

from ninja import Field, Schema


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
    """A chat turn (audits.chat.services.ChatTurn): the session, the reply message and its drift."""

    session_id: UUID = Field(..., alias="session.public_id")
    persona_id: UUID = Field(..., alias="session.persona.public_id")
    engine: str = Field(..., alias="session.engine")  # providers | local (no credentials: SmolLM2 in-process) | offline
    reply: str = Field(..., alias="reply.content")
    drift: DriftOut | None
    drift_note: str | None  # why the reply was not scored ("fingerprint not ready"), else null
    model: str = Field(..., alias="reply.model")
    prompt_tokens: int = Field(..., alias="reply.prompt_tokens")
    completion_tokens: int = Field(..., alias="reply.completion_tokens")
    cost_usd: float = Field(..., alias="reply.cost_usd")
    created_at: datetime = Field(..., alias="reply.created_at")

    @staticmethod
    def resolve_drift_note(turn) -> str | None:
        return turn.reply.drift_note or None


class ChatWithheldOut(Schema):
    detail: str
    session_id: UUID
    drift: DriftOut


class LockoutOut(Schema):
    id: UUID = Field(..., alias="public_id")
    reason: str
    started_at: datetime
    ends_at: datetime
    chat_session_id: UUID | None


class SafeWordOut(Schema):
    """The safe word was said (audits.chat.services.SafeWordSaid): the lockout it started."""

    detail: str = Field(..., alias="message")
    session_id: UUID = Field(..., alias="session.public_id")
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

    @staticmethod
    def resolve_content(message) -> str | None:
        return None if message.blocked else message.content


def _version_number(session) -> int | None:
    return session.version.number if session.version else None


class ChatSessionOut(Schema):
    id: UUID = Field(..., alias="public_id")
    persona_id: UUID = Field(..., alias="persona.public_id")
    version: int | None
    engine: str  # providers | local (no credentials: SmolLM2 in-process) | offline
    created_at: datetime
    updated_at: datetime
    messages: list[ChatMessageOut]

    resolve_version = staticmethod(_version_number)

    @staticmethod
    def resolve_messages(session) -> list:
        return list(session.messages.order_by("id"))


class ChatSessionSummaryOut(Schema):
    id: UUID = Field(..., alias="public_id")
    version: int | None
    engine: str  # providers | local (no credentials: SmolLM2 in-process) | offline
    messages: int = Field(..., alias="message_count")
    created_at: datetime
    updated_at: datetime

    resolve_version = staticmethod(_version_number)
