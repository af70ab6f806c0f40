"""Schemas of chatting with a job's trained model (POST /training-jobs/{id}/chat)."""

from datetime import datetime
from uuid import UUID

from ninja import Field, Schema

from audits.chat.schemas import DriftOut


class TunedChatIn(Schema):
    message: str
    compare_base: bool = Field(False, description="Also answer with the untrained base model, side by side")
    session_id: UUID | None = Field(None, description="Go on with one of your chats with this job; absent: a new chat")


class TunedReplyOut(Schema):
    model: str  # "tuned (DPO + SFT)" or "base (<student>)"
    text: str
    drift: DriftOut | None
    flagged: bool


class TunedChatOut(Schema):
    session_id: UUID
    job_id: UUID
    checkpoint: str  # the stage whose adapter answered: sft | dpo_train
    message: str
    tuned: TunedReplyOut
    base: TunedReplyOut | None  # only with compare_base
    drift_note: str | None  # why a reply was not scored, else null
    note: str | None  # what was cut to fit the model's context, else null
    wall_s: float
    created_at: datetime
