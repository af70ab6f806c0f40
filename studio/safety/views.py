"""The safety floor's allow-listed pages: what is locked and until when, its limits, and where to find support."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from studio.safety.middleware import ALLOWED_ORG_PAGES
from studio.safety.selectors import active_lockout
from studio.views import org_page


@org_page
@require_GET
def lockout_summary(request):
    org = request.principal.organization
    lockout = active_lockout(organization=org, user=request.user)
    return render(request, "safety/lockout.html", {"lockout": lockout, "lockout_org": org})


@org_page
@require_GET
def lockout_limits(request):
    org = request.principal.organization
    context = {
        "lockout": active_lockout(organization=org, user=request.user),
        "hours": settings.SAFETY_LOCKOUT_HOURS,
        "allowed": sorted(ALLOWED_ORG_PAGES),
    }
    return render(request, "safety/limits.html", context)


@org_page
@require_GET
def support(request):
    return render(request, "safety/support.html", {"lockout": active_lockout(organization=request.principal.organization, user=request.user)})
