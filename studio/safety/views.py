"""The safety floor's allow-listed pages: what is locked and until when, its limits, and where to find support."""

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_GET

from studio.safety.middleware import ALLOWED_ORG_PAGES
from studio.safety.routes import closed_labels
from studio.safety.selectors import active_lockout
from studio.views import org_page


@org_page
@require_GET
def lockout_summary(request):
    org = request.principal.organization
    lockout = active_lockout(organization=org, user=request.user)
    closed = closed_labels(lockout.scope) if lockout else []
    return render(request, "safety/lockout.html", {"lockout": lockout, "lockout_org": org, "closed": closed})


@org_page
@require_GET
def lockout_limits(request):
    org = request.principal.organization
    lockout = active_lockout(organization=org, user=request.user)
    context = {
        "lockout": lockout, "closed": closed_labels(lockout.scope if lockout else "persona_routes"),
        "whole_org": closed_labels("whole_org"), "hours": settings.SAFETY_LOCKOUT_HOURS,
        "allowed": sorted(ALLOWED_ORG_PAGES),
    }
    return render(request, "safety/limits.html", context)


@org_page
@require_GET
def support(request):
    return render(request, "safety/support.html", {"lockout": active_lockout(organization=request.principal.organization, user=request.user)})
