from django.core.management.base import CommandError

from studio.errors import StudioError


def run_service(call):
    """Turn a service's domain error into a CommandError with its message."""
    try:
        return call()
    except StudioError as exc:
        raise CommandError(exc.message) from None
