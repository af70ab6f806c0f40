"""Post-generation audits: start jobs and run them (voice fingerprint, provocation suite) on the work engine.

Which models (`audit_engine`):
- In persona, both jobs use the mask_build step's model and fallbacks: mask_build wrote the voice,
  so the voice is heard as it was designed (the chat playground follows the same choice).
- The provocation judge is the audit step's model (the pipeline's judge), asked for strict JSON.
- The fingerprint embeds with engine.pipeline.fingerprint.embedding_model.
- An org without LLM credentials gets the offline engine to answer and judge (studio.llm.engines.engine_plan
  decides, as for generation) and MiniLM to embed (local/all-minilm-l6-v2, sentence embeddings run
  in-process), or offline/studio-embed's hashed n-grams when MiniLM cannot run (audits.embeddings);
  the job's engine reads "offline".

The fingerprint's scenarios are answered by the model that answers the persona's chat
(audits.chat.services.chat_config): with no credentials that is SmolLM2 running in-process when it can, so
the fingerprint and the replies scored against it come from the same voice (the offline engine's formulaic
answers sit far from any real model's in MiniLM's space). Its answers are one `gateway.abatch`
(settings.AUDIT_CONCURRENCY in flight: the local engine batches them) whose `on_result` records progress as
each call finishes. With the vector, the fingerprint stores its own spread (audits.drift.calibrate),
the bound drift is held to.

The provocation suite calls `gateway.acomplete` under its own semaphore: a test's turns depend on each other.
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from decimal import Decimal

import numpy as np
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audits.drift import calibrate, cosine_distance
from audits.chat.models import ChatSession
from audits.chat.services import chat_config, spoken_reply
from audits.embeddings import no_credentials_embedding_model
from audits.judging import judge_messages, parse_verdict, pass_rates
from audits.models import AuditJob, BaselineFingerprint, Fingerprint, ProvocationResult
from audits.provocations import CATALOG, Provocation, calls_per_suite
from audits.scenarios import scenarios
from personas.models import Persona, PersonaStatus, PersonaVersion
from personas.prompting import persona_system_prompt
from studio.config.selectors import effective_tree
from studio.errors import Conflict, StudioError
from studio.llm import gateway
from studio.llm.gateway import Completion, LLMError, StepConfig
from studio.realtime import send_event
from studio.work.lifecycle import Heartbeat, TakenOver, claim
from studio.work.queue import enqueue

logger = logging.getLogger(__name__)
OFFLINE_CHAT_MODEL = "offline/studio"
ANSWER_MAX_TOKENS = 400  # a scenario or provocation reply is a few sentences
PROGRESS_EVENT = "audit.progress"
WEBHOOK_EVENTS = {AuditJob.Kind.FINGERPRINT: "persona.fingerprint.ready", AuditJob.Kind.PROVOCATIONS: "persona.test_suite_complete"}
KIND_LABELS = {AuditJob.Kind.FINGERPRINT: "voice fingerprint", AuditJob.Kind.PROVOCATIONS: "provocation suite",
               AuditJob.Kind.ATTACKS: "robustness attack run", AuditJob.Kind.CHECKPOINT_ATTACKS: "checkpoint attack run"}


class AuditFailed(Exception):
    """The job cannot finish; the message is what people read."""


# --- engine ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEngine:
    engine: str  # "offline" | "providers"
    chat: StepConfig
    judge: StepConfig
    embedding_model: str


def audit_engine(persona: Persona) -> AuditEngine:
    from studio.llm.engines import engine_plan

    plan = engine_plan(persona.workspace)  # Invalid with a readable message when a step's provider has no credentials
    tree = effective_tree(persona.organization, persona.workspace)
    timeout = {"timeout_s": settings.LLM_TIMEOUT_S}
    voice = plan.steps["mask_build"]
    chat = StepConfig.from_step(voice, max_tokens=min(int(voice.get("max_tokens") or ANSWER_MAX_TOKENS), ANSWER_MAX_TOKENS), **timeout)
    judge = StepConfig.from_step(plan.steps["audit"], json_mode=True, **timeout)
    embedding = no_credentials_embedding_model() if plan.engine == "offline" else tree["engine.pipeline.fingerprint.embedding_model"]
    return AuditEngine(plan.engine, chat, judge, embedding)


def fingerprint_engine(persona: Persona) -> AuditEngine:
    """audit_engine with the chat's own model answering (chat_config): the local model, with its chat settings,
    when the org has no credentials and it can run here; with credentials, mask_build's models as for any audit."""
    engine = audit_engine(persona)
    chat_engine, chat = chat_config(persona, effective_tree(persona.organization, persona.workspace))
    if chat_engine == ChatSession.Engine.PROVIDERS:
        return engine
    return replace(engine, chat=chat)


