"""Domain errors. Services raise these; the API and views map them to responses in one place."""


class StudioError(Exception):
    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field

    def as_detail(self) -> dict | str:
        if self.field:
            return [{"loc": [self.field], "msg": self.message}]
        return self.message


class NotFound(StudioError):
    status_code = 404


class Forbidden(StudioError):
    status_code = 403


class Conflict(StudioError):
    status_code = 409


class Invalid(StudioError):
    status_code = 422


def run_service(call):
    """For management commands: a service's domain error becomes a CommandError with its message."""
    from django.core.management.base import CommandError

    try:
        return call()
    except StudioError as exc:
        raise CommandError(exc.message) from None
