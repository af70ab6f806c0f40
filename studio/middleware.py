"""Domain errors that escape a page view become the matching 4xx page, never a 500; every response gets the
Content-Security-Policy."""

from django.conf import settings
from django.shortcuts import render

from studio.errors import StudioError


class StudioErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, StudioError) or request.path.startswith("/v1/"):
            return None
        return render(request, "error.html", {"error": exception}, status=exception.status_code)


class ContentSecurityPolicyMiddleware:
    """settings.CONTENT_SECURITY_POLICY on every response (Django 5.2 has no CSP of its own)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
