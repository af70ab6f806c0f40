from django.conf import settings
from django.urls import reverse

from studio.nav import nav_for


def studio(request):
    """Navigation data: the user's orgs for the switcher and the current org, if any."""
    context = {"embedded_mode": settings.EMBEDDED_MODE}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        context["my_memberships"] = user.memberships.select_related("organization").order_by("organization__name")
    principal = getattr(request, "principal", None)
    if principal is not None:
        context["org"] = principal.organization
        context["principal"] = principal
        context["can_admin"] = principal.has_scope("config:admin")
        context["nav"] = _nav(request, principal)
    return context


def _nav(request, principal) -> list[dict]:
    url_name = request.resolver_match.url_name if request.resolver_match else None
    slug = principal.organization.slug
    return [{"label": entry.label, "href": reverse(entry.url_name, args=[slug]), "current": entry.is_current(url_name)}
            for entry in nav_for(principal.role, principal.scopes)]
