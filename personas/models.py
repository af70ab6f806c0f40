"""Personas and their versions. A persona's layers live in versions; edits add a version."""

import uuid

from django.conf import settings
from django.db import models

from studio.models import ApiKey, Organization, Workspace


class PersonaStatus(models.TextChoices):
    GENERATING = "generating"
    READY = "ready"
    FLAGGED = "flagged"
    FAILED = "failed"


class PersonaQuerySet(models.QuerySet):
    def search(self, text: str):
        return self.filter(models.Q(name__icontains=text) | models.Q(brief__icontains=text)) if text else self


class PersonaOrigin(models.TextChoices):
    BRIEF = "brief"
    CARD = "card"
    FORK = "fork"


class Persona(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="personas")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="personas")
    brief = models.TextField(help_text="The brief as written; never rewritten.")
    name = models.CharField(max_length=120, blank=True)
    status = models.CharField(max_length=16, choices=PersonaStatus.choices, default=PersonaStatus.GENERATING)
    current_version = models.ForeignKey("PersonaVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    origin = models.CharField(max_length=8, choices=PersonaOrigin.choices, default=PersonaOrigin.BRIEF, db_default=PersonaOrigin.BRIEF,
                              help_text="What the persona was generated from: a brief, an imported character card, or a fork")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks",
                               help_text="A fork's parent (same organization)")
    parent_version = models.PositiveIntegerField(null=True, blank=True, help_text="The parent's version the fork was made from")
    fork_note = models.CharField(max_length=200, blank=True, default="", db_default="", help_text="What differs from the parent, as the designer wrote it")
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonaQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at", "-id"])]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name or "Untitled persona"

    @property
    def layers(self) -> dict:
        return self.current_version.layers if self.current_version else {}

    def next_version_number(self) -> int:
        return (self.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1


class PersonaVersion(models.Model):
    class Source(models.TextChoices):
        GENERATED = "generated"
        EDIT = "edit"
        RESTORE = "restore"  # an earlier version's layers saved again as the newest

    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    intent = models.JSONField(default=dict)
    soul = models.JSONField()
    self_layer = models.JSONField(db_column="self")
    mask = models.JSONField()
    surface = models.JSONField()
    audit = models.JSONField(null=True, blank=True, help_text="Scores of the audit this version passed or failed")
    source = models.CharField(max_length=16, choices=Source.choices)
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["persona", "number"], name="persona_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.persona} v{self.number}"

    @property
    def layers(self) -> dict:
        return {"soul": self.soul, "self": self.self_layer, "mask": self.mask, "surface": self.surface}


class PersonaCard(models.Model):
    """The character card a persona was imported from, kept unchanged (the file's bytes), with what the studio reads
    from it: the card's JSON, its lorebook (chat's retrieval context) and its picture (the persona's avatar)."""

    persona = models.OneToOneField(Persona, on_delete=models.CASCADE, related_name="card")
    spec = models.CharField(max_length=4, help_text="v1 | v2 | v3, detected from the content")
    container = models.CharField(max_length=8, help_text="json | png | charx")
    file_name = models.CharField(max_length=200, blank=True)
    original = models.BinaryField(help_text="The uploaded file, byte for byte")
    document = models.JSONField(help_text="The card's JSON as read")
    data = models.JSONField(help_text="Its standard fields, defaults filled in (V1 fields moved under data)")
    lorebook = models.JSONField(null=True, blank=True, help_text="character_book, checked (regex keys usable)")
    avatar = models.BinaryField(null=True, blank=True, help_text="The card's picture (PNG), card chunks removed")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.spec} card of {self.persona}"
