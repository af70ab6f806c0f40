"""The stage engine: a training job's stages in order, with progress, events, cost, kill criteria and cancel.

What the stages are is the job's kind (training_jobs.job_kinds: a character job's
smoke → dpo_data → dpo_train → introspection → sft → eval, a unified job's compose → curriculum → eval);
the engine runs any kind's plan the same way, then ends the job succeeded | failed | cancelled | killed.

One Celery task runs the whole plan (`job_execute`). Each stage records its progress (done/total),
cost and artifacts on its StageRun and emits events; the work engine's Heartbeat thread keeps `heartbeat_at` fresh
(progress is reported at least once per LLM chunk and per training step), so the reaper can tell a dead
worker (failed, "resume from <stage>") from a slow stage. A redelivered
task (late ack after a worker died) starts again at the first stage not completed.

Stopping: `cancel_requested` is polled between LLM batches and after every training step; a kill
criterion that fires stops training at that step. Either way the artifacts written so far stay.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from decimal import Decimal
from pathlib import Path

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from studio.llm import gateway
from studio.llm.gateway import Budget, BudgetExceededError, LLMError, StepConfig, billed
from studio.work.events import emit, json_safe
from studio.work.lifecycle import Heartbeat, TakenOver, claim
from training_jobs.filters import DataQualityError, DataQualityGate, FilterConfig, FilterStats, QualityFilter
from training_jobs.kill import Kill, KillCriteria
from training_jobs.job_kinds import kind_for
from training_jobs.models import ENDED, JobStatus, StageRun, TrainingJob
from training_jobs.params import STOP_SEQUENCES
from training_jobs.queue import job_enqueue

logger = logging.getLogger(__name__)

PROGRESS_EVERY_S = 0.25  # progress is saved (and broadcast) at most this often
CANCEL_POLL_S = 0.5
GATE_MIN_SAMPLES = 20
# LLM chunks (JobContext.batch): each pays a ramp and a tail of ~0.4 s whatever its size (benchmark 7a), so a
# chunk is at least CHUNK_WAVES waves of `concurrency` calls and, once the job's calls have shown their pace,
# as many waves as last about CHUNK_TARGET_S, at most CHUNK_MAX_WAVES.
CHUNK_WAVES = 4
CHUNK_MAX_WAVES = 16
CHUNK_TARGET_S = 15.0


class JobCancelled(Exception):
    pass


class JobKilled(Exception):
    def __init__(self, kill: Kill | dict):
        self.kill = json_safe(kill.to_dict() if isinstance(kill, Kill) else dict(kill))
        super().__init__(self.kill["message"])


class StageFailed(Exception):
    """The stage cannot go on; the message is the one line people read."""


# --- the context a stage runs in -------------------------------------------------------------


class JobContext:
    def __init__(self, job: TrainingJob):
        self.job = job
        self.kind = kind_for(job)
        self.params = self.kind.params_of(job)
        # what the quality filter checks against: a character job's constitution (its kind fills these in)
        self.constitution, self.markers, self.system = None, [], ""
        self.kind.prepare_context(self)
        self.organization = job.organization
        self.quality = QualityFilter(FilterConfig())
        self.stage: StageRun | None = None
        self.started = time.monotonic()
        self._saved_at = 0.0
        self._polled_at = 0.0
        self._wave_s: float | None = None  # seconds the last LLM chunk took per wave of `concurrency` calls
        self._cancelled = False
        self.early_stop: dict | None = None  # set when checkpoint evaluations stopped training on a plateau
        self.kill_cost = KillCriteria({"budget_usd": self.params.budget_usd,
                                       "max_burn_usd_per_hour": self.params.max_burn_usd_per_hour,
                                       "burn_min_elapsed_s": settings.TRAINING_BURN_MIN_ELAPSED_S})

    # paths -------------------------------------------------------------------------------------
    def folder(self, *parts: str) -> Path:
        path = self.job.artifacts_dir.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def rel(self, path: Path) -> str:
        return str(path.relative_to(self.job.artifacts_dir))

    def rel_any(self, path) -> str:
        """Relative to the job's folder when inside it (a model it built), else as given (a local checkpoint)."""
        path = Path(path)
        return self.rel(path) if path.is_relative_to(self.job.artifacts_dir) else str(path)

    # progress ----------------------------------------------------------------------------------
    def set_total(self, total: int, unit: str) -> None:
        self.stage.total, self.stage.unit = total, unit
        self.progress(self.stage.done, force=True)

    def advance(self, n: int = 1, **extra) -> None:
        self.progress(self.stage.done + n, **extra)

    def progress(self, done: int, *, force: bool = False, **extra) -> None:
        self.stage.done = min(done, self.stage.total) if self.stage.total else done
        now = time.monotonic()
        if not force and now - self._saved_at < PROGRESS_EVERY_S:
            return
        self._saved_at = now
        self.stage.save(update_fields=["done", "total", "unit", "stats", "cost_usd", "prompt_tokens", "completion_tokens"])
        emit(self.job, "stage.progress", {"stage": self.stage.stage, "done": self.stage.done, "total": self.stage.total,
                                          "unit": self.stage.unit, "cost_usd": float(self.job.cost_usd), **extra},
             cost_usd=self.job.cost_usd, prompt_tokens=self.job.prompt_tokens,
             completion_tokens=self.job.completion_tokens, heartbeat_at=timezone.now())

    # cost --------------------------------------------------------------------------------------
    def charge(self, results) -> None:
        """Add the cost and tokens of finished calls to the stage and the job; kill at the budget or burn rate.

        Answers a parse rejected were billed too, so they count. A call the gateway did not send because the
        budget could not cover it (BudgetExceededError) kills as well.
        """
        cost, prompt, completion = Decimal("0"), 0, 0
        for result in results:
            usage = billed(result)
            cost += Decimal(str(usage.cost_usd))
            prompt += usage.prompt_tokens
            completion += usage.completion_tokens
        for record in (self.stage, self.job):
            record.cost_usd += cost
            record.prompt_tokens += prompt
            record.completion_tokens += completion
        refused = any(isinstance(result, BudgetExceededError) for result in results)
        if kill := self.kill_cost.check_cost(float(self.job.cost_usd), time.monotonic() - self.started, refused=refused):
            raise JobKilled(kill)

    def budget(self) -> Budget | None:
        """What the next LLM calls may spend: the job's cap less what it has spent (None: no cap)."""
        if self.params.budget_usd is None:
            return None
        return Budget(cap_usd=self.params.budget_usd, spent_usd=float(self.job.cost_usd))

    # stopping ----------------------------------------------------------------------------------
    def cancel_requested(self, *, force: bool = False) -> bool:
        """Polled during LLM chunks and after every training step (liveness is the work engine's Heartbeat thread)."""
        now = time.monotonic()
        if not self._cancelled and (force or now - self._polled_at >= CANCEL_POLL_S):
            self._polled_at = now
            self._cancelled = TrainingJob.objects.filter(pk=self.job.pk, cancel_requested=True).exists()
        return self._cancelled

    def check_cancel(self, *, force: bool = False) -> None:
        if self.cancel_requested(force=force):
            raise JobCancelled()

    # LLM calls ---------------------------------------------------------------------------------
    def call_config(self, model: str, seed: int) -> StepConfig:
        p = self.params
        return StepConfig(model=model, temperature=p.temperature, top_p=p.top_p, max_tokens=p.max_new_tokens,
                          stop=tuple(STOP_SEQUENCES), seed=seed, timeout_s=settings.LLM_TIMEOUT_S)

    def batch(self, requests: list, on_chunk=None, *, step: int = 1) -> list:
        """Calls in chunks of a few times the concurrency; results in order.

        Between chunks: cancel is checked, cost charged, progress saved, and `on_chunk(offset, results)`
        lets the caller filter what came back (live filter counts, the data-quality gate) before more is spent.
        Chunks are a multiple of `step` (2 keeps a DPO pair's two calls together). A chunk starts with a ramp
        and ends waiting for its slowest call, so it is CHUNK_WAVES waves of the concurrency (at least 64 calls) or,
        once a chunk has shown how long a wave takes, as many waves as fit in CHUNK_TARGET_S (at most
        CHUNK_MAX_WAVES): at 1 s provider latency ~13 waves instead of 4; a slow provider keeps 4, as before.
        """
        concurrency = self.params.concurrency
        results: list = []
        start = 0
        while start < len(requests):
            self.check_cancel()
            waves = CHUNK_WAVES
            if self._wave_s:
                waves = min(max(waves, int(CHUNK_TARGET_S / self._wave_s)), CHUNK_MAX_WAVES)
            chunk = max(max(concurrency * waves, 64) // step * step, step)
            began = time.monotonic()
            part = self._chunk(requests[start:start + chunk], concurrency)
            self._wave_s = max(time.monotonic() - began, 1e-3) / -(-len(part) // concurrency)
            self.charge(part)
            if on_chunk is not None:
                on_chunk(start, part)
            results += part
            self.advance(len(part), force=True)
            start += len(part)
        return results

    def _chunk(self, requests: list, concurrency: int) -> list:
        """One chunk through the gateway; a cancel that arrives while it is in flight abandons it at once."""

        async def run():
            task = asyncio.ensure_future(gateway.abatch(requests, organization=self.organization, concurrency=concurrency,
                                                        budget=self.budget()))
            while True:
                done, _ = await asyncio.wait({task}, timeout=CANCEL_POLL_S)
                if done:
                    return task.result()
                if await sync_to_async(self.cancel_requested)():
                    task.cancel()  # calls already sent may still be billed by the provider; none is waited for
                    raise JobCancelled()

        return async_to_sync(run)()

    def filter(self, text: str, stats: FilterStats, *, markers=True):
        result = self.quality.check(text, markers=self.markers if markers else (), system_prompt=self.system)
        stats.add(result)
        return result

    def gate(self, stats: FilterStats, stage_key: str, *, final: bool = False) -> None:
        """Save the filter counts where the job page reads them, and kill the stage past the drop-rate limit.

        While generating, the gate judges once GATE_MIN_SAMPLES samples are in; at the end of a stage
        (`final`) it judges whatever there is.
        """
        self.stage.stats = {**self.stage.stats, stage_key: stats.as_dict()}
        needed = min(GATE_MIN_SAMPLES, max(stats.samples, 1)) if final else GATE_MIN_SAMPLES
        decision = DataQualityGate(self.params.max_drop_rate, min_samples=needed).evaluate(stats)
        if decision.tripped:
            raise JobKilled({"criterion": "data_quality", "message": "Killed: " + decision.message,
                             "numbers": {"drop_rate": decision.drop_rate, "samples": decision.samples, "limit": decision.limit,
                                         "drops": dict(stats.drops)}})

    # training ----------------------------------------------------------------------------------
    def backend(self):
        from training_jobs.backends import get_backend

        return get_backend(self.job.backend)

    def train(self, kind: str, rows: list[dict], config: dict, *, history_key: str | None = None, checkpoints=None,
              **event) -> dict:
        """Train through the backend: metrics become events, kill criteria run on every logged step.

        `checkpoints` (a training_jobs.in_training_evals.CheckpointEvaluator): the backend saves the adapter every
        `checkpoints.every` steps and the evaluator scores it; when it finds a plateau, training stops there."""
        nll_coef = getattr(self.params, "nll_coef", 0.0) if kind == "dpo" else 0.0
        criteria = KillCriteria({"stage": kind, "nll_coef": nll_coef})
        state: dict = {"kill": None, "base_done": self.stage.done}
        history_key = history_key or f"{kind}_history"
        self.stage.stats.setdefault(history_key, [])

        def on_metrics(step: int, metrics: dict) -> None:
            clean = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
            self.stage.stats[history_key].append(json_safe({"step": step, **clean}))
            emit(self.job, "train.metrics", {"stage": self.stage.stage, "kind": kind, "step": step, "metrics": clean, **event})
            if state["kill"] is None and (kill := criteria.check_step(clean, step)):
                state["kill"] = kill
            self.progress(state["base_done"] + step, force=True)

        def should_stop() -> bool:
            return state["kill"] is not None or self.cancel_requested() or bool(checkpoints and checkpoints.stop)

        extra = {}
        if checkpoints is not None and checkpoints.every:
            config = {**config, "checkpoint_every": checkpoints.every}
            extra["on_checkpoint"] = checkpoints
        result = getattr(self.backend(), f"train_{kind}")(rows, config, on_metrics=on_metrics, should_stop=should_stop, **extra)
        if state["kill"] is not None:
            raise JobKilled(state["kill"])
        self.check_cancel(force=True)
        if checkpoints is not None and checkpoints.stop:
            self.early_stop = checkpoints.stop
        return result.as_dict()


CPU_DEVICE_BATCH = 8  # sequences per forward pass on a CPU worker; the rest of a batch is gradient accumulation


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def device_batch(batch_size: int) -> tuple[int, int]:
    """(per-device batch, accumulation steps) for an effective `batch_size`: whole batches on a GPU (bf16), at most
    CPU_DEVICE_BATCH at a time on a CPU (the same optimizer steps, less memory per pass)."""
    if cuda_available() or batch_size <= CPU_DEVICE_BATCH:
        return batch_size, 1
    accumulate = -(-batch_size // CPU_DEVICE_BATCH)
    return -(-batch_size // accumulate), accumulate


def resolve_checkpoint(checkpoint: str) -> str:
    """What the backend loads for a student checkpoint name: the converted SmolLM2 folder for its name."""
    from studio.llm import local_models

    if checkpoint != local_models.SMOLLM2.name:
        return checkpoint
    try:
        return str(local_models.smollm2_dir())
    except local_models.ModelUnavailable as exc:
        raise StageFailed(str(exc)) from None


# --- artifacts -------------------------------------------------------------------------------


def write_jsonl(path: Path, rows) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]




def artifact(ctx: JobContext, stage: str, name: str) -> str:
    """The relative path of an artifact an earlier stage left; StageFailed (resume there) when it is gone."""
    run = ctx.job.stages.get(stage=stage)
    rel = (run.artifacts or {}).get(name)
    if not rel or not (ctx.job.artifacts_dir / rel).exists():
        raise StageFailed(f"{stage} left no {name}: resume from {stage}")
    return rel


def adapter_of(ctx: JobContext, stage: str) -> dict | None:
    """{adapter_dir, base_dir} of the adapter a completed stage trained, or None."""
    run = ctx.job.stages.filter(stage=stage, status=StageRun.Status.COMPLETED).first()
    if not run or "adapter" not in (run.artifacts or {}):
        return None
    root = ctx.job.artifacts_dir
    base = run.artifacts["base"]
    return {"adapter_dir": str(root / run.artifacts["adapter"]), "base_dir": str(root / base) if not Path(base).is_absolute() else base}


# --- the job ---------------------------------------------------------------------------------


def _first_stage(job: TrainingJob) -> str:
    return (_remaining(job, kind_for(job).params_of(job)) or [JobStatus.EVAL])[0]


def _claim(job_id: int) -> TrainingJob | None:
    """Take a queued job, or one whose worker died (it goes on from its last completed stage); None if ended or held."""
    jobs = TrainingJob.objects.select_related("organization", "persona", "constitution", "workspace")
    job = claim(jobs, job_id, running_status=_first_stage)
    if job is None:
        return None  # deleted, ended (a redelivery after the reaper), or a live worker is on it
    if job.cancel_requested:
        _end(job, None, JobStatus.CANCELLED, error="cancelled before it started")
        return None
    return job


def job_execute(job_id: int) -> None:
    job = _claim(job_id)
    if job is None:
        return
    ctx = None
    try:
        with Heartbeat(job):
            ctx = JobContext(job)
            functions = ctx.kind.stage_functions()
            for stage in _remaining(job, ctx.params):
                if ctx.early_stop is not None and stage not in ctx.kind.after_early_stop:
                    _skip_stage(ctx, stage)
                    continue
                _run_stage(ctx, stage, functions[stage])
            _end(job, ctx, JobStatus.SUCCEEDED)
    except TakenOver:
        logger.warning("training job %s was ended elsewhere; this worker stops", job.public_id)
    except JobCancelled:
        _end(job, ctx, JobStatus.CANCELLED, error="cancelled by request; artifacts so far are kept")
    except JobKilled as killed:
        _end(job, ctx, JobStatus.KILLED, error=killed.kill["message"], kill=killed.kill)
    except DataQualityError as exc:
        _end(job, ctx, JobStatus.KILLED, error=str(exc), kill={"criterion": "data_quality", "message": str(exc), "numbers": {}})
    except StageFailed as exc:
        _end(job, ctx, JobStatus.FAILED, error=str(exc))
    except LLMError as exc:
        _end(job, ctx, JobStatus.FAILED, error=f"LLM calls failed: {exc.summary()[:400]}")
    except Exception as exc:  # a bug or an outage still ends the job in a clear state
        logger.exception("training job %s failed", job.public_id)
        _end(job, ctx, JobStatus.FAILED, error=f"internal error in {job.status}: {type(exc).__name__}: {str(exc)[:300]}")


def _remaining(job: TrainingJob, params) -> list[str]:
    done = set(job.stages.filter(status__in=[StageRun.Status.COMPLETED, StageRun.Status.SKIPPED]).values_list("stage", flat=True))
    return [stage for stage in params.stage_plan() if stage not in done]


def _run_stage(ctx: JobContext, stage: str, function) -> None:
    ctx.check_cancel(force=True)
    job = ctx.job
    run = job.stages.get(stage=stage)
    now = timezone.now()
    run.status, run.started_at, run.finished_at, run.runs = StageRun.Status.RUNNING, now, None, run.runs + 1
    run.done, run.total, run.error, run.stats = 0, 0, "", {}
    run.save()
    ctx.stage = run
    job.status = stage
    emit(job, "stage.started", {"stage": stage, "run": run.runs}, status=stage, heartbeat_at=now)
    function(ctx)
    run.status, run.finished_at = StageRun.Status.COMPLETED, timezone.now()
    run.done = run.total or run.done
    run.save()
    completed = {"stage": stage, "duration_ms": int(run.duration_s * 1000), "cost_usd": float(run.cost_usd), "artifacts": run.artifacts}
    with transaction.atomic():
        emit(job, "stage.completed", completed,
             cost_usd=job.cost_usd, prompt_tokens=job.prompt_tokens, completion_tokens=job.completion_tokens)
        _webhook(job, "training_job.stage_completed", completed)


def _skip_stage(ctx: JobContext, stage: str) -> None:
    """A training stage left out because checkpoint evaluations stopped training early (a normal end, not a failure)."""
    run = ctx.job.stages.get(stage=stage)
    run.status, run.done, run.total, run.error = StageRun.Status.SKIPPED, 0, 0, ""
    run.stats = {"skipped": ctx.early_stop["message"]}
    run.save()
    emit(ctx.job, "stage.skipped", {"stage": stage, "reason": ctx.early_stop["message"]})


STAGE_END = {JobStatus.CANCELLED: StageRun.Status.CANCELLED, JobStatus.KILLED: StageRun.Status.KILLED,
             JobStatus.FAILED: StageRun.Status.FAILED}
END_EVENTS = {JobStatus.SUCCEEDED: "job.succeeded", JobStatus.FAILED: "job.failed", JobStatus.CANCELLED: "job.cancelled",
              JobStatus.KILLED: "job.killed"}


def _end(job: TrainingJob, ctx: JobContext | None, status: str, *, error: str = "", kill: dict | None = None) -> None:
    """The job's one ending: the running stage closes with it, the terminal event goes out in the same commit."""
    stage = ctx.stage if ctx and ctx.stage and ctx.stage.status == StageRun.Status.RUNNING else None
    error = " ".join(error.split())  # one line on the job page
    with transaction.atomic():
        current = TrainingJob.objects.select_for_update().filter(pk=job.pk).values_list("status", flat=True).first()
        if current is None or current in ENDED:
            return  # the reaper (or a cancel of a queued job) got there first
        if stage is not None:
            stage.status, stage.error, stage.finished_at = STAGE_END.get(status, StageRun.Status.FAILED), error[:2000], timezone.now()
            stage.save()
        outcome = _outcome_at_end(job, status, stage.stage if stage else None)
        early = {"early_stop": ctx.early_stop} if ctx and ctx.early_stop is not None else {}
        data = {"status": status, "stage": stage.stage if stage else None, "error": error, "kill": kill,
                "cost_usd": float(job.cost_usd), "duration_ms": int((job.duration_s or 0) * 1000), "outcome": outcome, **early}
        emit(job, END_EVENTS[status], data, status=status, error=error[:2000], kill=kill, finished_at=timezone.now(), **early,
             cost_usd=job.cost_usd, prompt_tokens=job.prompt_tokens, completion_tokens=job.completion_tokens,
             outcome=outcome["outcome"], outcome_detail=outcome)
        _webhook(job, f"training_job.{status}", data)
    job.status = status


def _outcome_at_end(job: TrainingJob, status: str, stage: str | None) -> dict:
    """The verdict the evaluation reached (training_jobs.outcome) when the job got through it; else "no data"."""
    from training_jobs.outcome import not_evaluated

    if status == JobStatus.SUCCEEDED:
        run = job.stages.filter(stage="eval", status=StageRun.Status.COMPLETED).first()
        if found := ((run.stats or {}).get("eval") or {}).get("outcome") if run else None:
            return found
    return not_evaluated(status, stage).as_dict()


def _webhook(job: TrainingJob, event: str, data: dict) -> None:
    from studio.webhooks.services import webhook_emit

    webhook_emit(organization=job.organization, event=event,
                 data={"job_id": str(job.public_id), "name": job.name, "kind": job.kind,
                       "persona_id": str(job.persona.public_id) if job.persona_id else None, **data})


def job_fail_abandoned(job: TrainingJob, error: str) -> None:
    """The reaper's ending for a job whose worker died (inside its transaction): the stage it was in is named."""
    stage = job.status
    StageRun.objects.filter(job=job, status=StageRun.Status.RUNNING).update(
        status=StageRun.Status.FAILED, error=error, finished_at=timezone.now())
    outcome = _outcome_at_end(job, JobStatus.FAILED, stage)
    data = {"status": "failed", "stage": stage, "error": error, "kill": None, "cost_usd": float(job.cost_usd), "outcome": outcome}
    emit(job, "job.failed", data, status=JobStatus.FAILED, error=error, finished_at=timezone.now(),
         outcome=outcome["outcome"], outcome_detail=outcome)
    _webhook(job, "training_job.failed", data)


def job_requeue(job: TrainingJob) -> None:
    """Queue a job whose worker died again (the reaper holds its row lock): a worker goes on from its last completed stage."""
    stage = job.status
    StageRun.objects.filter(job=job, status=StageRun.Status.RUNNING).update(
        status=StageRun.Status.PENDING, error=f"the worker stopped during this stage (attempt {job.attempt}); it runs again")
    emit(job, "job.requeued", {"stage": stage, "attempt": job.attempt + 1,
                               "reason": f"the worker stopped during {stage}; resuming from {stage}"},
         status=JobStatus.QUEUED, claimed_by="", heartbeat_at=timezone.now())
    job_enqueue(job)
