"""Webhook endpoints (an org's receivers) and deliveries (one event to one endpoint, with its attempt log)."""

import secrets
import uuid

from django.db import models
from django.utils import timezone

from studio import crypto
from studio.models import Organization
from studio.webhooks.events import subscribed


class WebhookEndpoint(models.Model):
    """A receiver URL. Its signing secret is shown once (creation, rotation) and stored encrypted (studio.crypto)."""

    SECRET_PREFIX = "whsec_"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    description = models.CharField(max_length=200, blank=True)
    events = models.JSONField(default=list)
    encrypted_secret = models.BinaryField(editable=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.organization.slug}: {self.url}"

    def set_new_secret(self) -> str:
        """A fresh secret, stored encrypted on the instance (not saved): return it to show once."""
        secret = self.SECRET_PREFIX + secrets.token_urlsafe(32)
        self.encrypted_secret = crypto.encrypt(secret)
        return secret

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.encrypted_secret)

    def subscribes_to(self, event: str) -> bool:
        return subscribed(self.events, event)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"  # refused without retrying (unsafe URL, endpoint disabled)
    DEAD = "dead", "Dead-lettered"  # every attempt failed


class WebhookDelivery(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=80)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    # A redelivery starts a new cycle; a task queued for an older cycle finds it superseded and stops.
    cycle = models.PositiveIntegerField(default=1)
    attempts = models.PositiveIntegerField(default=0)  # in the current cycle
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_response_excerpt = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["endpoint", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint.url} ({self.status})"

    @property
    def badge_class(self) -> str:
        return {"succeeded": "status-ready", "pending": "status-generating"}.get(self.status, "status-failed")


class WebhookAttempt(models.Model):
    """One POST to the endpoint (or a refusal to send it): the delivery log."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    cycle = models.PositiveIntegerField()
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "pk"]

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
