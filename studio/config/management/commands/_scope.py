from django.core.management.base import CommandError

from studio.access import access_workspace_by_slug
from studio.errors import NotFound
from studio.models import Organization


def org_and_workspace(org_slug: str, workspace_slug: str):
    """The org named by slug and, when given, its workspace; CommandError otherwise."""
    organization = Organization.objects.filter(slug=org_slug).first()
    if organization is None:
        raise CommandError(f"no organization with slug '{org_slug}'")
    if not workspace_slug:
        return organization, None
    try:
        return organization, access_workspace_by_slug(organization, workspace_slug)
    except NotFound:
        raise CommandError(f"no workspace '{workspace_slug}' in {org_slug}") from None
