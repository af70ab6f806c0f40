"""Schemas of chatting with a job's trained model (POST /training-jobs/{id}/chat)."""

from datetime import datetime
from uuid import UUID

from ninja import Field, Schema

from audits.chat.schemas import DriftOut
from training_jobs.tuned_chat import reply_label


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
    """A turn with the trained model (training_jobs.tuned_chat.TunedTurn): the chat, the stored record, the drifts."""

    session_id: UUID = Field(..., alias="chat.public_id")
    job_id: UUID = Field(..., alias="chat.job.public_id")
    checkpoint: str = Field(..., alias="chat.checkpoint")  # the stage whose adapter answered: sft | dpo_train
    message: str = Field(..., alias="record.message")
    tuned: TunedReplyOut
    base: TunedReplyOut | None  # only with compare_base
    drift_note: str | None  # why a reply was not scored, else null
    note: str | None  # what was cut to fit the model's context, else null
    wall_s: float = Field(..., alias="record.wall_s")
    created_at: datetime = Field(..., alias="record.created_at")

    @staticmethod
    def resolve_tuned(turn) -> dict:
        record = turn.record
        label = reply_label(turn.chat.job, turn.chat.checkpoint)
        return {"model": label, "text": record.reply, "drift": turn.tuned_drift, "flagged": record.reply_flagged}

    @staticmethod
    def resolve_base(turn) -> dict | None:
        record = turn.record
        if record.base_reply is None:
            return None
        label = reply_label(turn.chat.job, "base")
        return {"model": label, "text": record.base_reply, "drift": turn.base_drift, "flagged": record.base_flagged}

    @staticmethod
    def resolve_drift_note(turn) -> str | None:
        return turn.record.drift_note or None

    @staticmethod
    def resolve_note(turn) -> str | None:
        return turn.record.note or None
