from django.conf import settings


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
    return context
