"""API operations for the org itself: workspaces, members, invitations, API keys, provider credentials."""

from uuid import UUID

from django.db import transaction
from django.urls import reverse
from ninja import Router, Status

from studio import services
from studio.access import access_api_key, access_invitation, access_member, access_workspace
from studio.pagination import paginated
from studio.schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    CredentialIn,
    CredentialOut,
    InvitationIn,
    InvitationOut,
    MemberOut,
    OrgOut,
    RoleIn,
    WorkspaceIn,
    WorkspaceOut,
)
from studio.tasks import send_invitation_email

router = Router(tags=["organization"])


@router.get("/org", response=OrgOut)
def get_org(request):
    p = request.auth
    org = p.organization
    return {
        "id": org.public_id, "name": org.name, "slug": org.slug, "role": p.role.value,
        "scopes": sorted(p.scopes), "acting_as": p.label,
        "llm_mode": "providers" if services.org_has_llm_credentials(organization=org) else "offline",
    }


@router.get("/workspaces", response=list[WorkspaceOut])
@paginated
def list_workspaces(request):
    return request.auth.organization.workspaces.all()


@router.post("/workspaces", response={201: WorkspaceOut})
def create_workspace(request, payload: WorkspaceIn):
    request.auth.require_scope("config:admin")
    workspace = services.workspace_create(organization=request.auth.organization, name=payload.name, slug=payload.slug)
    return Status(201, workspace)


@router.get("/workspaces/{workspace_id}", response=WorkspaceOut)
def get_workspace(request, workspace_id: UUID):
    return access_workspace(request.auth.organization, workspace_id)


@router.get("/members", response=list[MemberOut])
@paginated
def list_members(request):
    return request.auth.organization.memberships.select_related("user")


@router.patch("/members/{member_id}", response=MemberOut)
def change_member_role(request, member_id: UUID, payload: RoleIn):
    request.auth.require_scope("config:admin")
    member = access_member(request.auth.organization, member_id)
    return services.member_set_role(actor=request.auth, member=member, role=payload.role)


@router.delete("/members/{member_id}", response={204: None})
def remove_member(request, member_id: UUID):
    member = access_member(request.auth.organization, member_id)
    if request.auth.user is None or request.auth.user.pk != member.user_id:
        request.auth.require_scope("config:admin")
    services.member_remove(actor=request.auth, member=member)
    return Status(204, None)


@router.get("/invitations", response=list[InvitationOut])
@paginated
def list_invitations(request):
    request.auth.require_scope("config:admin")
    return request.auth.organization.invitations.all()


def invite_and_email(request, *, actor, email: str, role: str):
    """Create the invitation and email its link once the transaction commits (shared with the UI)."""
    issued = services.member_invite(actor=actor, email=email, role=role)
    link = request.build_absolute_uri(reverse("invitation_accept", args=[issued.token]))
    transaction.on_commit(
        lambda: send_invitation_email.delay(
            organization_id=str(actor.organization.public_id),
            invitation_id=str(issued.invitation.public_id),
            link=link,
        )
    )
    return issued.invitation


@router.post("/invitations", response={201: InvitationOut})
def create_invitation(request, payload: InvitationIn):
    request.auth.require_scope("config:admin")
    invitation = invite_and_email(request, actor=request.auth, email=payload.email, role=payload.role)
    return Status(201, invitation)


@router.delete("/invitations/{invitation_id}", response={204: None})
def revoke_invitation(request, invitation_id: UUID):
    request.auth.require_scope("config:admin")
    invitation = access_invitation(request.auth.organization, invitation_id)
    services.invitation_revoke(actor=request.auth, invitation=invitation)
    return Status(204, None)


@router.get("/api-keys", response=list[ApiKeyOut])
@paginated
def list_api_keys(request):
    request.auth.require_scope("config:admin")
    return request.auth.organization.api_keys.all()


@router.post("/api-keys", response={201: ApiKeyCreatedOut})
def create_api_key(request, payload: ApiKeyIn):
    request.auth.require_scope("config:admin")
    issued = services.api_key_create(
        organization=request.auth.organization, name=payload.name, scopes=payload.scopes,
        granted_by=request.auth.scopes, created_by=request.auth.user,
    )
    issued.api_key.issued_secret = issued.secret  # shown this once
    return Status(201, issued.api_key)


@router.delete("/api-keys/{key_id}", response=ApiKeyOut)
def revoke_api_key(request, key_id: UUID):
    request.auth.require_scope("config:admin")
    return services.api_key_revoke(api_key=access_api_key(request.auth.organization, key_id))


@router.get("/credentials", response=list[CredentialOut])
@paginated
def list_credentials(request):
    request.auth.require_scope("config:admin")
    return services.credential_statuses(organization=request.auth.organization)


@router.put("/credentials/{provider}", response=CredentialOut)
def set_credential(request, provider: str, payload: CredentialIn):
    request.auth.require_scope("config:admin")
    org = request.auth.organization
    services.credential_set(organization=org, provider=provider, api_key=payload.api_key, api_base=payload.api_base, user=request.auth.user)
    return next(s for s in services.credential_statuses(organization=org) if s.provider == provider)


@router.delete("/credentials/{provider}", response={204: None})
def clear_credential(request, provider: str):
    request.auth.require_scope("config:admin")
    services.credential_clear(organization=request.auth.organization, provider=provider)
    return Status(204, None)
