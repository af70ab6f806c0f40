"""The safety floor's enforcement at the routing layer, below every view (SPEC §3).

For a principal with an active lockout in an org, the routes the lockout closes answer 423 with the
lockout: its persona routes (studio/safety/routes.py: personas and everything under them, chats, runs,
audits, evals), or every route of the org when the lockout's scope is `whole_org` (org config
engine.pipeline.safety.lockout_scope, copied onto the lockout when it starts). Never closed: the
fixed allow-list below.

- pages   /o/<slug>/…    never ALLOWED_ORG_PAGES (lockout summary, its limits, support);
- API     /v1/…          never ALLOWED_API_PATHS; the org is the API key's, else the
                         X-Studio-Org header, else the session's current org, else the user's only org;
- any route of that org naming a locked chat session (a UUID in the path) is locked for every member.

Routes outside an org (home, login, logout, invitations, static files) are never intercepted.
WebSockets are guarded by studio/safety/asgi.py.
"""

import re
import uuid

from django.core.validators import slug_re
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from studio.safety.models import Lockout
from studio.safety.routes import closed_labels, closes
from studio.safety.selectors import active_lockouts

ORG_PAGE = re.compile(r"^/o/(?P<slug>[-a-zA-Z0-9_]+)/(?P<rest>.*)$")
ALLOWED_ORG_PAGES = frozenset({"lockout/", "lockout/limits/", "support/"})
ALLOWED_API_PATHS = frozenset({"/v1/docs", "/v1/openapi.json"})
UUID_IN_PATH = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
API_ORG_HEADER = "X-Studio-Org"
SESSION_ORG_KEY = "current_org"


class SafetyFloorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        lockout = self.lockout_for(request)
        if lockout is None:
            return self.get_response(request)
        if request.path.startswith("/v1/"):
            return locked_json(lockout)
        return locked_page(request, lockout)

    def lockout_for(self, request) -> Lockout | None:
        path = request.path
        session_ids = [uuid.UUID(found) for found in UUID_IN_PATH.findall(path)]
        if match := ORG_PAGE.match(path):
            if match["rest"] in ALLOWED_ORG_PAGES:
                return None
            lockouts = active_lockouts(organization=match["slug"], user=request.user, chat_session_ids=session_ids)
            return closing(lockouts, "pages", match["rest"], session_ids)
        if path.startswith("/v1/") and path.rstrip("/") not in ALLOWED_API_PATHS:
            return self.api_lockout(request, session_ids)
        return None

    def api_lockout(self, request, session_ids) -> Lockout | None:
        from studio.services import api_key_authenticate  # the same lookup the API's auth does

        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            api_key = api_key_authenticate(token.strip())
            request.authenticated_api_key = (token.strip(), api_key)  # the API's auth reuses this lookup
            if api_key is None:
                return None  # the API answers 401
            lockouts = active_lockouts(organization=api_key.organization, api_key=api_key, chat_session_ids=session_ids)
            return closing(lockouts, "api", request.path[len("/v1/"):], session_ids)
        user = request.user
        if not user.is_authenticated:
            return None
        slug = request.headers.get(API_ORG_HEADER) or request.session.get(SESSION_ORG_KEY) or _only_org_slug(user)
        if not slug or not slug_re.match(slug):
            return None  # no org, or a header that cannot name one (the API answers 404)
        lockouts = active_lockouts(organization=slug, user=user, chat_session_ids=session_ids)
        return closing(lockouts, "api", request.path[len("/v1/"):], session_ids)


def closing(lockouts, kind: str, rest: str, session_ids) -> Lockout | None:
    """The first of these lockouts that closes this route: by its scope, or because the route names its chat session."""
    return next((lockout for lockout in lockouts if closes(lockout.scope, kind, rest) or lockout.chat_session_id in session_ids), None)


def _only_org_slug(user) -> str | None:
    slugs = list(user.memberships.values_list("organization__slug", flat=True)[:2])
    return slugs[0] if len(slugs) == 1 else None


def lockout_summary(lockout: Lockout) -> dict:
    return {
        "id": str(lockout.public_id),
        "reason": lockout.reason,
        "scope": lockout.scope,
        "closes": closed_labels(lockout.scope),
        "started_at": lockout.started_at.isoformat(),
        "ends_at": lockout.ends_at.isoformat(),
        "chat_session_id": str(lockout.chat_session_id) if lockout.chat_session_id else None,
    }


def lockout_detail(lockout: Lockout) -> str:
    what = "every route of this organization is" if lockout.scope == Lockout.Scope.WHOLE_ORG else "persona routes in this organization are"
    return f"safety lockout: {what} locked until {lockout.ends_at.isoformat()} ({lockout.reason}); nothing can shorten or end it early"


def _retry_after(lockout: Lockout) -> str:
    return str(max(1, int((lockout.ends_at - timezone.now()).total_seconds())))


def locked_json(lockout: Lockout) -> JsonResponse:
    response = JsonResponse({"detail": lockout_detail(lockout), "lockout": lockout_summary(lockout)}, status=423)
    response["Retry-After"] = _retry_after(lockout)
    return response


def locked_page(request, lockout: Lockout):
    slug = lockout.organization.slug
    response = render(
        request, "safety/lockout.html",
        {"lockout": lockout, "lockout_org": lockout.organization, "closed": closed_labels(lockout.scope), "intercepted": True},
        status=423,
    )
    response["Retry-After"] = _retry_after(lockout)
    if request.headers.get("HX-Request"):
        response["HX-Redirect"] = reverse("lockout_summary", args=[slug])  # leave the page, not just a fragment
    return response