def _expected_calls(kind: str, persona: Persona) -> int:
    if kind == AuditJob.Kind.PROVOCATIONS:
        return calls_per_suite()
    tree = effective_tree(persona.organization, persona.workspace)
    return int(tree["engine.pipeline.fingerprint.scenarios"]) + 1  # the answers, then one embedding call


# --- starting jobs -----------------------------------------------------------------------------


def audit_job_start(*, persona: Persona, kind: str, trigger: str = AuditJob.Trigger.MANUAL, user=None,
                    version: PersonaVersion | None = None) -> AuditJob:
    """Queue a fingerprint or provocation job for the persona's current version; runs after commit."""
    if kind not in (AuditJob.Kind.FINGERPRINT, AuditJob.Kind.PROVOCATIONS):  # attack runs: audits.attack_runs.attack_run_start
        raise ValueError(f"audit_job_start starts a fingerprint or a provocation suite, not {kind!r}")
    version = version or persona.current_version
    if version is None:
        if persona.status == PersonaStatus.GENERATING:
            raise Conflict("this persona is still generating: wait for the run to finish, then test it")
        raise Conflict("this persona has no version to test (its generation failed)")
    if AuditJob.objects.unfinished().filter(persona=persona, version=version, kind=kind).exists():
        raise Conflict(f"a {KIND_LABELS[kind]} is already running for version {version.number} of this persona")
    with transaction.atomic():
        job = AuditJob.objects.create(
            organization=persona.organization, persona=persona, version=version, kind=kind, trigger=trigger,
            requested_by=user if getattr(user, "is_authenticated", False) else None, total=_expected_calls(kind, persona),
        )
        if kind == AuditJob.Kind.FINGERPRINT:
            Fingerprint.objects.create(organization=persona.organization, persona=persona, version=version, job=job)
        audit_job_broadcast(job)
        transaction.on_commit(lambda: enqueue("audits.tasks.run_audit_job", job.pk))
    return job


def post_generation_jobs_enqueue(*, persona: Persona, version: PersonaVersion) -> list[AuditJob]:
    """The fingerprint, and the provocation suite when engine.pipeline.provocation.enabled."""
    tree = effective_tree(persona.organization, persona.workspace)
    kinds = [AuditJob.Kind.FINGERPRINT]
    if tree["engine.pipeline.provocation.enabled"]:
        kinds.append(AuditJob.Kind.PROVOCATIONS)
    jobs = []
    for kind in kinds:
        try:
            jobs.append(audit_job_start(persona=persona, kind=kind, trigger=AuditJob.Trigger.GENERATION, version=version))
        except StudioError as exc:  # e.g. one already running for this version
            logger.info("no %s after generation of %s: %s", kind, persona.public_id, exc.message)
    return jobs


def on_persona_generated(sender, *, persona, version, status, **kwargs) -> None:
    """Receiver of personas.signals.persona_generated (sent after the run's transaction commits)."""
    if settings.POST_GENERATION_JOBS:
        post_generation_jobs_enqueue(persona=persona, version=version)


# --- the job's lifecycle -----------------------------------------------------------------------


def audit_job_broadcast(job: AuditJob) -> None:
    """The job's progress to its org's pages (every audit runner, attack runs included, reports through here)."""
    send_event(job.organization.channel_group, PROGRESS_EVENT, {"job": job.progress_payload()})


def audit_job_claim(job_id: int) -> AuditJob | None:
    """Take a queued job, or a running one whose worker died (it starts over: a job is minutes of calls)."""
    jobs = AuditJob.objects.select_related("organization", "persona__workspace", "version")
    job = claim(jobs, job_id, running_status=AuditJob.Status.RUNNING)
    if job is not None:
        audit_job_broadcast(job)
    return job


