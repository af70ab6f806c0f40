"""Post-generation audits: jobs with live progress, the voice fingerprint, and the provocation suite."""

import uuid

from django.conf import settings
from django.db import models

from audits.drift import Calibration
from personas.models import Persona, PersonaVersion
from studio.models import Organization
from studio.work.models import WorkItem, WorkStatus


class AuditJobQuerySet(models.QuerySet):
    def unfinished(self):
        return self.filter(status__in=[AuditJob.Status.QUEUED, AuditJob.Status.RUNNING])


class AuditJob(WorkItem):
    """One post-generation job (fingerprint or provocation suite) of one persona version, with live progress.

    A provocation job is also the suite run: its pass rates live here, its cases in `results`. `errors` counts
    the units (tests, scenario answers) that errored: every one errored ends the job failed; some, completed
    with the count shown.
    """

    class Kind(models.TextChoices):
        FINGERPRINT = "fingerprint"
        PROVOCATIONS = "provocations"
        ATTACKS = "attacks"  # robustness attacks on the persona (audits.attack_runs)
        CHECKPOINT_ATTACKS = "checkpoint_attacks"  # the same on a training job's base and tuned checkpoints


    class Trigger(models.TextChoices):
        GENERATION = "generation"
        MANUAL = "manual"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="audit_jobs")
    version = models.ForeignKey(PersonaVersion, on_delete=models.CASCADE, related_name="audit_jobs")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=WorkStatus.choices, default=WorkStatus.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.MANUAL)
    engine = models.CharField(max_length=16, blank=True, help_text="'offline' or 'providers', set when it starts")
    chat_model = models.CharField(max_length=200, blank=True, help_text="Answers in persona (mask_build's model)")
    judge_model = models.CharField(max_length=200, blank=True, help_text="Provocations: the audit step's model")
    total = models.PositiveIntegerField(default=0, help_text="LLM calls the job makes")
    done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    # Provocation suite outcome: passes / (passes + fails); errors (a judge that never gave a valid verdict) apart.
    passed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0, help_text="Units that errored: tests the judge could not grade, scenarios not answered")
    pass_rate = models.FloatField(null=True, blank=True)
    category_rates = models.JSONField(default=dict, blank=True)
    params = models.JSONField(default=dict, blank=True, help_text="Attack runs: {attacks, prompts, sides, training_job?}")
    summary = models.JSONField(default=dict, blank=True,
                               help_text="Attack runs: per attack and side, the in-character rates and mean drift with intervals")
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AuditJobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "heartbeat_at"]), models.Index(fields=["persona", "kind", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.kind} job {self.public_id} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.COMPLETED:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

    def progress_payload(self) -> dict:
        """What the `audit.progress` event carries (plain values: it crosses the channel layer)."""
        return {
            "job_id": str(self.public_id), "org_slug": self.organization.slug, "persona_id": str(self.persona.public_id),
            "kind": str(self.kind), "version": self.version.number,
            "status": str(self.status), "done": self.done, "total": self.total, "percent": self.percent,
            "error": self.error[:300], "pass_rate": self.pass_rate, "errors": self.errors,
        }


class ProvocationResult(models.Model):
    """One test of a provocation suite run: the transcript and the judge's verdict."""

    class Verdict(models.TextChoices):
        PASS = "pass"
        FAIL = "fail"
        ERROR = "error"

    job = models.ForeignKey(AuditJob, on_delete=models.CASCADE, related_name="results")
    test_id = models.CharField(max_length=64)
    category = models.CharField(max_length=32)
    title = models.CharField(max_length=200)
    criterion = models.TextField()
    transcript = models.JSONField(default=list, help_text="[{role, content}] of the scripted turns and the persona's replies")
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    reason = models.TextField(blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.test_id}: {self.verdict}"


class AttackReply(models.Model):
    """One reply of an attack run: an attack applied to one ordinary prompt, answered by one side, and its scores."""

    job = models.ForeignKey(AuditJob, on_delete=models.CASCADE, related_name="attack_replies")
    attack = models.CharField(max_length=32)
    side = models.CharField(max_length=16, help_text="persona | base | tuned")
    prompt_index = models.PositiveSmallIntegerField()
    transcript = models.JSONField(default=list, help_text="[{role, content}] the model answered (no system prompt), then its reply")
    reply = models.TextField(blank=True)
    verdict = models.CharField(max_length=8, choices=ProvocationResult.Verdict.choices)
    reason = models.TextField(blank=True)
    drift = models.FloatField(null=True, blank=True, help_text="Cosine distance from the persona's fingerprint")
    within_bound = models.BooleanField(null=True, blank=True, help_text="drift ≤ the fingerprint's drift bound")
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.attack}/{self.side}/{self.prompt_index}: {self.verdict}"


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
    job = models.OneToOneField(AuditJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="fingerprint")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    engine = models.CharField(max_length=16, default="providers", help_text="'offline' for the local hashed embedding")
    embedding_model = models.CharField(max_length=200, blank=True)
    chat_model = models.CharField(max_length=200, blank=True)
    scenarios = models.PositiveIntegerField(default=0)
    vector = models.JSONField(null=True, blank=True, help_text="Unit-length mean of the answers' embeddings")
    calibration = models.JSONField(
        null=True, blank=True,
        help_text="Leave-one-out distances of its own answers: {n, mean, sd, p95, max} (audits.drift.calibrate); "
                  "null with one answer or from before calibration",
    )
    baseline = models.ForeignKey("BaselineFingerprint", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 help_text="The generic assistant's fingerprint on the same scenarios, models and count")
    distinctiveness = models.FloatField(null=True, blank=True,
                                        help_text="Cosine distance from the baseline: how far this voice is from a generic assistant's")
    error = models.TextField(blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = FingerprintQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"fingerprint of {self.persona} ({self.status})"

    @property
    def own_spread(self) -> Calibration | None:
        """The calibration: how far its own answers sit from it (None for older fingerprints or one answer)."""
        return Calibration.from_json(self.calibration)

    @property
    def embedding_label(self) -> str:
        """The embedding space in words: "MiniLM-L6 (semantic)", or the hashed n-grams with why they stand in."""
        from audits.embeddings import embedding_label

        return embedding_label(self.embedding_model or ("offline/studio" if self.engine == "offline" else ""))


class BaselineFingerprint(models.Model):
    """A generic assistant's voice on the fingerprint's scenarios: the same N prompts answered with no persona by the
    same chat model, embedded by the same model. A persona's distinctiveness is its fingerprint's distance from this.
    Computed once per organization, chat model, embedding model and N (the first fingerprint that needs it)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    chat_model = models.CharField(max_length=200)
    embedding_model = models.CharField(max_length=200)
    scenarios = models.PositiveIntegerField()
    answers = models.PositiveIntegerField(default=0, help_text="Scenarios answered (some may have errored)")
    vector = models.JSONField(help_text="Unit-length mean of the answers' embeddings")
    system_prompt = models.TextField()
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "chat_model", "embedding_model", "scenarios"],
                                               name="baseline_fingerprint_unique")]

    def __str__(self) -> str:
        return f"baseline of {self.chat_model} × {self.embedding_model} ({self.scenarios} scenarios)"
