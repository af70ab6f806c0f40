"""Rate limits, in one table, on django-ratelimit's counters (the Django cache: Redis in services mode, so every
server process shares them; local memory embedded).

| bucket       | what                                                        | per                       | default |
|--------------|-------------------------------------------------------------|---------------------------|---------|
| login        | POST /accounts/login/                                       | client IP; and username   | RATE_LIMITS["login_ip"], ["login_user"] |
| password     | POST /invite/<token>/ (sets a new member's password)        | client IP; and token      | ["password"] |
| invitations  | inviting members, page or API                               | organization              | ["invitations"] |
| api_keys     | creating API keys, page or API                              | organization              | ["api_keys"] |
| organizations| creating an organization (the Organizations page)           | member                    | ["organizations"] |
| spend        | operations that spend LLM money (generation, chat, audits,  | API key, or member        | org config limits.spend_per_minute |
|              | eval runs, judge runs, comparison generation, training      |                           |         |
|              | launches and resumes, tuned-model chat, dataset generation) |                           |         |
| api          | every /v1/ request with an API key                          | API key                   | org config limits.api_per_minute |

Past a limit: 429 with Retry-After (seconds), and a body naming the limit: {"detail", "limit", "retry_after"} on the
API, a page elsewhere. RATELIMIT_ENABLE=False turns every limit off (the suite's tests do, but those of the limits).
"""

import hashlib
import re
from dataclasses import dataclass
from math import ceil

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django_ratelimit.core import get_usage

POST = frozenset({"POST"})
ANY = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SPEND_PAGES = frozenset({
    "persona_new", "persona_import", "persona_fork", "persona_tests_provocations", "persona_tests_fingerprint", "persona_chat_send", "eval_run_create",
    "review_generate", "review_judge", "training_job_new", "training_job_unified_new", "training_job_resume",
    "training_job_chat_send", "dataset_generate",
})
SPEND_API = re.compile(
    r"^/v1/(personas|personas/import|personas/[^/]+/(provocations|fingerprint|chat|eval-runs|reviews/judge|fork)|comparisons/generations"
    r"|training-jobs|training-jobs/[^/]+/(resume|chat)|datasets/[^/]+/generate)$"
)


@dataclass(frozen=True)
class Rule:
    bucket: str
    methods: frozenset
    pages: frozenset = frozenset()  # URL names
    api: re.Pattern | None = None  # /v1/ paths
    per: tuple[str, ...] = ()  # what a count is kept per: ip, username, token, org, principal, api_key


RULES = (
    Rule("login", POST, pages=frozenset({"login"}), per=("ip", "username")),
    Rule("password", POST, pages=frozenset({"invitation_accept"}), per=("ip", "token")),
    Rule("invitations", POST, pages=frozenset({"member_invite"}), api=re.compile(r"^/v1/invitations$"), per=("org",)),
    Rule("api_keys", POST, pages=frozenset({"api_key_create"}), api=re.compile(r"^/v1/api-keys$"), per=("org",)),
    Rule("organizations", POST, pages=frozenset({"organizations"}), per=("principal",)),
    Rule("spend", POST, pages=SPEND_PAGES, api=SPEND_API, per=("principal",)),
    Rule("api", ANY, api=re.compile(r"^/v1/"), per=("api_key",)),
)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


class RateLimitMiddleware:
    """After authentication and the safety floor (whose API-key lookup it reuses); before any view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(settings, "RATELIMIT_ENABLE", True):
            return None
        name = getattr(request.resolver_match, "url_name", None)
        api = request.path.startswith("/v1/")
        for rule in RULES:
            if request.method not in rule.methods:
                continue
            if not ((api and rule.api and rule.api.match(request.path.rstrip("/") or "/")) or (not api and name in rule.pages)):
                continue
            for per in rule.per:
                ident = self._ident(request, per, view_kwargs)
                if ident is None:
                    continue
                rate = self._rate(request, rule.bucket, per)
                usage = get_usage(request, group=f"{rule.bucket}:{per}", key=lambda _group, _request, i=ident: i,
                                  rate=rate, method=list(rule.methods), increment=True)
                if usage and usage["should_limit"]:
                    return self._refuse(request, api, rule.bucket, per, rate, usage["time_left"])
        return None

    @staticmethod
    def _api_key(request):
        looked_up = getattr(request, "authenticated_api_key", None)
        if looked_up is None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return None
            from studio.services import api_key_authenticate

            looked_up = (token.strip(), api_key_authenticate(token.strip()))
            request.authenticated_api_key = looked_up
        return looked_up[1]

    def _ident(self, request, per: str, view_kwargs) -> str | None:
        if per == "ip":
            return request.META.get("REMOTE_ADDR") or "unknown"
        if per == "username":
            username = (request.POST.get("username") or "").strip().lower()
            return _digest(username) if username else None
        if per == "token":
            return _digest(str(view_kwargs.get("token", ""))) if view_kwargs.get("token") else None
        api_key = self._api_key(request) if request.path.startswith("/v1/") else None
        if per == "api_key":
            return f"key-{api_key.pk}" if api_key else None
        if per == "org":
            if api_key:
                return f"org-{api_key.organization_id}"
            slug = view_kwargs.get("org_slug") or request.headers.get("X-Studio-Org") or request.session.get("current_org")
            return f"org-{slug}" if slug else None
        if per == "principal":
            if api_key:
                return f"key-{api_key.pk}"
            return f"user-{request.user.pk}" if request.user.is_authenticated else None
        raise ValueError(f"unknown rate-limit key {per!r}")

    def _rate(self, request, bucket: str, per: str) -> str:
        """The limit: an org's own for spend and api (org config limits.*), else settings.RATE_LIMITS."""
        if bucket in ("spend", "api"):
            org = self._org(request)
            if org is not None:
                from studio.config.selectors import org_value

                return f"{int(org_value(org, f'limits.{bucket}_per_minute'))}/m"
            return settings.RATE_LIMITS[bucket]
        return settings.RATE_LIMITS[f"{bucket}_{per}"] if f"{bucket}_{per}" in settings.RATE_LIMITS else settings.RATE_LIMITS[bucket]

    def _org(self, request):
        api_key = self._api_key(request) if request.path.startswith("/v1/") else None
        if api_key:
            return api_key.organization
        slug = getattr(request.resolver_match, "kwargs", {}).get("org_slug")
        if slug:
            from studio.models import Organization

            return Organization.objects.filter(slug=slug).first()
        return None

    @staticmethod
    def _refuse(request, api: bool, bucket: str, per: str, rate: str, time_left: float):
        retry_after = max(1, ceil(time_left))
        what = {"ip": "from this address", "username": "for this username", "token": "for this invitation",
                "org": "for this organization", "principal": "for you", "api_key": "for this API key"}[per]
        message = f"too many {bucket.replace('_', ' ')} requests {what}: the limit is {rate}; try again in {retry_after} s"
        if api:
            response = JsonResponse({"detail": message, "limit": rate, "bucket": bucket, "retry_after": retry_after}, status=429)
        else:
            from studio.errors import StudioError

            error = StudioError(message)
            error.status_code = 429
            response = render(request, "error.html", {"error": error}, status=429)
        response["Retry-After"] = str(retry_after)
        return response
