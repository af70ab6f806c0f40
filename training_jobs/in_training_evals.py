"""Checkpoint evaluations while a stage trains: sample the checkpoint, judge it against base, decide on a plateau.

The numbers and the plateau rule are training_jobs.checkpoint_evals (pure); this module does the work inside a
running stage (training_jobs.engine.JobContext): the held-out prompts, the replies (the backend samples the saved
checkpoint and, once per stage, the base model), the judge's two orders per pair through the gateway (cost charged
to the stage), and the record on the stage (`stats["checkpoint_evals"]`) with a `train.checkpoint_eval` event, which
redraws the live job page.
"""

from __future__ import annotations

import time

from studio.llm.gateway import LLMError
from studio.work.events import emit
from training_jobs import checkpoint_evals
from training_jobs.backends.base import SAMPLE_BATCH
from training_jobs.constitution import has_marker
from training_jobs.data import EVAL_VARIATIONS, eval_prompts, questions
from training_jobs.evaluation import CHECKPOINT_REPETITION_PENALTY, EVAL_MAX_NEW_TOKENS, EVAL_PROMPTS

HOLDOUT_SEED_OFFSET = 7_919  # the held-out draw differs from the final evaluation's


def holdout_prompts(constitution, k: int, *, seed: int, training_prompts: set[str]) -> tuple[list[str], bool]:
    """(prompts, overlaps_final): `k` of the job's evaluation prompts that no training row asks, preferring those the
    final evaluation does not ask either (choosing a checkpoint on its own test prompts would flatter it);
    `overlaps_final` says the constitution had too few questions to keep them apart."""
    every = len(questions(constitution)) * len(EVAL_VARIATIONS)
    final = set(eval_prompts(constitution, EVAL_PROMPTS, seed=seed))
    pool = [p for p in eval_prompts(constitution, every, seed=seed + HOLDOUT_SEED_OFFSET) if p not in training_prompts]
    chosen = [p for p in pool if p not in final][:k]
    overlaps = len(chosen) < k
    if overlaps:
        chosen += [p for p in pool if p in final][:k - len(chosen)]
    return chosen, overlaps and bool(chosen)


class CheckpointEvaluator:
    """The `on_checkpoint` callback of one training stage: scores each saved checkpoint, sets `stop` on a plateau."""

    def __init__(self, ctx, *, training_prompts: list[str], base_dir: str | None = None):
        p = ctx.params
        self.ctx = ctx
        self.every = p.eval_every_steps
        self.base_dir = base_dir  # None: the model the checkpoint's adapter sits on (DPO); SFT passes the untrained student
        self.prompts, overlaps = holdout_prompts(ctx.constitution, p.eval_holdout_prompts, seed=p.seed,
                                                 training_prompts=set(training_prompts))
        self.plateau = checkpoint_evals.Plateau(p.early_stop_metric, p.early_stop_patience, p.early_stop_min_delta)
        self.stop: dict | None = None
        self._base_texts: list[str] | None = None
        self.checkpoints: dict[int, dict] = {}  # step → {adapter_dir, base_dir}
        ctx.stage.stats["checkpoint_evals"] = []
        ctx.stage.stats["checkpoint_eval_setup"] = {
            "every": self.every, "prompts": self.prompts, "overlaps_final_eval": overlaps, "metric": p.early_stop_metric,
            "patience": p.early_stop_patience, "min_delta": p.early_stop_min_delta,
            "judge_model": self._judge_config().model,
        }

    def __call__(self, step: int, checkpoint: dict) -> None:
        if self.stop is not None or not self.prompts:
            return
        ctx = self.ctx
        ctx.check_cancel()
        self.checkpoints[step] = checkpoint
        base_dir = self.base_dir or checkpoint["base_dir"]
        started = time.monotonic()
        if self._base_texts is None:
            self._base_texts = self._replies(None, base_dir)
        tuned = self._replies(checkpoint["adapter_dir"], checkpoint["base_dir"])
        sampled = time.monotonic()
        winners = self._judge(self._base_texts, tuned)
        entry = checkpoint_evals.score(step, markers=[has_marker(t, ctx.markers) for t in tuned] if ctx.markers else None,
                                       winners=winners)
        entry["adapter"] = ctx.rel_any(checkpoint["adapter_dir"])
        entry["seconds"] = {"sampling": round(sampled - started, 3), "judging": round(time.monotonic() - sampled, 3)}
        entry["base_marker_rate"] = (checkpoint_evals.rate(sum(has_marker(t, ctx.markers) for t in self._base_texts),
                                                           len(self._base_texts)) if ctx.markers else None)
        ctx.stage.stats["checkpoint_evals"].append(entry)
        if self.plateau.metric == "win_rate" and winners and winners.count(None) == len(winners):
            entry["not_counted"] = "the judge gave no verdict (its calls failed): not evidence of a plateau"
        elif self.plateau.add(step, checkpoint_evals.metric_value(entry, self.plateau.metric)):
            self.stop = self.plateau.stop_record(stage=ctx.stage.stage, step=step)
            ctx.stage.stats["early_stop"] = self.stop
        emit(ctx.job, "train.checkpoint_eval", {"stage": ctx.stage.stage, "step": step, "eval": entry, "early_stop": self.stop})
        ctx.progress(ctx.stage.done, force=True)

    @property
    def best(self) -> dict | None:
        """{adapter_dir, base_dir} of the checkpoint the plateau rule judged best, when training stopped on a plateau."""
        if self.stop is None or self.stop["best_step"] is None:
            return None
        return self.checkpoints.get(self.stop["best_step"])

    def _replies(self, adapter_dir: str | None, base_dir: str) -> list[str]:
        p = self.ctx.params
        texts = self.ctx.backend().sample(
            list(self.prompts), {"student": base_dir, "seed": p.seed}, adapter_dir=adapter_dir, base_dir=base_dir,
            max_new_tokens=min(p.max_new_tokens, EVAL_MAX_NEW_TOKENS), temperature=p.temperature, top_p=p.top_p,
            batch_size=SAMPLE_BATCH, repetition_penalty=CHECKPOINT_REPETITION_PENALTY)
        return [t.replace("\x00", "").strip() or "…" for t in texts]

    def _judge_config(self):
        from training_jobs.evaluation import judge_config

        return judge_config(self.ctx)

    def _judge(self, base: list[str], tuned: list[str]) -> list[str | None]:
        """Per prompt: "tuned" | "base" | "tie" (the orders disagreed, or both said tie) | None (no verdict)."""
        from asgiref.sync import async_to_sync

        from audits.reviews.judge import combine, judge_messages, parse_verdict
        from studio.llm import gateway

        ctx, config = self.ctx, self._judge_config()
        requests = []
        for prompt, b, t in zip(self.prompts, base, tuned):
            requests.append((judge_messages(persona_system=ctx.system, prompt=prompt, first=b, second=t), config))
            requests.append((judge_messages(persona_system=ctx.system, prompt=prompt, first=t, second=b), config))
        results = async_to_sync(gateway.abatch)(requests, organization=ctx.organization, parse=parse_verdict,
                                                concurrency=ctx.params.concurrency, budget=ctx.budget())
        ctx.charge(results)
        winners: list[str | None] = []
        for i in range(len(base)):
            forward, backward = results[2 * i], results[2 * i + 1]
            if isinstance(forward, LLMError) or isinstance(backward, LLMError):
                winners.append(None)
                continue
            # forward shows base first: the comparison's "a" is base, "b" the checkpoint
            winners.append({"a": "base", "b": "tuned", "tie": "tie"}[combine(forward.parsed.winner, backward.parsed.winner)])
        return winners
