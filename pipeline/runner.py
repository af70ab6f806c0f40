"""Executes one pipeline run: six steps through the gateway, the audit loop, and the outcome.

Called by the Celery task with the run's id. Every step is recorded (StepRun) and
announced (events); the persona only gets layers when the run ends ready or flagged.
A redelivered run (its worker died) resumes from the steps already completed.
"""

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from personas.card_layers import card_fidelity, pinned
from personas.models import Persona, PersonaStatus, PersonaVersion
from personas.services import persona_name_free
from personas.signals import persona_generated
from pipeline.constraints import chain_violations
from pipeline.models import AUDIT_ONLY, FINISHED, PipelineRun, RunStatus, StepRun
from pipeline.prompts import MAX_NAMES_IN_USE, STOP_SEQUENCES, build_messages
from pipeline.schemas import STEP_LAYER, InvalidOutput, parse_step_output
from studio.llm import gateway
from studio.llm.gateway import LLMError, StepConfig
from studio.models import Organization
from studio.work.events import emit
from studio.work.lifecycle import Heartbeat, TakenOver, claim
from studio.work.queue import enqueue

LAYER_STEPS = ("soul_draft", "self_enrich", "mask_build", "surface_ground")
logger = logging.getLogger(__name__)
RAISE_SCORES = "raise the weakest scores"  # what a round is asked when its audit left no notes
DEFAULT_INTENT = {"genre_hints": ["general"], "locale": "unspecified", "tonal_axes": {"neutral": 0.5}}


class RunFailed(Exception):
    pass


def _money(value) -> Decimal:
    return Decimal(str(round(float(value), 6)))


