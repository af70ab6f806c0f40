"""Executing an eval run: every case answered in persona for each epoch, checked, and the ship gate decided.

Trials go in batches: the batch's answers through the gateway at once (bounded by AUDIT_CONCURRENCY),
then the judge calls for its judge-checked trials, then the trials are saved, the progress updated and
announced to the org ("eval.progress"). A run that already has trials (a redelivered task) carries on
from them. Any exception ends the run as failed with a readable error: none stays running.
"""

import logging
from decimal import Decimal

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from audits.evals import stats
from audits.evals.checks import check_locally, fill, parse_check, persona_facts
from audits.evals.judge import judge_messages, parse_verdict
from audits.evals.models import EvalRun, EvalTrial
from personas.prompting import persona_system_prompt
from studio.llm.gateway import LLMError, StepConfig, abatch
from studio.realtime import send_event

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


def eval_run_execute(run_id: int) -> None:
    run = EvalRun.objects.select_related("organization", "persona", "version").get(pk=run_id)
    if run.is_finished:
        return
    try:
        _execute(run)
    except Exception as exc:  # noqa: BLE001 — whatever went wrong, the run must end, saying what
        logger.exception("eval run %s failed", run.public_id)
        run.status, run.error, run.finished_at = EvalRun.Status.FAILED, _readable(exc), timezone.now()
        run.save(update_fields=["status", "error", "finished_at", "updated_at"])
        _announce(run)


def _readable(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"the eval run stopped: {text}"[:4000]


def _execute(run: EvalRun) -> None:
    run.status = EvalRun.Status.RUNNING
    run.save(update_fields=["status", "updated_at"])
    layers = run.version.layers
    context = {
        "system": persona_system_prompt(layers), "facts": persona_facts(layers),
        "persona": {"name": (layers.get("surface") or {}).get("name"), "tone": (layers.get("mask") or {}).get("tone"),
                    "signature_phrases": (layers.get("mask") or {}).get("signature_phrases") or []},
        "answer": StepConfig.from_step(run.config["answer"], timeout_s=settings.LLM_TIMEOUT_S),
        "judge": StepConfig.from_step(run.config["judge"], json_mode=True, timeout_s=settings.LLM_TIMEOUT_S),
    }
    done = set(run.trials.values_list("case_key", "epoch"))
    pending = [Trial(case, epoch) for case in run.suite for epoch in range(1, run.epochs + 1) if (case["key"], epoch) not in done]
    size = max(1, settings.AUDIT_CONCURRENCY) * 2
    for start in range(0, len(pending), size):
        batch = pending[start : start + size]
        async_to_sync(_grade)(batch, context, run.organization)
        EvalTrial.objects.bulk_create([trial.row(run) for trial in batch])
        EvalRun.objects.filter(pk=run.pk).update(
            progress_done=F("progress_done") + len(batch), cost_usd=F("cost_usd") + Decimal(str(round(sum(t.cost for t in batch), 6))),
            updated_at=timezone.now(),
        )
        run.refresh_from_db(fields=["progress_done", "cost_usd", "updated_at"])
        _announce(run)
    _finish(run)


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
    outcomes = run.case_outcomes()
    run.results, run.gate_state, run.gate_reasons = stats.run_gate(outcomes, epochs=run.epochs)
    run.gate_passed = run.gate_state == stats.PASS
    run.status, run.finished_at = EvalRun.Status.COMPLETED, timezone.now()
    run.save(update_fields=["results", "gate_state", "gate_passed", "gate_reasons", "status", "finished_at", "updated_at"])
    _announce(run)
    _emit_completed_webhook(run)


def progress_payload(run: EvalRun) -> dict:
    return {
        "run_id": str(run.public_id), "persona_id": str(run.persona.public_id), "status": run.status,
        "done": run.progress_done, "total": run.progress_total, "pct": run.progress_pct, "gate_passed": run.gate_passed,
        "gate_state": run.gate_state or None,
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
        "cost_usd": float(run.cost_usd),
    }
    try:
        webhook_emit(organization=run.organization, event="eval.completed", data=data)
    except Exception:
        logger.exception("could not queue the eval.completed webhook for eval run %s", run.public_id)
