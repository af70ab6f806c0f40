"""Executing an eval run: every case answered in persona for each epoch, checked, and the ship gate decided.

The run is work on the engine (studio.work): a worker claims it, a heartbeat keeps it alive while it runs,
and the reaper queues it again when its worker dies (it carries on from its saved trials) or, after
WORK_MAX_ATTEMPTS claims, fails it saying how far it got.

Trials go in batches: the batch's answers through the gateway at once (bounded by AUDIT_CONCURRENCY),
then the judge calls for its judge-checked trials, then the trials are saved, the progress updated and
announced to the org ("eval.progress"). Any exception ends the run as failed with a readable error: none
stays running. A run whose every trial errored ends failed, saying how many; some errored trials are
counted on a completed run (`errored`) and in its layers.
"""

import logging
from decimal import Decimal

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from audits.evals import stats
from audits.evals.checks import check_locally, fill, parse_check, persona_facts
from audits.evals.conversation import DEFAULT_REPEATS, DEFAULT_TURNS, assertion, is_long_conversation
from audits.evals.judge import judge_messages, parse_verdict
from audits.evals.models import EvalRun, EvalTrial
from audits.evals.simulation import ConversationFailed, case_threshold, converse
from audits.models import Fingerprint
from personas.prompting import persona_system_prompt
from studio.config.selectors import effective_tree
from studio.llm.gateway import LLMError, StepConfig, abatch
from studio.realtime import send_event
from studio.work.lifecycle import Heartbeat, TakenOver, claim
from studio.work.queue import enqueue

logger = logging.getLogger(__name__)


class Trial:
    """One (case, epoch) of a run, filled in as the batch goes."""

    def __init__(self, case: dict, epoch: int):
        self.case, self.epoch = case, epoch
        self.check = parse_check(case["check"])
        self.verdict, self.reason, self.reply, self.cost = "", "", "", 0.0

    def done(self, verdict: str, reason: str) -> None:
        self.verdict, self.reason = verdict, reason[:2000]

    def row(self, run: EvalRun) -> EvalTrial:
        return EvalTrial(run=run, case_key=self.case["key"], layer=self.case["layer"], epoch=self.epoch, verdict=self.verdict,
                         reason=self.reason, reply=self.reply, cost_usd=Decimal(str(round(self.cost, 6))))


def eval_run_claim(run_id: int) -> EvalRun | None:
    """Take a queued run, or a running one whose worker died (it goes on from its saved trials); None otherwise."""
    return claim(EvalRun.objects.select_related("organization", "persona", "version"), run_id, running_status=EvalRun.Status.RUNNING)


def eval_run_execute(run_id: int) -> None:
    """Claim the run and take it to its end; nothing to do when it ended, is gone, or a live worker holds it."""
    run = eval_run_claim(run_id)
    if run is None:
        return
    try:
        with Heartbeat(run):
            _execute(run)
    except TakenOver as exc:  # the reaper or another worker took this run while we were slow: its outcome stands
        logger.warning("%s", exc)
    except Exception as exc:  # noqa: BLE001 — whatever went wrong, the run must end, saying what
        logger.exception("eval run %s failed", run.public_id)
        with transaction.atomic():
            locked = EvalRun.objects.select_for_update().get(pk=run.pk)
            if locked.claimed_by == run.claimed_by and not locked.is_finished:
                eval_run_fail(locked, _readable(exc))


def eval_run_fail(run: EvalRun, error: str) -> None:
    """End a run as failed with `error` and tell the org's pages (the worker's ending, or the reaper's)."""
    run.status, run.error, run.finished_at = EvalRun.Status.FAILED, error[:4000], timezone.now()
    run.save(update_fields=["status", "error", "finished_at"])
    _announce(run)


def eval_run_requeue(run: EvalRun) -> None:
    """Queue a run whose worker died again (the reaper holds its row lock): a worker goes on from its saved trials."""
    run.status, run.claimed_by, run.heartbeat_at = EvalRun.Status.QUEUED, "", timezone.now()
    run.save(update_fields=["status", "claimed_by", "heartbeat_at"])
    _announce(run)
    transaction.on_commit(lambda: enqueue("audits.evals.tasks.execute_eval_run", run.pk))