class RunExecution:
    def __init__(self, run: PipelineRun, *, resumed: bool = False):
        self.run = run
        self.resumed = resumed  # a worker died during this run: continue from its completed steps
        self.org = run.organization
        self.context: dict[str, dict] = {}
        self.audit_config = run.step_config["_audit"]
        self.feedback = ""  # the last audit's notes, which the layers of the next round answer
        self.pending = None  # the last finished step's bookkeeping, written while the next call is in flight
        self.calls: ThreadPoolExecutor | None = None  # where provider calls wait (execute() opens it)

    # --- steps ----------------------------------------------------------------------

    def config_for(self, step: str) -> StepConfig:
        knobs = {k: v for k, v in self.run.step_config[step].items() if k in ("model", "temperature", "max_tokens", "fallbacks")}
        return StepConfig.from_step(knobs, stop=STOP_SEQUENCES, json_mode=True, timeout_s=settings.LLM_TIMEOUT_S)

    def parser_for(self, step: str):
        def parse(text: str):
            document = parse_step_output(step, text)
            if (layer := STEP_LAYER.get(step)) and self.pins.get(layer):
                # A card's or a parent's words stand as they are: whatever the model wrote in those fields is replaced.
                document = type(document).model_validate(pinned(layer, document.model_dump(), self.pins))
            if layer:
                parsed = {name: self.parsed[name] for name in ("soul", "self", "mask") if name in self.parsed}
                if problems := chain_violations({**parsed, layer: document}):
                    raise InvalidOutput(f"{step} contradicts earlier layers: {'; '.join(problems)}")
            return document

        return parse

    @property
    def pins(self) -> dict:
        return (self.run.seed or {}).get("pins") or {}

    @property
    def parsed(self) -> dict:
        from pipeline.schemas import LAYERS

        return {name: LAYERS[name].model_validate(self.context[name]) for name in LAYERS if name in self.context}

    def run_step(self, step: str, *, attempt: int, feedback: str = "") -> dict:
        """Call the step's model; returns its parsed output.

        The request goes out first; while it is in flight the previous step's outcome and this
        step's start are written in one commit. This step's own outcome waits for the next step
        (or `flush()`), so the database work overlaps the provider's latency instead of adding to it.
        """
        config = self.config_for(step)
        names = self.names_in_use() if step == "surface_ground" else ()
        messages = build_messages(step, brief=self.run.persona.brief, context=self.context, attempt=attempt, feedback=feedback,
                                  names_in_use=names, seed_sections=(self.run.seed or {}).get("sections"))
        started, started_at = time.monotonic(), timezone.now()
        call = gateway.submit(self.calls, messages, config, organization=self.org, parse=self.parser_for(step))
        with transaction.atomic():
            self.write_pending()
            record = StepRun.objects.create(
                run=self.run, step=step, attempt=attempt, model_requested=config.model, started_at=started_at
            )
            emit(self.run, "step.started", {"step": step, "attempt": attempt, "model": config.model})
        try:
            completion = call.result()
        except LLMError as exc:
            with transaction.atomic():
                counters = self.finish_step(record, started, status=StepRun.Status.FAILED, error=str(exc), attempts=exc.attempts)
                emit(self.run, "step.failed", {"step": step, "attempt": attempt, "error": str(exc)}, **counters)
            raise RunFailed(f"step {step} failed: {exc}") from exc
        output = completion.parsed.model_dump()
        finished = time.monotonic()

        def write_completed():  # the step's record and its event land together
            counters = self.finish_step(record, started, finished=finished, status=StepRun.Status.COMPLETED, completion=completion, output=output)
            emit(self.run, "step.completed", {
                "step": step, "attempt": attempt, "duration_ms": record.duration_ms, "model": completion.model,
                "tokens": {"prompt": completion.prompt_tokens, "completion": completion.completion_tokens},
                "cost_usd": float(record.cost_usd),
            }, **counters)

        self.pending = write_completed
        return output

    def names_in_use(self) -> list[str]:
        """Other personas' names in the org, newest first: the surface step is asked for a name none of them has."""
        others = Persona.objects.filter(organization=self.org).exclude(pk=self.run.persona_id).exclude(name="")
        return list(others.order_by("-created_at").values_list("name", flat=True)[:MAX_NAMES_IN_USE])

    def write_pending(self) -> None:
        """Write the last finished step's outcome (inside the caller's transaction)."""
        pending, self.pending = self.pending, None
        if pending is not None:
            pending()

    def flush(self) -> None:
        with transaction.atomic():
            self.write_pending()

    def finish_step(self, record: StepRun, started: float, *, status, finished: float | None = None, completion=None,
                    output=None, error="", attempts=()) -> dict:
        """Save the step's outcome; returns the run's counter updates (saved with the step's event)."""
        record.status = status
        record.finished_at = timezone.now()
        record.duration_ms = int(((finished or time.monotonic()) - started) * 1000)
        record.error = error
        record.output = output
        record.llm_attempts = [asdict(a) for a in (completion.attempts if completion else attempts)]
        if completion is not None:
            record.model_used = completion.model
            record.prompt_tokens, record.completion_tokens = completion.prompt_tokens, completion.completion_tokens
            record.cost_usd = _money(completion.cost_usd)
        record.save(update_fields=[
            "status", "finished_at", "duration_ms", "error", "output", "llm_attempts",
            "model_used", "prompt_tokens", "completion_tokens", "cost_usd",
        ])
        return {
            "prompt_tokens": F("prompt_tokens") + record.prompt_tokens,
            "completion_tokens": F("completion_tokens") + record.completion_tokens,
            "cost_usd": F("cost_usd") + record.cost_usd,
            "heartbeat_at": timezone.now(),
        }

    # --- the run --------------------------------------------------------------------

    def resume_context(self) -> tuple[int, set[str], dict | None]:
        """Where a run whose worker died goes on: the audit round it was in, the layers already redone in that round,
        and that round's audit when it had finished. Completed steps are never run again (their outputs fill the
        context), and a round's layers are redone with the notes of the audit before it, as they were first asked."""
        completed = list(self.run.steps.filter(status=StepRun.Status.COMPLETED).order_by("id"))
        round_ = max([r.attempt for r in completed if r.step in STEP_LAYER] + [1])
        done, audits = set(), {}
        for record in completed:
            if record.step == "intent_parse":
                self.context["intent"] = record.output
            elif layer := STEP_LAYER.get(record.step):
                self.context[layer] = record.output
                if record.attempt == round_:
                    done.add(layer)
            elif record.step == "audit":
                audits[record.attempt] = record.output
        if round_ > 1 and audits.get(round_ - 1):
            self.feedback = audits[round_ - 1].get("notes") or RAISE_SCORES
        close_running_steps(self.run)
        return round_, done, audits.get(round_)

    def generate_layers(self, *, attempt: int, feedback: str = "", done: set[str] = frozenset()) -> None:
        for step in LAYER_STEPS:
            layer = STEP_LAYER[step]
            if layer in done:
                continue  # resumed: already done in this round
            self.context[layer] = self.run_step(step, attempt=attempt, feedback=feedback)

    def execute(self) -> None:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"run-{self.run.pk}") as self.calls:
            self.execute_steps()

    def execute_steps(self) -> None:
        if self.run.mode == AUDIT_ONLY:
            return self.audit_version()
        round_, done, audit = self.resume_context() if self.resumed else (1, set(), None)
        if "intent" not in self.context:
            if self.run.step_config["intent_parse"].get("enabled", True):
                self.context["intent"] = self.run_step("intent_parse", attempt=1)
            else:
                self.context["intent"] = DEFAULT_INTENT
        self.generate_layers(attempt=round_, feedback=self.feedback, done=done)
        max_rounds = 1 + int(self.audit_config["max_retries"])
        if not self.run.step_config["audit"].get("enabled", True):
            return self.complete(RunStatus.READY, audit=None)
        while True:
            if audit is None:  # (a resumed round whose audit had finished keeps its verdict)
                audit = self.run_step("audit", attempt=round_)
                if card := (self.run.seed or {}).get("card"):  # an imported card: how much of it the layers kept
                    fidelity = card_fidelity(card, {name: self.context[name] for name in ("soul", "self", "mask", "surface")})
                    audit.update(card_fidelity=fidelity["score"], card_fidelity_detail=fidelity)  # the step's record gets it too
                with transaction.atomic():
                    self.write_pending()
                    emit(self.run, "audit.scored", {
                        "attempt": round_, "scores": {k: audit[k] for k in audit if k not in ("overall", "notes", "card_fidelity_detail")},
                        "overall": audit["overall"], "passed": self.passes(audit), "notes": audit.get("notes", ""),
                    }, audit_rounds=round_)
            if self.passes(audit):
                return self.complete(RunStatus.READY, audit=audit)
            if round_ >= max_rounds:
                return self.complete(RunStatus.FLAGGED, audit=audit)
            round_ += 1
            self.feedback = audit.get("notes") or RAISE_SCORES
            audit = None
            self.generate_layers(attempt=round_, feedback=self.feedback)

    def passes(self, audit: dict) -> bool:
        return audit["overall"] >= float(self.audit_config["min_overall_score"])

    def audit_version(self) -> None:
        """A run that only audits an existing version (edited by hand or restored): one audit step, its scores saved
        on that version; the persona's status follows when it is the current version. No new version is made."""
        close_running_steps(self.run)  # a resumed audit starts its one step again
        version = PersonaVersion.objects.get(persona_id=self.run.persona_id, number=self.run.seed["audit_version"])
        self.context = {"intent": version.intent or DEFAULT_INTENT, **version.layers}
        audit = self.run_step("audit", attempt=1)
        passed = self.passes(audit)
        with transaction.atomic():
            self.write_pending()
            emit(self.run, "audit.scored", {
                "attempt": 1, "scores": {k: audit[k] for k in audit if k not in ("overall", "notes")},
                "overall": audit["overall"], "passed": passed, "notes": audit.get("notes", ""), "version": version.number,
            }, audit_rounds=1)
        self.complete_audit(version, audit, RunStatus.READY if passed else RunStatus.FLAGGED)

    def _lock_unfinished_run(self) -> PipelineRun:
        """This run's row, locked, carrying this worker's event cursor (a reaper's event in between collides);
        TakenOver when it was ended elsewhere. Inside the caller's transaction."""
        run = PipelineRun.objects.select_for_update().get(pk=self.run.pk)
        run.event_seq = self.run.event_seq
        if run.status in FINISHED:
            raise TakenOver(f"run {run.public_id} was ended elsewhere ({run.status})")
        return run

    @transaction.atomic
    def complete_audit(self, version: PersonaVersion, audit: dict, status: str) -> None:
        run = self._lock_unfinished_run()
        persona = Persona.objects.select_for_update().get(pk=run.persona_id)
        PersonaVersion.objects.filter(pk=version.pk).update(audit=audit)
        if persona.current_version_id == version.pk and persona.status in (PersonaStatus.READY, PersonaStatus.FLAGGED):
            persona.status = PersonaStatus.READY if status == RunStatus.READY else PersonaStatus.FLAGGED
        persona.cost_usd = F("cost_usd") + run.cost_usd
        persona.save()
        run.status, run.finished_at = status, timezone.now()
        emit(run, "pipeline.completed", {
            "persona_id": str(persona.public_id), "status": persona.status, "duration_ms": run.duration_ms,
            "cost_usd": float(run.cost_usd), "version": version.number, "audited": True,
        }, status=run.status, finished_at=run.finished_at)

    @transaction.atomic
    def complete(self, status: str, *, audit: dict | None) -> None:
        self.write_pending()  # the last step's outcome (and its cost) first
        run = self._lock_unfinished_run()
        # Names are unique within the org: the org's row is locked while this run's name is checked and saved,
        # so two runs finishing together cannot both take it (the model was asked to avoid taken names; this holds
        # whatever it answered).
        list(Organization.objects.select_for_update().filter(pk=run.organization_id).values_list("pk", flat=True))
        persona = Persona.objects.select_for_update().get(pk=run.persona_id)
        surface = self.context["surface"]
        name = persona_name_free(organization=self.org, name=surface["name"], exclude=persona)
        if name != surface["name"]:
            self.context["surface"] = {**surface, "name": name}
        number = persona.next_version_number()
        version = PersonaVersion.objects.create(
            persona=persona, number=number, intent=self.context["intent"], soul=self.context["soul"],
            self_layer=self.context["self"], mask=self.context["mask"], surface=self.context["surface"],
            audit=audit, source=PersonaVersion.Source.GENERATED,
            note="generated" if status == RunStatus.READY else "generated; below the audit threshold",
        )
        persona.current_version = version
        persona.name = name
        persona.status = PersonaStatus.READY if status == RunStatus.READY else PersonaStatus.FLAGGED
        persona.cost_usd = F("cost_usd") + run.cost_usd
        persona.save()
        run.status, run.finished_at = status, timezone.now()
        emit(run, "pipeline.completed", {
            "persona_id": str(persona.public_id), "status": persona.status, "duration_ms": run.duration_ms,
            "cost_usd": float(run.cost_usd), "version": number,
        }, status=run.status, finished_at=run.finished_at, version=version)
        transaction.on_commit(lambda: persona_generated.send(sender=Persona, persona=persona, version=version, status=persona.status))
        transaction.on_commit(lambda: _emit_generated_webhook(run, persona, number))


