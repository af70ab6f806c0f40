"""Domain errors that escape a page view become the matching 4xx page, never a 500."""

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
