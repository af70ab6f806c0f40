"""Background work for tenancy: invitation emails and the worker health check."""

import time

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail

from studio.access import access_invitation
from studio.models import Organization
from studio.realtime import send_event
from studio.work.tasks import reap_stale_work  # noqa: F401  (studio.work is not an app: its task registers here)


@shared_task
def send_invitation_email(*, organization_id: str, invitation_id: str, link: str) -> None:
    organization = Organization.objects.get(public_id=organization_id)
    invitation = access_invitation(organization, invitation_id)
    inviter = invitation.invited_by.email if invitation.invited_by else "An administrator"
    send_mail(
        subject=f"You are invited to {organization.name} on Persona Studio",
        message=(
            f"{inviter} invited you to join {organization.name} as {invitation.role}.\n\n"
            f"Set your password and join: {link}\n\n"
            f"The link works once and expires in {invitation.VALID_FOR.days} days."
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[invitation.email],
    )


@shared_task(bind=True)
def worker_ping(self, *, organization_id: str, requested_at: float) -> None:
    """Answer a health check from the dashboard: proves the worker runs and its events reach browsers."""
    organization = Organization.objects.get(public_id=organization_id)
    send_event(
        organization.channel_group,
        "worker.pong",
        {
            "hostname": self.request.hostname or "eager",
            "latency_ms": round((time.time() - requested_at) * 1000, 1),
            "mode": "embedded" if settings.EMBEDDED_MODE else "services",
        },
    )