def audit_job_execute(job_id: int) -> None:
    """Run a queued job to its end: completed, or failed with a readable error (never left running)."""
    job = audit_job_claim(job_id)
    if job is None:
        return
    try:
        with Heartbeat(job):
            _RUNNERS[job.kind](job)
    except TakenOver as exc:
        logger.warning("%s", exc)
    except (AuditFailed, LLMError) as exc:
        audit_job_fail(job, str(exc))
    except StudioError as exc:
        audit_job_fail(job, exc.message)
    except Exception as exc:  # a bug still ends the job in a clear state
        logger.exception("audit job %s crashed", job.public_id)
        audit_job_fail(job, f"internal error: {type(exc).__name__}: {exc}")


# What runs each kind of job: the fingerprint and the suite here; other kinds register theirs (register_audit_runner)
# from their app's ready(), so a kind whose work lives in a later layer (training checkpoints) needs no import of it.
_RUNNERS: dict[str, Callable[[AuditJob], object]] = {}


def register_audit_runner(kind: str, runner: Callable[[AuditJob], object]) -> None:
    _RUNNERS[kind] = runner


def audit_job_fail(job: AuditJob, error: str, **fields) -> None:
    """End the job failed with `error` (and `fields`, e.g. the error count); its fingerprint fails with it."""
    with transaction.atomic():
        locked = AuditJob.objects.select_for_update().select_related("organization", "persona").filter(pk=job.pk).first()
        if locked is None or locked.is_finished:
            return
        locked.status, locked.error, locked.finished_at = AuditJob.Status.FAILED, error[:4000], timezone.now()
        for name, value in fields.items():
            setattr(locked, name, value)
        locked.save(update_fields=["status", "error", "finished_at", *fields])
        Fingerprint.objects.filter(job=locked).exclude(status=Fingerprint.Status.READY).update(
            status=Fingerprint.Status.FAILED, error=error[:4000], finished_at=locked.finished_at
        )
        audit_job_broadcast(locked)
    job.status, job.error = locked.status, locked.error


class Progress:
    """Counts finished calls; saved (it is also the job's heartbeat) and broadcast at most every
    SAVE_EVERY_S from the async side, so a fast suite does not spend its time in database hops."""

    SAVE_EVERY_S = 0.25

    def __init__(self, job: AuditJob):
        self.job = job
        self.done = 0
        self.cost = 0.0
        self.saved_at = 0.0

    def step(self, cost: float = 0.0) -> None:
        self.done += 1
        self.cost += cost
        updated = AuditJob.objects.filter(pk=self.job.pk, status=AuditJob.Status.RUNNING).update(
            done=min(self.done, self.job.total), heartbeat_at=timezone.now()
        )
        if not updated:
            raise TakenOver(f"audit job {self.job.public_id} was ended elsewhere")
        self.job.done = min(self.done, self.job.total)
        audit_job_broadcast(self.job)

    async def astep(self, cost: float = 0.0) -> None:
        now = time.monotonic()
        if now - self.saved_at < self.SAVE_EVERY_S and self.done + 1 < self.job.total:
            self.done += 1
            self.cost += cost
            return
        self.saved_at = now
        await sync_to_async(self.step)(cost)


def audit_job_complete(job: AuditJob, *, fields: dict, webhook: dict) -> None:
    """Store a running job's results as completed, unless it was ended elsewhere meanwhile (TakenOver); its webhook
    goes out once the transaction commits."""
    with transaction.atomic():
        locked = AuditJob.objects.select_for_update().filter(pk=job.pk).first()
        if locked is None or locked.status != AuditJob.Status.RUNNING:
            raise TakenOver(f"audit job {job.public_id} was ended elsewhere")
        for name, value in {**fields, "status": AuditJob.Status.COMPLETED, "done": job.total, "finished_at": timezone.now()}.items():
            setattr(job, name, value)
        job.save(update_fields=[*fields, "status", "done", "finished_at"])
        audit_job_broadcast(job)
        event, org = WEBHOOK_EVENTS.get(job.kind), job.organization
        if event:
            transaction.on_commit(lambda: _emit_webhook(org, event, webhook))


