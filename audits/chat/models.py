"""The chat playground: conversations with a persona, each reply scored for drift from its voice fingerprint."""

import uuid

from django.conf import settings
from django.db import models

from audits.drift import DriftBound
from personas.models import Persona, PersonaVersion
from studio.models import ApiKey, Organization


class ChatSessionQuerySet(models.QuerySet):
    def of_principal(self, principal):
        """Chats are personal: a member sees their own, an API key the ones it started."""
        if principal.api_key is not None:
            return self.filter(organization=principal.organization, api_key=principal.api_key)
        return self.filter(organization=principal.organization, user=principal.user)


class ChatSession(models.Model):
    class Engine(models.TextChoices):
        PROVIDERS = "providers"
        LOCAL = "local"  # no credentials: SmolLM2 in-process, the offline engine as its fallback
        OFFLINE = "offline"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="chat_sessions")
    version = models.ForeignKey(PersonaVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    engine = models.CharField(max_length=16, choices=Engine.choices, default=Engine.PROVIDERS)
    title = models.CharField(max_length=120, blank=True, default="", db_default="", help_text="Its name in the chat list (blank: its first message)")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ChatSessionQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"chat with {self.persona} ({self.public_id})"

    @property
    def label(self) -> str:
        """The session's name in the chat list: its title, else its first message, else when it started."""
        if self.title:
            return self.title
        first = self.messages.filter(role=ChatMessage.Role.USER).order_by("id").values_list("content", flat=True).first()
        if not first:
            return f"Chat of {self.created_at:%Y-%m-%d %H:%M}"
        words = " ".join(first.split())
        return words if len(words) <= 60 else words[:60].rsplit(" ", 1)[0].rstrip(",.;:") + "…"  # whole words only

    def transcript(self) -> list[dict]:
        """The conversation as LLM messages: withheld (blocked) replies are not part of it."""
        return [{"role": m.role, "content": m.content} for m in self.messages.filter(blocked=False).order_by("id")]


class ChatMessage(models.Model):
    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    session = models.ForeignKey(ChatSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=16, choices=Role.choices)
    content = models.TextField()
    drift_score = models.FloatField(null=True, blank=True, help_text="Cosine distance to the fingerprint; null when not scored")
    drift_note = models.CharField(max_length=200, blank=True, help_text="Why the reply was not scored, if it was not")
    drift_threshold = models.FloatField(null=True, blank=True, help_text="The bound the score was held to (audits.drift.drift_bound)")
    drift_threshold_source = models.CharField(max_length=16, blank=True, help_text="calibrated | floor | configured")
    flagged = models.BooleanField(default=False)
    blocked = models.BooleanField(default=False, help_text="Withheld from the user (drift above threshold, action block)")
    model = models.CharField(max_length=200, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.role}: {self.content[:40]}"

    @property
    def drift_bound_label(self) -> str:
        """Why the reply's bound is what it is, in words ("this persona's own spread"); blank for older replies."""
        return DriftBound(self.drift_threshold, self.drift_threshold_source).label if self.drift_threshold_source else ""
