"""Constitutions, training jobs, their stages and their persisted events (SPEC §7, issue 7)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from personas.models import Persona
from studio.models import ApiKey, Organization, Workspace
from studio.work.models import WorkEvent, WorkItem
from training_jobs.job_kinds import DEFAULT_KIND, kind_choices


class ConstitutionVersion(models.Model):
    """One version of a persona's constitution: derived from its layers, or edited. Never changed once saved."""

    class Source(models.TextChoices):
        DERIVED = "derived"
        EDITED = "edited"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="constitutions")
    number = models.PositiveIntegerField()
    document = models.JSONField(help_text="training_jobs.constitution.Constitution as JSON")
    source = models.CharField(max_length=16, choices=Source.choices)
    persona_version = models.PositiveIntegerField(null=True, blank=True, help_text="The persona version it was derived from")
    note = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-number"]
        constraints = [models.UniqueConstraint(fields=["persona", "number"], name="constitution_number_unique")]

    def __str__(self) -> str:
        return f"constitution v{self.number} of {self.persona}"

    @property
    def constitution(self):
        from training_jobs.constitution import Constitution

        return Constitution.model_validate(self.document)


class JobStatus(models.TextChoices):
    QUEUED = "queued"
    SMOKE = "smoke"
    DPO_DATA = "dpo_data"
    DPO_TRAIN = "dpo_train"
    INTROSPECTION = "introspection"
    SFT = "sft"
    EVAL = "eval"
    COMPOSE = "compose"  # unified jobs: the data mix
    CURRICULUM = "curriculum"  # unified jobs: the training phases
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    KILLED = "killed"


ENDED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.KILLED)


class Outcome(models.TextChoices):
    """A finished job's verdict (training_jobs.outcome): tuned vs base, decided only when an interval excludes no change."""

    IMPROVED = "improved"
    NO_CLEAR_CHANGE = "no_clear_change", "No clear change"
    WORSE = "worse"


class TrainingJobQuerySet(models.QuerySet):
    def unfinished(self):
        return self.exclude(status__in=ENDED)


class TrainingJob(WorkItem):
    RUNNING = tuple(s for s in JobStatus.values if s != JobStatus.QUEUED and s not in ENDED)  # the stage it is in
    ENDED = ENDED
    TERMINAL_EVENTS = ("job.succeeded", "job.failed", "job.cancelled", "job.killed")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="training_jobs")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.CASCADE, related_name="training_jobs")
    constitution = models.ForeignKey(ConstitutionVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="jobs")
    kind = models.CharField(max_length=16, choices=kind_choices, default=DEFAULT_KIND)  # training_jobs.kinds
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    params = models.JSONField(help_text="The launch parameters as validated (training_jobs.params.LaunchParams)")
    engine = models.CharField(max_length=16, default="providers", help_text="'offline' when the offline engine wrote the data")
    backend = models.CharField(max_length=32, default="trl")
    estimate = models.JSONField(default=dict, help_text="Tokens and USD estimated before launch")
    budget_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    error = models.TextField(blank=True, help_text="Why it failed, in one line")
    kill = models.JSONField(null=True, blank=True, help_text="{criterion, message, numbers} when a kill criterion fired")
    early_stop = models.JSONField(null=True, blank=True, help_text="{stage, step, metric, patience, min_delta, best_step, "
                                  "best_value, message} when checkpoint evaluations stopped training on a plateau")
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True,
                               help_text="Set when the job ends: did the tuned model beat base (training_jobs.outcome)")
    outcome_detail = models.JSONField(null=True, blank=True, help_text="The numbers behind the outcome and its reason in words")
    cancel_requested = models.BooleanField(default=False)
    resume_from = models.CharField(max_length=16, blank=True)
    resumes = models.PositiveSmallIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TrainingJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"]), models.Index(fields=["organization", "created_at"])]

    def __str__(self) -> str:
        return f"training job {self.name} ({self.status})"

    @property
    def channel_group(self) -> str:
        return f"training-job-{self.public_id}"

    @property
    def artifacts_dir(self):
        return settings.TRAINING_ARTIFACTS_DIR / str(self.organization.public_id) / str(self.public_id)

    @property
    def duration_s(self) -> float | None:
        if self.started_at:
            return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()
        return None


class StageRun(models.Model):
    """One stage of a job. Resuming a stage runs it again: counters reset, cost keeps adding up."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        COMPLETED = "completed"
        SKIPPED = "skipped"
        FAILED = "failed"
        CANCELLED = "cancelled"
        KILLED = "killed"

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="stages")
    stage = models.CharField(max_length=16)
    position = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    unit = models.CharField(max_length=24, blank=True, help_text="What done/total count: calls, steps, …")
    runs = models.PositiveSmallIntegerField(default=0, help_text="Times the stage has started (resumes add one)")
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    prompt_tokens = models.PositiveBigIntegerField(default=0)
    completion_tokens = models.PositiveBigIntegerField(default=0)
    artifacts = models.JSONField(default=dict, help_text="{name: path relative to the job's artifact folder}")
    stats = models.JSONField(default=dict, help_text="Filter counts, training summary, generator choice, …")
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["job", "stage"], name="stage_run_unique")]

    def __str__(self) -> str:
        return f"{self.stage} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        return min(100, round(100 * self.done / self.total)) if self.total else 0

    @property
    def duration_s(self) -> float | None:
        if self.started_at:
            return ((self.finished_at or timezone.now()) - self.started_at).total_seconds()
        return None


class JobEvent(WorkEvent):
    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="events")

    class Meta(WorkEvent.Meta):
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="job_event_seq_unique")]


class TunedChatQuerySet(models.QuerySet):
    def of_principal(self, principal):
        """Chats are personal, as persona chats are: a member sees their own, an API key the ones it started."""
        if principal.api_key is not None:
            return self.filter(organization=principal.organization, api_key=principal.api_key)
        return self.filter(organization=principal.organization, user=principal.user)


class TunedChat(models.Model):
    """A playground conversation with a job's trained checkpoint: base model + adapter, no constitution in the prompt."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="chats")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    checkpoint = models.CharField(max_length=16, help_text="The stage whose adapter answered: sft or dpo_train")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TunedChatQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-id"]

    def __str__(self) -> str:
        return f"chat with {self.job.name} ({self.public_id})"


class TunedChatTurn(models.Model):
    """One message and the tuned model's reply; the base model's reply to the same message when it was asked too."""

    chat = models.ForeignKey(TunedChat, on_delete=models.CASCADE, related_name="turns")
    message = models.TextField()
    reply = models.TextField()
    reply_drift = models.FloatField(null=True, blank=True, help_text="Cosine distance to the persona's fingerprint")
    reply_flagged = models.BooleanField(default=False)
    base_reply = models.TextField(null=True, blank=True, help_text="Null when the base model was not asked")
    base_drift = models.FloatField(null=True, blank=True)
    base_flagged = models.BooleanField(default=False)
    drift_note = models.CharField(max_length=200, blank=True, help_text="Why a reply was not scored, if one was not")
    note = models.CharField(max_length=300, blank=True, help_text="What was cut to fit the model's context, if anything")
    wall_s = models.FloatField(default=0, help_text="Seconds the models took to answer")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.message[:40]} → {self.reply[:40]}"
