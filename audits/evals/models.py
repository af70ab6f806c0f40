"""Eval suites: a persona's own cases (the catalog's apply to every persona), runs and their trials."""

import uuid

from django.conf import settings
from django.db import models

from personas.models import Persona, PersonaVersion
from studio.models import Organization
from studio.work.models import WorkItem, WorkStatus

LAYER_CHOICES = [(layer, layer) for layer in ("floor", "protocol", "persona", "closure")]


class EvalCase(models.Model):
    """A case an editor wrote for one persona: turns ending with a user turn, and one check (checks.CaseSpec)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="eval_cases")
    layer = models.CharField(max_length=16, choices=LAYER_CHOICES)
    title = models.CharField(max_length=120)
    turns = models.JSONField(help_text='[{"role": "user" | "assistant", "content": "..."}], ending with a user turn')
    # "check" is the API's word; a model field may not shadow Model.check()
    check_rule = models.JSONField(help_text="One check: judge, required_phrases, forbidden_phrases or structural")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["layer", "created_at", "id"]

    def __str__(self) -> str:
        return f"{self.layer}: {self.title}"

    @property
    def key(self) -> str:
        return f"case:{self.public_id}"

    def spec(self) -> dict:
        return {"layer": self.layer, "title": self.title, "turns": self.turns, "check": self.check_rule}


class EvalRunQuerySet(models.QuerySet):
    def unfinished(self):
        return self.exclude(status__in=EvalRun.ENDED)


class EvalRun(WorkItem):
    """A persona's suite run on the work engine (studio.work): claimed by a worker, kept alive by its heartbeat,
    resumed from its saved trials or failed by the reaper when the worker dies."""


    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="eval_runs")
    version = models.ForeignKey(PersonaVersion, on_delete=models.CASCADE, related_name="eval_runs")
    status = models.CharField(max_length=16, choices=WorkStatus.choices, default=WorkStatus.QUEUED)
    engine = models.CharField(max_length=16, default="providers", help_text="'offline' when the org has no LLM credentials")
    config = models.JSONField(default=dict, help_text="The answer and judge models as resolved when the run started")
    suite = models.JSONField(default=list, help_text="The cases as they were when the run started: [{key, layer, title, turns, check}]")
    epochs = models.PositiveSmallIntegerField(default=3)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    results = models.JSONField(null=True, blank=True, help_text="Per layer: counts, rate, interval, threshold, met")
    gate_state = models.CharField(max_length=16, blank=True, choices=[(s, s) for s in ("pass", "fail", "inconclusive")],
                                  help_text="The ship gate once completed: pass, fail or inconclusive (audits.evals.stats)")
    gate_passed = models.BooleanField(null=True, blank=True, help_text="gate_state == pass; kept for older clients")
    gate_reasons = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    errored = models.PositiveIntegerField(default=0, help_text="Trials that could not be graded (no reply or no valid verdict)")
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = EvalRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["persona", "-created_at"])]

    def __str__(self) -> str:
        return f"eval run of {self.persona} ({self.status})"

    @property
    def progress_pct(self) -> int:
        return round(100 * self.progress_done / self.progress_total) if self.progress_total else 0

    @property
    def seed(self) -> int:
        """A seed fixed per run, so a paired bootstrap involving it is reproducible."""
        return self.public_id.int % (2**32)

    def layer_rows(self) -> list[dict]:
        """The per-layer results in gate order (floor, protocol, persona, closure); [] until completed."""
        results = self.results or {}
        return [results[layer] for layer, _ in LAYER_CHOICES if layer in results]

    def case_outcomes(self) -> dict[str, dict[str, list[str]]]:
        """layer → case key → the verdicts of its epochs; every layer of the suite present, even with no cases."""
        outcomes: dict[str, dict[str, list[str]]] = {layer: {} for layer, _ in LAYER_CHOICES}
        for case in self.suite:
            outcomes[case["layer"]].setdefault(case["key"], [])
        for key, layer, verdict in self.trials.order_by("epoch").values_list("case_key", "layer", "verdict"):
            outcomes[layer].setdefault(key, []).append(verdict)
        return outcomes

    def long_conversations(self) -> list[dict]:
        """Each long-conversation case of the run with its repeats' drift per turn, the band over them and the first
        crossings (audits.evals.conversation.summary); a case whose repeats have not run yet has no repeats."""
        from audits.evals.conversation import summary

        cases = [case for case in self.suite if (case.get("check") or {}).get("kind") == "long_conversation"]
        if not cases:
            return []
        trials: dict[str, list[EvalTrial]] = {}
        for trial in self.trials.filter(case_key__in=[c["key"] for c in cases]).order_by("epoch"):
            trials.setdefault(trial.case_key, []).append(trial)
        out = []
        for case in cases:
            check, done = case["check"], [t for t in trials.get(case["key"], []) if t.curve]
            threshold = done[0].curve["threshold"] if done else check.get("threshold")
            before = check.get("before_turn") or check["turns"] + 1
            repeats = [{"repeat": t.epoch, "verdict": t.verdict, "reason": t.reason, "seed": t.curve.get("seed"),
                        "drift": t.curve["drift"], "base_drift": t.curve.get("base_drift"),
                        "first_crossing": t.curve.get("first_crossing"), "transcript": t.curve.get("transcript", [])} for t in done]
            entry = {"key": case["key"], "layer": case["layer"], "title": case["title"], "turns": check["turns"],
                     "threshold": threshold, "before_turn": before, "planned_repeats": check.get("repeats", 3),
                     "subject": (self.config or {}).get("subject", {"kind": "persona"}).get("kind", "persona"),
                     "errors": [t.reason for t in trials.get(case["key"], []) if not t.curve], "repeats": repeats}
            if done and threshold is not None:
                entry.update(summary([r["drift"] for r in repeats], threshold=threshold, before_turn=before))
                bases = [r["base_drift"] for r in repeats if r["base_drift"]]
                entry["base"] = summary(bases, threshold=threshold, before_turn=before) if bases else None
            out.append(entry)
        return out

    def failing_cases(self) -> list[dict]:
        """Cases with a failed or errored trial, worst first, each with those trials (reply and reason)."""
        cases = {case["key"]: case for case in self.suite}
        failing: dict[str, dict] = {}
        for trial in self.trials.exclude(verdict=EvalTrial.Verdict.PASS).order_by("case_key", "epoch"):
            case = cases.get(trial.case_key, {"title": trial.case_key})
            entry = failing.setdefault(trial.case_key, {"key": trial.case_key, "layer": trial.layer, "title": case["title"],
                                                        "fails": 0, "errors": 0, "trials": []})
            entry["fails" if trial.verdict == EvalTrial.Verdict.FAIL else "errors"] += 1
            entry["trials"].append({"epoch": trial.epoch, "verdict": trial.verdict, "reason": trial.reason, "reply": trial.reply})
        order = {layer: i for i, (layer, _) in enumerate(LAYER_CHOICES)}
        return sorted(failing.values(), key=lambda c: (order.get(c["layer"], 9), -c["fails"], -c["errors"], c["title"]))


class EvalTrial(models.Model):
    class Verdict(models.TextChoices):
        PASS = "pass"
        FAIL = "fail"
        ERROR = "error"

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="trials")
    case_key = models.CharField(max_length=80, help_text="catalog:<key> or case:<EvalCase public id>")
    layer = models.CharField(max_length=16, choices=LAYER_CHOICES)
    epoch = models.PositiveSmallIntegerField()
    verdict = models.CharField(max_length=8, choices=Verdict.choices)
    reason = models.TextField(blank=True)
    reply = models.TextField(blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    curve = models.JSONField(null=True, blank=True, help_text="A long-conversation repeat: {drift: [per turn], threshold, "
                                                              "before_turn, seed, transcript: [{user, reply}], base_drift?}")

    class Meta:
        ordering = ["layer", "case_key", "epoch"]
        constraints = [models.UniqueConstraint(fields=["run", "case_key", "epoch"], name="eval_trial_unique")]

    def __str__(self) -> str:
        return f"{self.case_key} #{self.epoch}: {self.verdict}"
