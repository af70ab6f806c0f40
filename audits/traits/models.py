"""Trait profiles by revealed preference (Open Character Training): the built-in prompt set, a profile run and its
judgments."""

import uuid

from django.conf import settings
from django.db import models

from personas.models import Persona
from studio.models import Organization
from studio.work.models import WorkItem, WorkStatus


class TraitPromptSet(models.Model):
    """A stored set of first turns the profile's prompts are drawn from (audits.traits.catalog.everyday_prompts)."""

    name = models.CharField(max_length=80, unique=True)
    prompts = models.JSONField(help_text="The prompts, in order: a profile stores the indices it drew")
    digest = models.CharField(max_length=64, help_text="sha256 of the prompts as JSON: a changed set gets a new name")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"prompt set {self.name} ({len(self.prompts)})"


class SubjectKind(models.TextChoices):
    PERSONA = "persona"
    TRAINING_JOB = "training_job"


class TraitProfile(WorkItem):
    """One subject's profile: N prompts, each with two drawn traits, answered by the subject and judged in both orders."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, null=True, blank=True, on_delete=models.CASCADE, related_name="trait_profiles",
                                help_text="The persona profiled, or the persona a training job trained")
    subject_kind = models.CharField(max_length=16, choices=SubjectKind.choices)
    subject_id = models.UUIDField(help_text="The persona's or training job's public id")
    side = models.CharField(max_length=8, blank=True, help_text="base | tuned for a training job; blank for a persona")
    subject_label = models.CharField(max_length=200)
    prompt_set = models.ForeignKey(TraitPromptSet, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=WorkStatus.choices, default=WorkStatus.QUEUED)
    engine = models.CharField(max_length=16, default="providers", help_text="'offline' when the org has no LLM credentials")
    config = models.JSONField(default=dict, help_text="The answer and judge knobs as resolved at the start")
    judge_label = models.CharField(max_length=200, blank=True, help_text="Who judged, in words: a model, or the offline judge")
    traits = models.JSONField(default=list, help_text="The traits the pairs are drawn from")
    constitution_traits = models.JSONField(default=list, help_text="The single-word traits of the subject's constitution")
    prompts_count = models.PositiveIntegerField()
    seed = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    results = models.JSONField(null=True, blank=True, help_text="Ratings per trait and the judgment counts, once completed")
    error = models.TextField(blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "subject_kind", "subject_id", "-created_at"])]

    def __str__(self) -> str:
        return f"trait profile of {self.subject_label} ({self.status})"

    @property
    def progress_pct(self) -> int:
        return round(100 * self.progress_done / self.progress_total) if self.progress_total else 0


class TraitJudgment(models.Model):
    """One prompt of a profile: the two traits, the subject's reply, the judge's answer in each order and the outcome."""

    class Outcome(models.TextChoices):
        SHOWN = "shown"  # both orders named the same trait
        DISAGREED = "disagreed"  # the orders named different traits: dropped (position bias)
        JUDGE_FAILED = "judge_failed"  # no valid answer after one retry: dropped, not a win
        NO_REPLY = "no_reply"  # the subject gave no reply

    profile = models.ForeignKey(TraitProfile, on_delete=models.CASCADE, related_name="judgments")
    number = models.PositiveIntegerField(help_text="1..N in the profile")
    prompt_index = models.PositiveIntegerField(help_text="The prompt's place in the prompt set")
    first = models.CharField(max_length=40)
    second = models.CharField(max_length=40)
    reply = models.TextField(blank=True)
    forward = models.CharField(max_length=40, blank=True, help_text="The judge's trait with the traits in drawn order")
    backward = models.CharField(max_length=40, blank=True, help_text="…and in the reverse order")
    shown = models.CharField(max_length=40, blank=True, help_text="The trait shown, when both orders agree")
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    note = models.TextField(blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["profile", "number"], name="trait_judgment_unique")]

    def __str__(self) -> str:
        return f"#{self.number} {self.first}/{self.second}: {self.outcome}"
