"""Datasets: an org's library of training rows in a category taxonomy, their imports (preview, then confirm)
and generations (rows written by the LLM gateway from built-in prompt templates)."""

import uuid

from django.conf import settings
from django.db import models

from studio.models import ApiKey, Organization
from studio.work.models import WorkItem, WorkStatus
from training_jobs.datasets.rows import CATEGORIES, Row

CATEGORY_CHOICES = [(c, c) for c in CATEGORIES]


class Dataset(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="datasets")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    row_count = models.PositiveIntegerField(default=0)
    revision = models.PositiveIntegerField(default=0, help_text="Goes up whenever rows are added: a preview made before is stale")
    stats = models.JSONField(default=dict, help_text="{categories: {c: n}, sources: {s: n}, dedup: {exact, near}, dedup_runs: [...]}")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="dataset_name_unique_in_org")]

    def __str__(self) -> str:
        return f"dataset {self.name}"

    @property
    def categories(self) -> dict[str, int]:
        return {c: self.stats.get("categories", {}).get(c, 0) for c in CATEGORIES}


class DatasetRow(models.Model):
    """One training example: instruction/input/output, or a chat (messages). content_hash: dedup.content_hash."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="rows")
    position = models.PositiveIntegerField()
    category = models.CharField(max_length=24, choices=CATEGORY_CHOICES)
    source = models.CharField(max_length=120, blank=True)
    instruction = models.TextField(blank=True)
    input = models.TextField(blank=True)
    output = models.TextField(blank=True)
    messages = models.JSONField(null=True, blank=True)
    content_hash = models.CharField(max_length=32)

    class Meta:
        indexes = [models.Index(fields=["dataset", "category"])]
        constraints = [models.UniqueConstraint(fields=["dataset", "position"], name="dataset_row_position_unique")]

    def __str__(self) -> str:
        return f"row {self.position} of dataset {self.dataset_id}"

    def as_row(self) -> Row:
        return Row(self.category, self.source, self.instruction, self.input, self.output, self.messages)

    @property
    def prompt(self) -> str:
        if self.messages:
            return next((m["content"] for m in self.messages if m["role"] == "user"), "")
        return f"{self.instruction}\n\n{self.input}" if self.input else self.instruction

    @property
    def answer(self) -> str:
        if self.messages:
            return self.messages[-1]["content"]
        return self.output


class DatasetImport(models.Model):
    """An uploaded file, validated and deduplicated into a report; its rows are stored only when confirmed."""

    class Status(models.TextChoices):
        PREVIEWED = "previewed"
        CONFIRMED = "confirmed"
        FAILED = "failed"

    class Format(models.TextChoices):
        JSONL = "jsonl"
        CSV = "csv"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="dataset_imports")
    dataset = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="imports",
                                help_text="The target; empty while a new dataset waits for the confirm")
    dataset_name = models.CharField(max_length=200, blank=True, help_text="The new dataset to create on confirm")
    file_name = models.CharField(max_length=255)
    stored_file = models.CharField(max_length=255, blank=True, help_text="Path under DATASET_IMPORTS_DIR; removed once confirmed")
    format = models.CharField(max_length=8, choices=Format.choices)
    size_bytes = models.PositiveBigIntegerField(default=0)
    dedup_threshold = models.FloatField()
    default_category = models.CharField(max_length=24, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices)
    report = models.JSONField(default=dict)
    imported_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import of {self.file_name} ({self.status})"

    @property
    def target_name(self) -> str:
        return self.dataset.name if self.dataset else self.dataset_name

    @property
    def error_count(self) -> int:
        return self.report.get("error_count", 0)


class DatasetGeneration(WorkItem):
    """Rows written by the LLM gateway: per category, N prompts from the built-in templates. Work on the engine
    (studio.work): claimed by a worker, kept alive by its heartbeat, failed by the reaper when the worker dies."""


    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="dataset_generations")
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="generations")
    per_category = models.JSONField(help_text="{category: prompts}")
    model = models.CharField(max_length=200)
    engine = models.CharField(max_length=16, help_text="'offline' when the org has no provider credentials")
    status = models.CharField(max_length=16, choices=WorkStatus.choices, default=WorkStatus.QUEUED)
    calls_done = models.PositiveIntegerField(default=0)
    calls_total = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    report = models.JSONField(default=dict, help_text="{failed, duplicates: {exact, near}}")
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"generation for {self.dataset_id} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        return min(100, round(100 * self.calls_done / self.calls_total)) if self.calls_total else 0

    @property
    def requested(self) -> int:
        return sum(self.per_category.values())