def _emit_webhook(organization, event: str, data: dict) -> None:
    """A webhook failure never fails the job that finished."""
    try:
        from studio.webhooks.services import webhook_emit
    except ImportError:
        return
    try:
        webhook_emit(organization=organization, event=event, data=data)
    except Exception:
        logger.exception("could not queue the %s webhook", event)


def usd_decimal(value: float) -> Decimal:
    """A float cost as the Decimal the cost fields store (6 places: a call can cost less than a cent)."""
    return Decimal(str(round(float(value), 6)))


# --- calls -------------------------------------------------------------------------------------


async def _call(limit: asyncio.Semaphore | None, messages: list[dict], config: StepConfig, org, parse=None) -> Completion:
    if limit is None:  # the caller holds a slot already
        return await gateway.acomplete(messages, config, organization=org, parse=parse)
    async with limit:
        return await gateway.acomplete(messages, config, organization=org, parse=parse)


def audit_concurrency() -> int:
    """Calls an audit job keeps in flight at once (settings.AUDIT_CONCURRENCY)."""
    return max(1, int(getattr(settings, "AUDIT_CONCURRENCY", 8)))


# --- the voice fingerprint ---------------------------------------------------------------------


def fingerprint_compute(job: AuditJob) -> Fingerprint:
    """N scenarios answered in persona by the chat's model, embedded, averaged and normalised to unit length;
    with the spread of the answers' own distances (the calibration drift is held to)."""
    engine = fingerprint_engine(job.persona)
    fingerprint = Fingerprint.objects.filter(job=job).first() or Fingerprint.objects.create(
        organization=job.organization, persona=job.persona, version=job.version, job=job
    )
    prompts = scenarios(int(effective_tree(job.organization, job.persona.workspace)["engine.pipeline.fingerprint.scenarios"]))
    baseline = baseline_for(job.organization, engine, len(prompts))
    _started(job, engine, total=(len(prompts) + 1) * (1 if baseline else 2))  # the baseline's answers too, the first time
    fingerprint.status, fingerprint.engine = Fingerprint.Status.RUNNING, engine.engine
    fingerprint.chat_model, fingerprint.embedding_model = engine.chat.model, engine.embedding_model
    fingerprint.save(update_fields=["status", "engine", "chat_model", "embedding_model"])

    system = persona_system_prompt(job.version.layers)
    progress = Progress(job)
    results = async_to_sync(_answer_scenarios)(prompts, system, engine, job.organization, progress)
    answers = [r for r in results if isinstance(r, Completion) and r.text.strip()]
    job.errors = len(prompts) - len(answers)
    if len(answers) * 2 < len(prompts):
        first_error = next((r for r in results if isinstance(r, LLMError)), None)
        raise AuditFailed(f"{job.errors} of {len(prompts)} scenarios errored (only {len(answers)} answered in persona)"
                          + (f"; {first_error}" if first_error else ""))
    vectors, embed_cost = gateway.embed([a.text for a in answers], engine.embedding_model, organization=job.organization)
    progress.step(embed_cost)
    vector = unit_mean(vectors)
    calibration = calibrate(vectors)
    baseline = baseline or baseline_compute(job.organization, engine, prompts, progress)
    cost = usd_decimal(progress.cost)
    fingerprint.status, fingerprint.vector, fingerprint.scenarios = Fingerprint.Status.READY, vector, len(answers)
    fingerprint.calibration = calibration.as_json() if calibration else None
    fingerprint.baseline, fingerprint.distinctiveness = baseline, distinctiveness(vector, baseline)
    fingerprint.cost_usd, fingerprint.finished_at = cost, timezone.now()
    # The chain may have fallen back: record the model that answered most.
    fingerprint.chat_model = max({a.model for a in answers}, key=[a.model for a in answers].count)
    fingerprint.save(update_fields=["status", "vector", "calibration", "scenarios", "cost_usd", "finished_at", "chat_model",
                                    "baseline", "distinctiveness"])
    audit_job_complete(job, fields={"cost_usd": cost, "chat_model": fingerprint.chat_model, "errors": job.errors}, webhook={
        "persona_id": str(job.persona.public_id), "version": job.version.number, "fingerprint_id": str(fingerprint.public_id),
        "job_id": str(job.public_id), "engine": engine.engine, "chat_model": fingerprint.chat_model,
        "embedding_model": engine.embedding_model, "scenarios": len(answers), "dimensions": len(vector),
    })
    return fingerprint


