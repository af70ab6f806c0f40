"""Blind paired reviews: comparisons of two outputs, reviewer assignments, judgments, imports and generations.

A comparison stores its two texts in a fixed frame (text_a from source_a, text_b from source_b);
each reviewer sees it through their assignment, which may flip the sides. Judgments are stored
in the comparison's frame, so votes from different reviewers line up.
"""

import uuid

from django.conf import settings
from django.db import models

from personas.models import Persona
from studio.config.schema import REVIEW_AXES
from studio.models import Organization
from studio.work.models import WorkItem, WorkStatus
from studio.words import plural

DEFAULT_PROMPT_SET = "default"


class ReviewPool(models.Model):
    """A persona's reviews. Reviewers are the users guardian grants `review_persona_pairs` on this object."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="review_pools")
    persona = models.OneToOneField(Persona, on_delete=models.CASCADE, related_name="review_pool")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        permissions = [("review_persona_pairs", "Review this persona's paired outputs")]

    def __str__(self) -> str:
        return f"reviews of {self.persona}"


class Source(models.Model):
    """Where an output came from ("persona v3", "base", "checkpoint 2"): hidden from reviewers until they vote."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="review_sources")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="review_sources")
    label = models.CharField(max_length=120)

    class Meta:
        ordering = ["label"]
        constraints = [models.UniqueConstraint(fields=["persona", "label"], name="review_source_label_unique")]

    def __str__(self) -> str:
        return self.label


class Origin(models.TextChoices):
    API = "api"
    IMPORT = "import"
    GENERATED = "generated"


class Comparison(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="comparisons")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="comparisons")
    prompt_set = models.CharField(max_length=80, default=DEFAULT_PROMPT_SET)
    prompt = models.TextField()
    text_a = models.TextField()
    text_b = models.TextField()
    source_a = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    source_b = models.ForeignKey(Source, on_delete=models.PROTECT, related_name="+")
    origin = models.CharField(max_length=16, choices=Origin.choices, default=Origin.API)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["organization", "persona", "prompt_set"])]

    def __str__(self) -> str:
        return f"{self.persona}: {self.prompt[:40]}"


class Assignment(models.Model):
    """One comparison offered to one reviewer, with the side order they see. Never twice per reviewer."""

    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="assignments")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_assignments")
    flipped = models.BooleanField(help_text="The reviewer sees text_b on the left (as A)")
    created_at = models.DateTimeField(auto_now_add=True)
    shown_at = models.DateTimeField(null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [models.UniqueConstraint(fields=["comparison", "reviewer"], name="one_assignment_per_reviewer")]

    def __str__(self) -> str:
        return f"{self.comparison} → {self.reviewer}"

    def sides(self) -> tuple[str, str]:
        c = self.comparison
        return (c.text_b, c.text_a) if self.flipped else (c.text_a, c.text_b)

    def shown_sources(self) -> tuple[str, str]:
        c = self.comparison
        return (c.source_b.label, c.source_a.label) if self.flipped else (c.source_a.label, c.source_b.label)


class Choice(models.TextChoices):
    A = "a"
    B = "b"
    TIE = "tie"


class Judgment(models.Model):
    """A vote in the comparison's frame: choice "a" means text_a (source_a) won, whatever side the voter saw it on."""

    class Kind(models.TextChoices):
        HUMAN = "human"
        JUDGE = "judge"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="judgments")
    comparison = models.ForeignKey(Comparison, on_delete=models.CASCADE, related_name="judgments")
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.HUMAN)
    assignment = models.OneToOneField(Assignment, null=True, blank=True, on_delete=models.CASCADE, related_name="judgment")
    reviewer = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    choice = models.CharField(max_length=4, choices=Choice.choices)
    in_character = models.PositiveSmallIntegerField(null=True, blank=True)
    protocol_adherent = models.PositiveSmallIntegerField(null=True, blank=True)
    closure_complete = models.PositiveSmallIntegerField(null=True, blank=True)
    weighted_score = models.FloatField(null=True, blank=True, help_text="Axis scores weighted by the persona's axis weights")
    comment = models.TextField(blank=True)
    judge_model = models.CharField(max_length=200, blank=True)
    judge_detail = models.JSONField(null=True, blank=True, help_text="The judge's verdict in each order")
    shown_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["comparison"], condition=models.Q(kind="judge"), name="one_judge_vote_per_comparison"),
            models.UniqueConstraint(fields=["comparison", "reviewer"], condition=models.Q(kind="human"), name="one_human_vote_per_reviewer"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.choice} on {self.comparison_id}"

    @property
    def scores(self) -> dict:
        return {axis: getattr(self, axis) for axis in REVIEW_AXES}

    @property
    def seconds(self) -> float | None:
        return (self.created_at - self.shown_at).total_seconds() if self.shown_at else None

    @property
    def outcome(self) -> float:
        """For the ratings: 1 = source_a won, 0 = source_b won, ½ = tie."""
        return {Choice.A: 1.0, Choice.B: 0.0, Choice.TIE: 0.5}[self.choice]