def _emit_generated_webhook(run: PipelineRun, persona: Persona, version: int) -> None:
    """persona.generated / persona.flagged to the org's webhooks; a webhook failure never fails the run."""
    from studio.webhooks.services import webhook_emit

    event = "persona.generated" if run.status == RunStatus.READY else "persona.flagged"
    data = {
        "persona_id": str(persona.public_id), "name": persona.name, "status": persona.status, "version": version,
        "run_id": str(run.public_id), "cost_usd": float(run.cost_usd),
    }
    try:
        webhook_emit(organization=run.organization, event=event, data=data)
    except Exception:
        logger.exception("could not queue the %s webhook for run %s", event, run.public_id)


def close_running_steps(run: PipelineRun, error: str = "the worker stopped during this step") -> None:
    """Steps an interrupted worker left running are closed as failed, so a run's record stays honest."""
    run.steps.filter(status=StepRun.Status.RUNNING).update(status=StepRun.Status.FAILED, error=error, finished_at=timezone.now())


def run_fail(run: PipelineRun, error: str) -> None:
    """End a run as failed: the persona keeps its previous version, if any, and never a half-written one."""
    with transaction.atomic():
        locked = PipelineRun.objects.select_for_update().filter(pk=run.pk).first()
        if locked is None or locked.status in FINISHED:
            return  # already over, or deleted with its persona
        locked.status, locked.error, locked.finished_at = RunStatus.FAILED, error[:4000], timezone.now()
        persona = Persona.objects.select_for_update().get(pk=locked.persona_id)
        if persona.status == PersonaStatus.GENERATING:
            persona.status = PersonaStatus.FAILED if persona.current_version_id is None else PersonaStatus.READY
        persona.save(update_fields=["status", "updated_at"])
        close_running_steps(locked)
        emit(locked, "pipeline.failed", {"error": error[:4000], "persona_id": str(persona.public_id)},
             status=locked.status, error=locked.error, finished_at=locked.finished_at)


