from datetime import datetime
from uuid import UUID

from ninja import Field, Schema


class OrgOut(Schema):
    id: UUID
    name: str
    slug: str
    role: str
    scopes: list[str]
    acting_as: str
    llm_mode: str


class WorkspaceIn(Schema):
    name: str = Field(..., min_length=1, max_length=120)
    slug: str = Field("", max_length=60)


class WorkspaceOut(Schema):
    id: UUID = Field(..., alias="public_id")
    name: str
    slug: str
    created_at: datetime


class MemberOut(Schema):
    id: UUID = Field(..., alias="public_id")
    email: str = Field(..., alias="user.email")
    username: str = Field(..., alias="user.get_username")
    role: str
    joined_at: datetime = Field(..., alias="created_at")


class RoleIn(Schema):
    role: str


class InvitationIn(Schema):
    email: str = Field(..., max_length=254)
    role: str = "viewer"


class InvitationOut(Schema):
    id: UUID = Field(..., alias="public_id")
    email: str
    role: str
    created_at: datetime
    pending: bool = Field(..., alias="is_pending")


class ApiKeyIn(Schema):
    name: str = Field(..., min_length=1, max_length=80)
    scopes: list[str]


class ApiKeyOut(Schema):
    id: UUID = Field(..., alias="public_id")
    name: str
    prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreatedOut(ApiKeyOut):
    secret: str = Field(..., alias="issued_secret", description="The key itself. Shown once; store it now.")


class CredentialIn(Schema):
    api_key: str = Field(..., min_length=1, max_length=500)
    api_base: str = Field("", max_length=500)


class CredentialOut(Schema):
    provider: str = Field(..., alias="provider.value")
    label: str = Field(..., alias="provider.label")
    source: str
    masked: str
    api_base: str
