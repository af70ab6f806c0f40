"""Access helpers: the only way views, API operations, tasks and consumers load tenant objects.

Every helper filters by organization first. A missing object and another
organization's object raise the same NotFound, so outsiders learn nothing.
"""

import uuid

from django.core.validators import slug_re
from django.db.models import Model, QuerySet

from studio.errors import Forbidden, NotFound
from studio.models import ApiKey, Invitation, Membership, Organization, Workspace
from studio.roles import Role


def _as_uuid(value) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def get_in_org(queryset: QuerySet, organization: Organization, public_id, *, what: str) -> Model:
    """Load one object of `organization` by public UUID, or raise NotFound (malformed ids included)."""
    object_id = _as_uuid(public_id)
    if object_id is None:
        raise NotFound(f"{what} not found")
    try:
        return queryset.get(organization=organization, public_id=object_id)
    except queryset.model.DoesNotExist:
        raise NotFound(f"{what} not found") from None


def access_membership(user, org_slug: str) -> Membership:
    """The user's membership of the org named by slug; NotFound when absent or not a member."""
    # A string that cannot be a slug (it may come from a header) names no org, and must not reach the database.
    if not getattr(user, "is_authenticated", False) or not slug_re.match(org_slug or ""):
        raise NotFound("organization not found")
    try:
        return Membership.objects.select_related("organization", "user").get(
            user=user, organization__slug=org_slug
        )
    except Membership.DoesNotExist:
        raise NotFound("organization not found") from None


def require_role(membership: Membership, minimum: Role, *, action: str) -> None:
    if not membership.has_role(minimum):
        raise Forbidden(f"{action} needs the {minimum.value} role or higher (you are {membership.role})")


def access_workspace(organization: Organization, workspace_id) -> Workspace:
    return get_in_org(Workspace.objects.select_related("organization"), organization, workspace_id, what="workspace")


def access_workspace_by_slug(organization: Organization, slug: str) -> Workspace:
    try:
        return organization.workspaces.get(slug=slug)
    except Workspace.DoesNotExist:
        raise NotFound("workspace not found") from None


def access_member(organization: Organization, membership_id) -> Membership:
    return get_in_org(Membership.objects.select_related("user", "organization"), organization, membership_id, what="member")


def access_invitation(organization: Organization, invitation_id) -> Invitation:
    return get_in_org(Invitation.objects.all(), organization, invitation_id, what="invitation")


def access_api_key(organization: Organization, key_id) -> ApiKey:
    return get_in_org(ApiKey.objects.all(), organization, key_id, what="API key")


def can_edit_workspace(membership: Membership, workspace: Workspace) -> bool:
    """Editors and up edit every workspace; others only where guardian grants it on the workspace."""
    if membership.has_role(Role.EDITOR):
        return True
    return membership.user.has_perm("studio.edit_workspace_content", workspace)