# The generic assistant a persona's distinctiveness is measured from: no persona at all, the same scenarios.
BASELINE_SYSTEM_PROMPT = "You are a helpful assistant."


def baseline_for(organization, engine: AuditEngine, count: int) -> BaselineFingerprint | None:
    return BaselineFingerprint.objects.filter(
        organization=organization, chat_model=engine.chat.model, embedding_model=engine.embedding_model, scenarios=count
    ).first()


def baseline_compute(organization, engine: AuditEngine, prompts: list[str], progress: "Progress") -> BaselineFingerprint | None:
    """The generic assistant's fingerprint on `prompts` (answered by the same chat model, embedded by the same model),
    stored for the next fingerprint; None when too few scenarios were answered (the persona's fingerprint stands)."""
    results = async_to_sync(_answer_scenarios)(prompts, BASELINE_SYSTEM_PROMPT, engine, organization, progress)
    answers = [r for r in results if isinstance(r, Completion) and r.text.strip()]
    if len(answers) * 2 < len(prompts):
        logger.warning("no baseline fingerprint: %d of %d scenarios answered", len(answers), len(prompts))
        return None
    vectors, embed_cost = gateway.embed([a.text for a in answers], engine.embedding_model, organization=organization)
    progress.step(embed_cost)
    baseline, _ = BaselineFingerprint.objects.get_or_create(  # a fingerprint computed beside this one may have stored it first
        organization=organization, chat_model=engine.chat.model, embedding_model=engine.embedding_model, scenarios=len(prompts),
        defaults={"vector": unit_mean(vectors), "answers": len(answers), "system_prompt": BASELINE_SYSTEM_PROMPT,
                  "cost_usd": usd_decimal(sum(a.cost_usd for a in answers) + embed_cost)},
    )
    return baseline


def distinctiveness(vector, baseline: BaselineFingerprint | None) -> float | None:
    """Cosine distance of a persona's fingerprint from the generic assistant's (None without a comparable baseline)."""
    if baseline is None:
        return None
    try:
        return round(cosine_distance(vector, baseline.vector), 6)
    except ValueError:
        return None


def unit_mean(vectors) -> list[float]:
    matrix = np.asarray(vectors, dtype=float)
    if matrix.ndim != 2 or not len(matrix):
        raise AuditFailed("the embedding model returned no vectors")
    mean = matrix.mean(axis=0)
    norm = float(np.linalg.norm(mean))
    if not np.isfinite(norm) or norm == 0.0:
        raise AuditFailed("the answers' embeddings average to a zero vector")
    return (mean / norm).tolist()


async def _answer_scenarios(prompts, system, engine: AuditEngine, org, progress: Progress) -> list[Completion | LLMError]:
    """Every scenario answered in persona by the chat model, one batch; progress as each answer comes back."""
    requests = [([{"role": "system", "content": system}, {"role": "user", "content": prompt}], engine.chat) for prompt in prompts]

    async def answered(_index, result):
        await progress.astep(result.cost_usd if isinstance(result, Completion) else 0.0)

    return await gateway.abatch(requests, organization=org, parse=spoken_reply, concurrency=audit_concurrency(),
                                on_result=answered)


def _started(job: AuditJob, engine: AuditEngine, *, total: int) -> None:
    job.engine, job.chat_model, job.total = engine.engine, engine.chat.model, total
    if job.kind == AuditJob.Kind.PROVOCATIONS:
        job.judge_model = engine.judge.model
    job.save(update_fields=["engine", "chat_model", "judge_model", "total"])
    audit_job_broadcast(job)


# --- the provocation suite ---------------------------------------------------------------------


