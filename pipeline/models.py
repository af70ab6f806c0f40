"""Pipeline runs, their steps and their persisted events."""

import uuid

from django.db import models
from django.utils import timezone

from personas.models import Persona, PersonaVersion
from studio.models import Organization, Workspace
from studio.work.models import WorkEvent, WorkItem


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FLAGGED = "flagged"
    FAILED = "failed"


FINISHED = (RunStatus.READY, RunStatus.FLAGGED, RunStatus.FAILED)


AUDIT_ONLY = "audit"  # PipelineRun.mode of a run that only audits an existing version (seed: {"audit_version": n})


class PipelineRunQuerySet(models.QuerySet):
    def unfinished(self):
        return self.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])


class PipelineRun(WorkItem):
    ENDED = FINISHED
    TERMINAL_EVENTS = ("pipeline.completed", "pipeline.failed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="pipeline_runs")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="runs")
    version = models.OneToOneField(PersonaVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                   help_text="The persona version this run generated, once it finished")
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.QUEUED)
    error = models.TextField(blank=True)
    engine = models.CharField(max_length=16, default="providers", help_text="'offline' when the offline demo engine ran")
    step_config = models.JSONField(default=dict, help_text="The effective step configs this run used")
    mode = models.CharField(max_length=8, default="brief", help_text="brief | card (keeps an imported card's words) | fork")
    seed = models.JSONField(default=dict, blank=True, help_text=(
        "What a card or fork run starts from: {pins: {layer: {field: value}} no step may change, "
        "sections: {name: text} every step is shown, card: the card's fields the audit scores fidelity to}"))
    audit_rounds = models.PositiveSmallIntegerField(default=0)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PipelineRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self) -> str:
        return f"run {self.public_id} ({self.status})"

    @property
    def channel_group(self) -> str:
        return f"run-{self.public_id}"


class StepRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"
        FAILED = "failed"
        SKIPPED = "skipped"

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="steps")
    step = models.CharField(max_length=32)
    attempt = models.PositiveSmallIntegerField(default=1, help_text="Audit round this step belongs to")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    model_requested = models.CharField(max_length=200, blank=True)
    model_used = models.CharField(max_length=200, blank=True)
    llm_attempts = models.JSONField(default=list, help_text="Every LLM call tried: model, kind, error, latency")
    output = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.step} #{self.attempt} ({self.status})"


class RunEvent(WorkEvent):
    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="events")

    class Meta(WorkEvent.Meta):
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="run_event_seq_unique")]
