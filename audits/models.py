"""Post-generation audits: the voice fingerprint (and, filled in by issue 5, the provocation suite)."""

import uuid

from django.db import models

from personas.models import Persona, PersonaVersion
from studio.models import Organization


class FingerprintQuerySet(models.QuerySet):
    def ready(self):
        return self.filter(status=Fingerprint.Status.READY)

    def latest_for(self, persona: Persona):
        """The newest ready fingerprint of `persona` (any version), or None."""
        return self.ready().filter(persona=persona).order_by("-created_at", "-id").first()


class Fingerprint(models.Model):
    """The persona's voice as one vector: N in-persona answers, embedded and averaged."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        READY = "ready"
        FAILED = "failed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="fingerprints")
    version = models.ForeignKey(PersonaVersion, on_delete=models.CASCADE, related_name="fingerprints")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    engine = models.CharField(max_length=16, default="providers", help_text="'offline' for the local hashed embedding")
    embedding_model = models.CharField(max_length=200, blank=True)
    chat_model = models.CharField(max_length=200, blank=True)
    scenarios = models.PositiveIntegerField(default=0)
    vector = models.JSONField(null=True, blank=True, help_text="Unit-length mean of the answers' embeddings")
    error = models.TextField(blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = FingerprintQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"fingerprint of {self.persona} ({self.status})"