@dataclass
class CaseOutcome:
    test_id: str
    category: str
    title: str
    criterion: str
    transcript: list
    verdict: str
    reason: str
    cost_usd: float = 0.0


def provocation_suite_run(job: AuditJob, catalog: tuple[Provocation, ...] = CATALOG) -> AuditJob:
    """Every test's scripted turns answered in persona, each transcript judged pass/fail (or error)."""
    engine = audit_engine(job.persona)
    _started(job, engine, total=calls_per_suite(catalog))
    layers = job.version.layers
    progress = Progress(job)
    outcomes = async_to_sync(_run_cases)(catalog, layers, engine, job.organization, progress)
    ProvocationResult.objects.bulk_create([
        ProvocationResult(job=job, **{**asdict(o), "cost_usd": usd_decimal(o.cost_usd)}) for o in outcomes
    ])
    rates = pass_rates((o.category, o.verdict) for o in outcomes)
    fields = {
        "passed": rates["passed"], "failed": rates["failed"], "errors": rates["errors"], "pass_rate": rates["pass_rate"],
        "category_rates": rates["categories"], "cost_usd": usd_decimal(sum(o.cost_usd for o in outcomes)),
    }
    if outcomes and rates["errors"] == len(outcomes):  # nothing was graded: no pass rate to report
        first = next((o.reason for o in outcomes if o.reason), "")
        audit_job_fail(job, f"all {len(outcomes)} tests errored, none was graded" + (f"; first error: {first}" if first else ""),
                       **fields)
        return job
    audit_job_complete(job, fields=fields, webhook={
        "persona_id": str(job.persona.public_id), "version": job.version.number, "job_id": str(job.public_id),
        "engine": engine.engine, "tests": len(outcomes), **{k: fields[k] for k in ("passed", "failed", "errors", "pass_rate")},
        "categories": {name: bucket["pass_rate"] for name, bucket in rates["categories"].items()},
    })
    return job


async def _run_cases(catalog, layers: dict, engine: AuditEngine, org, progress: Progress) -> list[CaseOutcome]:
    """Each test holds one of the concurrency slots from its first turn to its verdict (one call in flight
    per test), and the longest tests start first: the suite's wall time is then about calls / concurrency
    instead of a multi-turn test's later turns queueing behind everyone's first ones."""
    slots = asyncio.Semaphore(audit_concurrency())
    system = persona_system_prompt(layers)

    async def one(p: Provocation) -> CaseOutcome:
        async with slots:
            return await _run_case(p, system, layers, engine, org, progress)

    longest_first = sorted(range(len(catalog)), key=lambda i: -len(catalog[i].turns))
    tasks = {i: asyncio.ensure_future(one(catalog[i])) for i in longest_first}
    return [await tasks[i] for i in range(len(catalog))]


async def _run_case(p: Provocation, system: str, layers: dict, engine: AuditEngine, org, progress: Progress) -> CaseOutcome:
    outcome = CaseOutcome(p.id, p.category, p.title, p.criterion, [], ProvocationResult.Verdict.ERROR, "")
    for turn in p.turns:
        outcome.transcript.append({"role": "user", "content": turn})
        messages = [{"role": "system", "content": system}, *outcome.transcript]
        try:
            reply = await _call(None, messages, engine.chat, org)
        except LLMError as exc:
            await progress.astep()
            outcome.reason = f"the persona could not answer: {exc}"
            return outcome
        outcome.transcript.append({"role": "assistant", "content": reply.text})
        outcome.cost_usd += reply.cost_usd
        await progress.astep(reply.cost_usd)
    try:
        judged = await _call(None, judge_messages(p, layers=layers, transcript=outcome.transcript), engine.judge, org, parse=parse_verdict)
    except LLMError as exc:
        await progress.astep()
        outcome.reason = f"the judge gave no valid verdict: {exc}"
        return outcome
    outcome.verdict, outcome.reason = judged.parsed.verdict, judged.parsed.reason
    outcome.cost_usd += judged.cost_usd
    await progress.astep(judged.cost_usd)
    return outcome


register_audit_runner(AuditJob.Kind.FINGERPRINT, fingerprint_compute)
register_audit_runner(AuditJob.Kind.PROVOCATIONS, provocation_suite_run)