def _readable(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"the eval run stopped: {text}"[:4000]


def _mine(run: EvalRun):
    """The run while this worker still holds it: an update through it that changes no row means it was taken over."""
    return EvalRun.objects.filter(pk=run.pk, claimed_by=run.claimed_by, status__in=EvalRun.RUNNING)


def _execute(run: EvalRun) -> None:
    layers = run.version.layers
    context = {
        "system": persona_system_prompt(layers), "facts": persona_facts(layers),
        "persona": {"name": (layers.get("surface") or {}).get("name"), "tone": (layers.get("mask") or {}).get("tone"),
                    "signature_phrases": (layers.get("mask") or {}).get("signature_phrases") or []},
        "answer": StepConfig.from_step(run.config["answer"], timeout_s=settings.LLM_TIMEOUT_S),
        "judge": StepConfig.from_step(run.config["judge"], json_mode=True, timeout_s=settings.LLM_TIMEOUT_S),
    }
    done = set(run.trials.values_list("case_key", "epoch"))
    _resume_progress(run, done)
    pending = [Trial(case, epoch) for case in run.suite if not is_long_conversation(case)
               for epoch in range(1, run.epochs + 1) if (case["key"], epoch) not in done]
    conversations = [(case, repeat) for case in run.suite if is_long_conversation(case)
                     for repeat in range(1, case["check"].get("repeats", DEFAULT_REPEATS) + 1) if (case["key"], repeat) not in done]
    size = max(1, settings.AUDIT_CONCURRENCY) * 2
    for start in range(0, len(pending), size):
        batch = pending[start : start + size]
        async_to_sync(_grade)(batch, context, run.organization)
        with transaction.atomic():  # the trials and the progress they make, or neither (a resume starts after the last batch)
            if not _mine(run).update(
                progress_done=F("progress_done") + len(batch), errored=F("errored") + sum(t.verdict == "error" for t in batch),
                cost_usd=F("cost_usd") + Decimal(str(round(sum(t.cost for t in batch), 6))), heartbeat_at=timezone.now(),
            ):
                raise TakenOver(f"eval run {run.public_id} was taken over or ended elsewhere")
            EvalTrial.objects.bulk_create([trial.row(run) for trial in batch])
        run.refresh_from_db(fields=["progress_done", "errored", "cost_usd"])
        _announce(run)
    for case, repeat in conversations:
        _converse(run, case, repeat)
    _finish(run)


def _resume_progress(run: EvalRun, done: set) -> None:
    """Progress as the saved trials make it: a resumed run loses the turns of a repeat that was cut off mid-way."""
    units = {case["key"]: case["check"].get("turns", DEFAULT_TURNS) for case in run.suite if is_long_conversation(case)}
    made = sum(units.get(key, 1) for key, _ in done)
    if made != run.progress_done:
        _mine(run).update(progress_done=made)
        run.progress_done = made


def _converse(run: EvalRun, case: dict, repeat: int) -> None:
    """One repeat of a long-conversation case, its progress announced turn by turn; saved as a trial: pass/fail by
    the case's assertion, or error (no fingerprint, no reply) with the reason."""
    check = parse_check(case["check"])
    threshold, before = case_threshold(run, check), check.last_checked()
    counted = 0

    def on_turn() -> None:
        nonlocal counted
        if not _mine(run).update(progress_done=F("progress_done") + 1, heartbeat_at=timezone.now()):
            raise TakenOver(f"eval run {run.public_id} was taken over or ended elsewhere")
        counted += 1
        run.refresh_from_db(fields=["progress_done"])
        _announce(run)

    trial = EvalTrial(run=run, case_key=case["key"], layer=case["layer"], epoch=repeat)
    try:
        result = converse(run, case, check, repeat, on_turn=on_turn)
    except ConversationFailed as exc:
        trial.verdict, trial.reason = EvalTrial.Verdict.ERROR, str(exc)[:2000]
    else:
        passed, trial.reason = assertion(result.drift, threshold=threshold, before_turn=before)
        trial.verdict = EvalTrial.Verdict.PASS if passed else EvalTrial.Verdict.FAIL
        trial.curve, trial.reply = result.curve(threshold, before), result.transcript[-1]["reply"]
        trial.cost_usd = Decimal(str(round(result.cost, 6)))
    with transaction.atomic():
        if not _mine(run).update(progress_done=F("progress_done") + check.turns - counted, heartbeat_at=timezone.now(),
                                 errored=F("errored") + int(trial.verdict == EvalTrial.Verdict.ERROR),  # PostgreSQL adds no boolean
                                 cost_usd=F("cost_usd") + trial.cost_usd):
            raise TakenOver(f"eval run {run.public_id} was taken over or ended elsewhere")
        trial.save()
    run.refresh_from_db(fields=["progress_done", "errored", "cost_usd"])
    _announce(run)


def _conversation(case: dict, facts: dict) -> list[dict]:
    return [{"role": turn["role"], "content": fill(turn["content"], facts)} for turn in case["turns"]]


async def _grade(batch: list[Trial], context: dict, organization) -> None:
    """Answer each trial's case in persona, then check the replies (judge calls batched too)."""
    concurrency = settings.AUDIT_CONCURRENCY
    system = {"role": "system", "content": context["system"]}
    answers = await abatch([([system, *_conversation(t.case, context["facts"])], context["answer"]) for t in batch],
                           organization=organization, concurrency=concurrency)
    to_judge = []
    for trial, answer in zip(batch, answers):
        if isinstance(answer, LLMError):
            trial.done("error", f"no reply from the persona's model: {answer}")
            continue
        trial.reply, trial.cost = answer.text, answer.cost_usd
        local = check_locally(trial.check, answer.text, context["facts"])
        if local is None:
            to_judge.append(trial)
        else:
            trial.done("pass" if local[0] else "fail", local[1])
    requests = [
        (judge_messages(persona=context["persona"], rubric=fill(t.check.rubric, context["facts"]),
                        turns=_conversation(t.case, context["facts"]), reply=t.reply), context["judge"])
        for t in to_judge
    ]
    verdicts = await abatch(requests, organization=organization, parse=parse_verdict, concurrency=concurrency)
    for trial, verdict in zip(to_judge, verdicts):
        if isinstance(verdict, LLMError):
            trial.done("error", f"the judge gave no valid verdict: {verdict}")
            continue
        trial.cost += verdict.cost_usd
        trial.done(verdict.parsed.verdict, verdict.parsed.reason)


def _finish(run: EvalRun) -> None:
    """The gate from the trials; a run none of whose trials could be graded ends failed, saying how many errored."""
    outcomes = run.case_outcomes()
    run.results, run.gate_state, run.gate_reasons = stats.run_gate(outcomes, epochs=run.epochs)
    threshold = float(effective_tree(run.organization, run.persona.workspace)["engine.pipeline.distinctiveness.min_score"])
    if threshold > 0:
        fingerprint = Fingerprint.objects.latest_for(run.persona)
        score = fingerprint.distinctiveness if fingerprint else None
        run.gate_state, run.gate_reasons = stats.distinctiveness_gate(run.gate_state, run.gate_reasons, score, threshold)
    run.gate_passed = run.gate_state == stats.PASS
    errors = run.trials.filter(verdict=EvalTrial.Verdict.ERROR)
    run.errored = errors.count()
    if run.errored and run.errored == run.trials.count():
        run.status = EvalRun.Status.FAILED
        first = errors.order_by("layer", "case_key", "epoch").values_list("reason", flat=True).first()
        run.error = f"all {run.errored} trials errored, so nothing was graded (the first: {first})"[:4000]
    else:
        run.status = EvalRun.Status.COMPLETED
    run.finished_at = timezone.now()
    fields = ["results", "gate_state", "gate_passed", "gate_reasons", "errored", "status", "error", "finished_at"]
    with transaction.atomic():
        if not _mine(run).update(**{name: getattr(run, name) for name in fields}):
            raise TakenOver(f"eval run {run.public_id} was taken over or ended elsewhere")
        _announce(run)
    if run.status == EvalRun.Status.COMPLETED:
        _emit_completed_webhook(run)


def progress_payload(run: EvalRun) -> dict:
    return {
        "run_id": str(run.public_id), "persona_id": str(run.persona.public_id), "status": run.status,
        "done": run.progress_done, "total": run.progress_total, "pct": run.progress_pct, "gate_passed": run.gate_passed,
        "gate_state": run.gate_state or None, "errored": run.errored,
        "error": run.error,
        "latest_url": reverse("persona_evals_latest", args=[run.organization.slug, run.persona.public_id]),
    }


def _announce(run: EvalRun) -> None:
    send_event(run.organization.channel_group, "eval.progress", {"eval_status": progress_payload(run)})


def _emit_completed_webhook(run: EvalRun) -> None:
    """eval.completed to the org's webhooks; a webhook failure never fails the run."""
    try:
        from studio.webhooks.services import webhook_emit
    except (ImportError, AttributeError):
        return  # webhooks not installed in this build
    data = {
        "run_id": str(run.public_id), "persona_id": str(run.persona.public_id), "version": run.version.number,
        "gate_passed": run.gate_passed, "gate_state": run.gate_state, "gate_reasons": run.gate_reasons, "epochs": run.epochs,
        "layers": {layer: {k: r[k] for k in ("rate", "interval", "threshold", "tolerance", "state", "cases_needed", "pass_k", "met")}
                   for layer, r in run.results.items()},
        "cost_usd": float(run.cost_usd), "errored": run.errored,
    }
    try:
        webhook_emit(organization=run.organization, event="eval.completed", data=data)
    except Exception:
        logger.exception("could not queue the eval.completed webhook for eval run %s", run.public_id)