class ComparisonImport(models.Model):
    """An uploaded CSV/JSONL file, parsed and checked; its rows become comparisons only when confirmed without errors."""

    class Status(models.TextChoices):
        PREVIEW = "preview"
        CONFIRMED = "confirmed"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="comparison_imports")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="comparison_imports")
    prompt_set = models.CharField(max_length=80, default=DEFAULT_PROMPT_SET)
    format = models.CharField(max_length=8)
    rows = models.JSONField(default=list, help_text="The valid rows, cleaned")
    errors = models.JSONField(default=list, help_text="[{row, field, message}]")
    row_count = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEW)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import of {plural(self.row_count, 'row')} ({self.status})"


class BackgroundWork(WorkItem):
    """Work a task does in batches of LLM calls, on the work engine (studio.work): its status and progress, polled by
    the reviews page. `errored` counts the units (pairs) that failed; a run whose every unit failed ends failed."""


    status = models.CharField(max_length=16, choices=WorkStatus.choices, default=WorkStatus.QUEUED)
    calls_done = models.PositiveIntegerField(default=0)
    calls_total = models.PositiveIntegerField(default=0)
    errored = models.PositiveIntegerField(default=0, help_text="Pairs that failed (a call with no usable answer)")
    error = models.TextField(blank=True)

    class Meta:
        abstract = True


class ComparisonGeneration(BackgroundWork):
    """The studio writes comparisons: every prompt answered by two persona versions, K samples each."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="comparison_generations")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="comparison_generations")
    prompt_set = models.CharField(max_length=80, default=DEFAULT_PROMPT_SET)
    prompts = models.JSONField(default=list)
    version_a = models.PositiveIntegerField()
    version_b = models.PositiveIntegerField()
    samples = models.PositiveSmallIntegerField(default=1)
    engine = models.CharField(max_length=16, default="offline")
    created_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]


    def __str__(self) -> str:
        return f"v{self.version_a} vs v{self.version_b} × {len(self.prompts)} prompts ({self.status})"


class JudgeRun(BackgroundWork):
    """The LLM judge reading a persona's unjudged pairs in both orders, with progress."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="judge_runs")
    comparison_ids = models.JSONField(default=list)
    stored = models.PositiveIntegerField(default=0, help_text="Judge votes stored")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"judge run on {plural(len(self.comparison_ids), 'pair')} ({self.status})"

    @property
    def order_disagreement(self) -> list[dict]:
        """Per judge model, how often the two orders of the judge votes on this run's pairs disagreed (those are ties)."""
        from audits.reviews.judge import order_disagreement, stored_verdicts

        rows = Judgment.objects.filter(comparison_id__in=self.comparison_ids, kind=Judgment.Kind.JUDGE)
        return order_disagreement(stored_verdicts(rows.values_list("judge_model", "judge_detail")))


class Guideline(models.Model):
    """What reviewers of one persona's prompt set should look for: shown above each of its pairs in the queue."""

    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="review_guidelines")
    prompt_set = models.CharField(max_length=80, default=DEFAULT_PROMPT_SET)
    text = models.TextField(max_length=4000)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["persona", "prompt_set"], name="one_guideline_per_prompt_set")]

    def __str__(self) -> str:
        return f"guidelines for {self.persona_id} / {self.prompt_set}"
