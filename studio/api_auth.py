"""API authentication: org API keys (Bearer) and the browser session (with CSRF).

Both put a Principal into request.auth.
"""

from ninja.errors import AuthenticationError, HttpError
from ninja.security import HttpBearer, SessionAuth

from studio.access import access_membership
from studio.errors import NotFound
from studio.models import Membership
from studio.principal import Principal
from studio.services import api_key_authenticate

ORG_HEADER = "X-Studio-Org"
SESSION_ORG_KEY = "current_org"


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request, token):
        looked_up = getattr(request, "authenticated_api_key", None)  # by the safety middleware, same request
        api_key = looked_up[1] if looked_up and looked_up[0] == token else api_key_authenticate(token)
        if api_key is None:
            # A presented but wrong or revoked key is a 401, whatever other auth might apply.
            raise AuthenticationError(401, "invalid or revoked API key")
        return Principal.from_api_key(api_key)


class OrgSessionAuth(SessionAuth):
    """Session auth for the browser. The org is the X-Studio-Org header, else the one last opened in the UI."""

    def _get_key(self, request):
        if not request.user.is_authenticated:
            return None  # 401 rather than a CSRF failure for anonymous requests
        return super()._get_key(request)  # checks CSRF on unsafe methods

    def authenticate(self, request, key):
        if not request.user.is_authenticated:
            return None
        slug = request.headers.get(ORG_HEADER) or request.session.get(SESSION_ORG_KEY)
        if not slug:
            memberships = list(Membership.objects.filter(user=request.user).select_related("organization")[:2])
            if len(memberships) != 1:
                raise HttpError(400, f"name the organization in the {ORG_HEADER} header")
            return Principal.from_membership(memberships[0])
        try:
            return Principal.from_membership(access_membership(request.user, slug))
        except NotFound:
            raise HttpError(404, "organization not found") from None