def run_requeue(run: PipelineRun) -> None:
    """Queue a run whose worker died again (the reaper holds its row lock): a worker resumes it from its completed steps."""
    close_running_steps(run)
    emit(run, "pipeline.requeued", {"attempt": run.attempt + 1, "reason": "the worker stopped responding; resuming"},
         status=RunStatus.QUEUED, claimed_by="", heartbeat_at=timezone.now())
    transaction.on_commit(lambda: enqueue("pipeline.tasks.execute_run", run.pk))


def run_claim(run_id: int) -> PipelineRun | None:
    """Take a queued run, or a running one whose worker died (`resumed`: it goes on from its completed steps)."""
    return claim(PipelineRun.objects.select_related("organization", "persona"), run_id, running_status=RunStatus.RUNNING)


def run_execute(run_id: int) -> None:
    """Claim the run and take it to its end; None to do when it ended, is gone, or a live worker holds it."""
    run = run_claim(run_id)
    if run is None:
        return  # ended, gone, or a live worker holds it
    try:
        with Heartbeat(run):
            RunExecution(run, resumed=run.resumed).execute()
    except TakenOver as exc:  # the reaper or another worker took this run while we were slow: its outcome stands
        logger.warning("%s", exc)
    except RunFailed as exc:
        run_fail(run, str(exc))
    except Exception as exc:  # an unexpected bug still ends the run in a clear state
        run_fail(run, f"internal error: {type(exc).__name__}: {exc}")
        raise
