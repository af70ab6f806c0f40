from datetime import datetime
from uuid import UUID

from ninja import Field, Schema


class EndpointIn(Schema):
    url: str = Field(..., max_length=2000)
    events: list[str]
    description: str = Field("", max_length=200)
    active: bool = True


class EndpointPatchIn(Schema):
    url: str | None = Field(None, max_length=2000)
    events: list[str] | None = None
    description: str | None = Field(None, max_length=200)
    active: bool | None = None


class EndpointOut(Schema):
    id: UUID = Field(..., alias="public_id")
    url: str
    description: str
    events: list[str]
    active: bool
    created_at: datetime
    secret_rotated_at: datetime | None


class EndpointSecretOut(EndpointOut):
    secret: str = Field(..., alias="issued_secret")  # shown once: at creation and on rotation


class EventOut(Schema):
    name: str
    description: str


class AttemptOut(Schema):
    cycle: int
    number: int
    at: datetime
    status_code: int | None
    error: str
    duration_ms: int


class DeliveryOut(Schema):
    id: UUID = Field(..., alias="public_id")
    endpoint_id: UUID = Field(..., alias="endpoint.public_id")
    event: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str
    last_response_excerpt: str
    created_at: datetime
    delivered_at: datetime | None


class DeliveryDetailOut(DeliveryOut):
    payload: dict
    attempt_log: list[AttemptOut]
