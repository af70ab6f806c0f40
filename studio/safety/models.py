"""The safety floor's lockouts: written once by `services.lockout_engage`, never changed or ended early."""

import uuid
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from studio.models import ApiKey, Organization


class LockoutQuerySet(models.QuerySet):
    def active(self, now=None):
        now = now or timezone.now()
        return self.filter(started_at__lte=now, ends_at__gt=now)



class Lockout(models.Model):
    """A principal's persona routes in one org, and the chat session where the safe word was said, locked until `ends_at`.

    `scope` is what it closes, copied from the org config when it starts so that no later config change softens it.
    """

    class Scope(models.TextChoices):
        PERSONA_ROUTES = "persona_routes", "persona routes"
        WHOLE_ORG = "whole_org", "the whole organization"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    # A plain UUID, not a foreign key: the studio does not depend on the chat app.
    chat_session_id = models.UUIDField(null=True, blank=True)
    reason = models.CharField(max_length=200)
    scope = models.CharField(max_length=20, choices=Scope.choices, default=Scope.PERSONA_ROUTES, db_default=Scope.PERSONA_ROUTES)
    started_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    objects = LockoutQuerySet.as_manager()

    class Meta:
        ordering = ["-ends_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "user", "ends_at"]),
            models.Index(fields=["api_key", "ends_at"]),
            models.Index(fields=["chat_session_id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, api_key__isnull=True) | Q(user__isnull=True, api_key__isnull=False),
                name="lockout_has_one_principal",
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=models.F("started_at")), name="lockout_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"lockout in {self.organization} until {self.ends_at:%Y-%m-%d %H:%M}"

    @property
    def remaining(self):
        return max(self.ends_at - timezone.now(), timedelta(0))
