"""The stages of a character job: DPO data from a teacher with the persona's constitution, DPO training,
introspection (reflections and self-interactions) and SFT, with a smoke test first and the evaluation last.

    smoke → dpo_data → dpo_train → introspection → sft → eval

They run in training_jobs.engine (JobContext: progress, events, cost, cancel, kill criteria); the kind
(training_jobs.kinds.character) lists them.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from django.conf import settings

from studio.llm.gateway import Completion, LLMError
from training_jobs import checkpoint_evals, data
from training_jobs.backends import can_sample
from training_jobs.backends.base import SAMPLE_BATCH
from training_jobs.backends.trl_backend import TINY_IDS
from training_jobs.constitution import has_marker
from training_jobs.engine import (
    JobContext,
    JobKilled,
    StageFailed,
    adapter_of,
    artifact,
    cuda_available,
    device_batch,
    read_jsonl,
    resolve_checkpoint,
    write_jsonl,
)
from training_jobs.evaluation import CHECKPOINT_REPETITION_PENALTY, evaluate
from training_jobs.filters import FilterStats
from training_jobs.kill import KillCriteria
from training_jobs.presets import smoke_plan

PREVIEW_ROWS = 20


def train_config(ctx: JobContext, out: Path, *, kind: str, max_steps: int = -1, student: str | None = None,
                 init_adapter: str | None = None) -> dict:
    """The backend's config for a DPO or SFT run of a character job."""
    p = ctx.params
    per_device, accumulate = device_batch(p.batch_size)
    return {
        "output_dir": str(out), "student": student or resolve_checkpoint(p.student_checkpoint),
        "allow_hub": settings.TRAINING_ALLOW_HUB, "bf16": cuda_available(),
        "init_adapter": init_adapter, "max_steps": max_steps, "epochs": p.epochs, "learning_rate": p.learning_rate,
        "batch_size": per_device, "grad_accum": accumulate, "max_length": p.max_length if kind == "dpo" else p.sft_max_length, "seed": p.seed,
        "beta": p.dpo_beta, "nll_coef": p.nll_coef, "lora_r": p.lora_rank, "lora_alpha": p.lora_alpha,
        "lora_layers": p.lora_layers, "torch_threads": settings.TRAINING_TORCH_THREADS or None,
    }


def _calls_failed(results) -> StageFailed | None:
    errors = [r for r in results if isinstance(r, LLMError)]
    if results and len(errors) == len(results):
        return StageFailed(f"every LLM call failed; the first: {errors[0].summary()[:300]}")
    return None


def generate_dpo_pairs(ctx: JobContext, n: int, out: Path) -> dict:
    """Teacher with the constitution → chosen; student without → rejected. Writes pairs.jsonl and preview.json."""
    p, constitution = ctx.params, ctx.constitution
    asks = data.dpo_prompts(constitution, n, seed=p.seed)
    requests = []
    for i, ask in enumerate(asks):
        seed = p.seed * 100_003 + i
        requests.append(([{"role": "system", "content": ctx.system}, {"role": "user", "content": ask["prompt"]}],
                         ctx.call_config(p.teacher_model, seed)))
        requests.append(([{"role": "user", "content": ask["prompt"]}], ctx.call_config(p.student_model, seed)))
    stats, rows, chosen_texts = FilterStats(), [], []
    version = ctx.job.constitution.number

    def keep_pairs(offset: int, part: list) -> None:
        for j in range(0, len(part), 2):
            ask, chosen, rejected = asks[(offset + j) // 2], part[j], part[j + 1]
            if isinstance(chosen, LLMError) or isinstance(rejected, LLMError):
                continue  # not a sample: the call failed (all failing ends the stage below)
            checked = ctx.filter(data.strip_think(chosen.text), stats)
            rejected_text = data.strip_think(rejected.text)
            if not checked.kept or not rejected_text:
                continue
            chosen_texts.append(checked.text)
            rows.append({"prompt": ask["prompt"], "chosen": checked.text, "rejected": rejected_text,
                         "teacher_model": chosen.model, "student_model": rejected.model, "constitution_version": version})
        if failure := _calls_failed(part):
            raise failure
        ctx.gate(stats, "dpo_data")

    ctx.batch(requests, keep_pairs, step=2)
    ctx.gate(stats, "dpo_data", final=True)
    if not rows:
        raise StageFailed("no DPO pair survived the quality filters")
    marker_share = sum(1 for t in chosen_texts if has_marker(t, ctx.markers)) / len(chosen_texts)
    if kill := KillCriteria().check_data(marker_share) if ctx.markers else None:
        raise JobKilled(kill)
    pairs = out / "pairs.jsonl"
    write_jsonl(pairs, rows)
    preview = out / "preview.json"
    preview.write_text(json.dumps(rows[:PREVIEW_ROWS], ensure_ascii=False, indent=1))
    return {"pairs": pairs, "preview": preview, "count": len(rows), "marker_share": round(marker_share, 4)}


def _introspection_generator(ctx: JobContext, adapter: dict | None) -> dict:
    """Who writes reflections and interactions: the post-DPO checkpoint when it can be sampled, else the teacher."""
    if adapter and ctx.params.student_checkpoint not in TINY_IDS and can_sample(ctx.backend()):
        return {"by": "checkpoint", "model": adapter["adapter_dir"], "base_dir": adapter["base_dir"],
                "why": "the backend samples the post-DPO checkpoint"}
    why = ("the built-in tiny checkpoint cannot write usable text" if ctx.params.student_checkpoint in TINY_IDS
           else "no post-DPO checkpoint to sample" if not adapter else "the backend cannot sample its checkpoint")
    return {"by": "teacher", "model": ctx.params.teacher_model, "why": f"teacher with the constitution ({why})"}


CHECKPOINT_BATCH = SAMPLE_BATCH  # conversations the checkpoint writes at once (one left-padded generate)
# Introspection asks for long-form writing (a letter, a diary entry, a conversation). A small checkpoint after DPO on
# a terse teacher learns to stop early: SmolLM2 wrote "Tiago here. Good" to "Write a long diary entry…", and 10 of 20
# reflections fell under the length filter, so the data-quality gate killed a default Quick iteration job. The
# end-of-text token is held back for the first half of the token budget (introspection only; the evaluation samples
# base and tuned as they are).
INTROSPECTION_MIN_SHARE = 0.5


def _complete_all(ctx: JobContext, generator: dict, requests: list, on_chunk=None) -> list:
    """Through the gateway (teacher), or sampled from the checkpoint in batches (wrapped as Completions); see JobContext.batch.

    A batch shares its sampling knobs (max tokens, temperature: one config per stage) and its seed, which
    differs from batch to batch, so two batches of the same prompts write different texts.
    """
    if generator["by"] == "teacher":
        return ctx.batch(requests, on_chunk)
    backend = ctx.backend()
    results: list = []
    for start in range(0, len(requests), CHECKPOINT_BATCH):
        ctx.check_cancel()
        chunk = requests[start:start + CHECKPOINT_BATCH]
        config = chunk[0][1]
        conversations = [[{"role": m["role"], "content": m["content"]} for m in messages] for messages, _ in chunk]
        started = time.perf_counter()
        texts = backend.sample(conversations, {"student": generator["base_dir"], "seed": (config.seed or 0) + start},
                               adapter_dir=generator["model"], base_dir=generator["base_dir"],
                               max_new_tokens=config.max_tokens, temperature=config.temperature, top_p=ctx.params.top_p,
                               batch_size=CHECKPOINT_BATCH, repetition_penalty=CHECKPOINT_REPETITION_PENALTY,
                               min_new_tokens=int(config.max_tokens * INTROSPECTION_MIN_SHARE))
        latency = (time.perf_counter() - started) * 1000 / max(len(chunk), 1)
        part = [Completion(text=text.replace("\x00", ""), model="checkpoint:dpo", prompt_tokens=0, completion_tokens=0,
                           cost_usd=0.0, latency_ms=latency) for text in texts]
        if on_chunk is not None:
            on_chunk(len(results), part)
        results += part
        ctx.advance(len(part))
    return results


def generate_introspection(ctx: JobContext, reflections: int, interactions: int, turns: int, out: Path, adapter: dict | None) -> dict:
    """Reflections (traces kept unless stripped) and self-interactions (traces stripped unless kept) → SFT examples."""
    p, constitution = ctx.params, ctx.constitution
    generator = _introspection_generator(ctx, adapter)
    model = generator["model"]
    stats_r, stats_i = FilterStats(), FilterStats()

    # reflections
    r_system = data.reflection_system(constitution)
    asks = data.reflection_asks(reflections)
    requests = [([{"role": "system", "content": r_system}, {"role": "user", "content": a["prompt"]}],
                 ctx.call_config(model if generator["by"] == "teacher" else p.teacher_model, p.seed * 7919 + i))
                for i, a in enumerate(asks)]
    reflection_rows = []

    def keep_reflections(offset: int, part: list) -> None:
        for ask, result in zip(asks[offset:offset + len(part)], part):
            if isinstance(result, LLMError):
                continue
            answer = data.strip_think(result.text)
            if not ctx.filter(answer, stats_r).kept:
                continue
            stored = answer if p.strip_reflection_traces else result.text.strip()
            reflection_rows.append({"prompt": ask["prompt"], "response": stored, "has_trace": data.has_think(stored),
                                    "model": result.model})
        if failure := _calls_failed(part):
            raise failure
        ctx.gate(stats_r, "reflections")

    _complete_all(ctx, generator, requests, keep_reflections)
    ctx.gate(stats_r, "reflections", final=True)

    # self-interactions: all conversations advance one turn per batch. Each copy is asked to think first (as
    # with reflections); the other copy sees only what was said, and the stored turns keep the traces only
    # when asked to, with the system prompt that asked for them.
    i_system = data.interaction_system(constitution)
    stored_system = f"{i_system}\n\n{data.THINK_INSTRUCTION}" if p.keep_interaction_traces else i_system
    said = [[data.interaction_opener(constitution, k)] for k in range(interactions)]
    stored = [list(turns_k) for turns_k in said]
    alive = list(range(interactions))
    for turn in range(turns - 1):
        requests = [(data.speaker_messages(f"{i_system}\n\n{data.THINK_INSTRUCTION}", said[k]),
                     ctx.call_config(model if generator["by"] == "teacher" else p.teacher_model, p.seed * 104_729 + k * 131 + turn))
                    for k in alive]
        results = _complete_all(ctx, generator, requests)
        if failure := _calls_failed(results):
            raise failure
        still = []
        for k, result in zip(alive, results):
            if isinstance(result, LLMError):
                continue
            checked = ctx.filter(data.strip_think(result.text), stats_i, markers=False)
            if not checked.kept:
                continue  # the conversation ends at the last good turn
            said[k].append(checked.text)
            stored[k].append(result.text.strip() if p.keep_interaction_traces else checked.text)
            still.append(k)
        alive = still
        ctx.gate(stats_i, "interactions", final=turn == turns - 2)
    interaction_rows = [{"system": stored_system, "turns": turns_k, "has_trace": any(data.has_think(t) for t in turns_k)}
                        for turns_k in stored if len(turns_k) >= 2]

    examples = [{"messages": [{"role": "user", "content": r["prompt"]}, {"role": "assistant", "content": r["response"]}]}
                for r in reflection_rows]
    for row in interaction_rows:
        turns_k = row["turns"]
        # the copy who answered the opener is the assistant: user = opener, then alternate
        messages = [{"role": "system", "content": row["system"]}]
        messages += [{"role": "user" if j % 2 == 0 else "assistant", "content": t} for j, t in enumerate(turns_k)]
        if messages[-1]["role"] == "user":
            messages.pop()
        examples.append({"system": row["system"], "messages": messages})
    if not examples:
        raise StageFailed("no introspection example survived the quality filters")
    files = {"reflections": out / "reflections.jsonl", "interactions": out / "interactions.jsonl",
             "sft_examples": out / "sft_examples.jsonl"}
    write_jsonl(files["reflections"], reflection_rows)
    write_jsonl(files["interactions"], interaction_rows)
    write_jsonl(files["sft_examples"], examples)
    return {**files, "generator": generator, "counts": {"reflections": len(reflection_rows),
                                                        "interactions": len(interaction_rows), "sft_examples": len(examples)}}


# --- the stages ------------------------------------------------------------------------------


def _steps(rows: int, batch: int, epochs: int) -> int:
    return max(1, -(-rows // batch)) * epochs


def stage_dpo_data(ctx: JobContext) -> None:
    n = ctx.params.sizes["dpo_pairs"]
    ctx.set_total(2 * n, "calls")
    made = generate_dpo_pairs(ctx, n, ctx.folder("dpo_data"))
    ctx.stage.artifacts = {"pairs": ctx.rel(made["pairs"]), "preview": ctx.rel(made["preview"])}
    ctx.stage.stats.update(pairs=made["count"], marker_share=made["marker_share"])


def stage_dpo_train(ctx: JobContext, *, folder: str = "dpo_train", max_steps: int = -1, pairs_path: Path | None = None) -> dict:
    pairs = read_jsonl(pairs_path or ctx.job.artifacts_dir / artifact(ctx, "dpo_data", "pairs"))
    steps = max_steps if max_steps > 0 else _steps(len(pairs), ctx.params.batch_size, ctx.params.epochs)
    if ctx.stage.stage == "dpo_train":
        ctx.set_total(steps, "steps")
    out = ctx.folder(folder)
    checkpoints = _checkpoint_evaluator(ctx, [row["prompt"] for row in pairs])
    result = ctx.train("dpo", pairs, train_config(ctx, out, kind="dpo", max_steps=max_steps), checkpoints=checkpoints)
    artifacts = {"adapter": ctx.rel(Path(result["artifacts"]["adapter_dir"])), "base": ctx.rel(Path(result["artifacts"]["base_dir"]))
                 if Path(result["artifacts"]["base_dir"]).is_relative_to(ctx.job.artifacts_dir) else result["artifacts"]["base_dir"],
                 "metrics": ctx.rel(Path(result["artifacts"]["metrics"]))}
    _keep_best(ctx, checkpoints, artifacts, result["steps"])
    summary = {k: result[k] for k in ("steps", "max_steps", "final_metrics", "wall_s", "stopped_early")}
    if ctx.stage.stage == "dpo_train":
        ctx.stage.artifacts = artifacts
        ctx.stage.stats["dpo"] = summary
    return {"artifacts": artifacts, "result": result}


def _checkpoint_evaluator(ctx: JobContext, training_prompts: list[str], *, base_dir: str | None = None):
    """The stage's checkpoint evaluations when the job asks for them (full-scale DPO and SFT stages, not the smoke test).

    SFT trains on the DPO-merged model; its checkpoints are compared with the untrained student, which sits under
    the DPO adapter (`base_dir` of dpo_train)."""
    if not ctx.params.eval_every_steps or ctx.stage.stage not in checkpoint_evals.TRAINING_STAGES:
        return None
    from training_jobs.in_training_evals import CheckpointEvaluator

    return CheckpointEvaluator(ctx, training_prompts=training_prompts, base_dir=base_dir)


def _keep_best(ctx: JobContext, checkpoints, artifacts: dict, steps: int) -> None:
    """After an early stop the stage's adapter is the best checkpoint (the last one stays as `last_adapter`), and the
    stage's progress counts the steps it took (the plan stays in `planned_steps`, the chart's axis)."""
    if checkpoints is None or not checkpoints.stop:
        return
    ctx.stage.stats["planned_steps"] = ctx.stage.total
    ctx.stage.total = ctx.stage.done = steps
    if (best := checkpoints.best) is not None:
        artifacts["last_adapter"] = artifacts["adapter"]
        artifacts["adapter"] = ctx.rel(Path(best["adapter_dir"]))


def stage_introspection(ctx: JobContext) -> None:
    sizes = ctx.params.sizes
    ctx.set_total(sizes["reflections"] + sizes["interactions"] * (sizes["interaction_turns"] - 1), "calls")
    made = generate_introspection(ctx, sizes["reflections"], sizes["interactions"], sizes["interaction_turns"],
                                  ctx.folder("introspection"), adapter_of(ctx, "dpo_train"))
    ctx.stage.artifacts = {k: ctx.rel(made[k]) for k in ("reflections", "interactions", "sft_examples")}
    ctx.stage.stats.update(generator=made["generator"], counts=made["counts"])


def stage_sft(ctx: JobContext, *, folder: str = "sft", max_steps: int = -1, examples_path: Path | None = None,
              dpo: dict | None = None) -> dict:
    examples = read_jsonl(examples_path or ctx.job.artifacts_dir / artifact(ctx, "introspection", "sft_examples"))
    dpo = dpo or adapter_of(ctx, "dpo_train")
    if dpo is None:
        raise StageFailed("SFT starts from the DPO adapter, and dpo_train left none: resume from dpo_train")
    steps = max_steps if max_steps > 0 else _steps(len(examples), ctx.params.batch_size, ctx.params.epochs)
    if ctx.stage.stage == "sft":
        ctx.set_total(steps, "steps")
    out = ctx.folder(folder)
    asked = [m["content"] for e in examples for m in e.get("messages", ()) if m.get("role") == "user"]
    checkpoints = _checkpoint_evaluator(ctx, asked, base_dir=dpo["base_dir"])
    result = ctx.train("sft", examples, train_config(ctx, out, kind="sft", max_steps=max_steps, student=dpo["base_dir"],
                                                         init_adapter=dpo["adapter_dir"]), checkpoints=checkpoints)
    artifacts = {"adapter": ctx.rel(Path(result["artifacts"]["adapter_dir"])), "metrics": ctx.rel(Path(result["artifacts"]["metrics"])),
                 "base": ctx.rel(Path(result["artifacts"]["base_dir"]))}
    _keep_best(ctx, checkpoints, artifacts, result["steps"])
    if ctx.stage.stage == "sft":
        ctx.stage.artifacts = artifacts
        ctx.stage.stats["sft"] = {k: result[k] for k in ("steps", "max_steps", "final_metrics", "wall_s", "stopped_early")}
    return {"artifacts": artifacts, "result": result}


def stage_smoke(ctx: JobContext) -> None:
    """Each smoke size end to end in its own folder, at a few training steps; any kill aborts the job."""
    p = ctx.params
    plan = smoke_plan(p.smoke_test)
    total = 0
    for size in plan:
        total += 2 * size.dpo_pairs + size.approx_steps
        if p.generate_introspection:
            total += size.reflections + size.interactions * (size.interaction_turns - 1)
        if p.run_sft:
            total += size.approx_steps
    ctx.set_total(total, "calls+steps")
    report = {}
    for size in plan:
        root = ctx.folder("smoke", size.name)
        made = generate_dpo_pairs(ctx, size.dpo_pairs, root)
        dpo = stage_dpo_train(ctx, folder=f"smoke/{size.name}/dpo", max_steps=size.approx_steps, pairs_path=made["pairs"])
        ctx.stage.done += size.approx_steps
        entry = {"pairs": made["count"], "marker_share": made["marker_share"],
                 "dpo": {k: dpo["result"][k] for k in ("steps", "final_metrics", "wall_s")}}
        _check_smoke_health(dpo["result"], size.name)
        if p.generate_introspection:
            adapter = {"adapter_dir": str(ctx.job.artifacts_dir / dpo["artifacts"]["adapter"]),
                       "base_dir": str(ctx.job.artifacts_dir / dpo["artifacts"]["base"])}
            intro = generate_introspection(ctx, size.reflections, size.interactions, size.interaction_turns, root, adapter)
            entry["introspection"] = intro["counts"]
            if p.run_sft:
                sft = stage_sft(ctx, folder=f"smoke/{size.name}/sft", max_steps=size.approx_steps,
                                examples_path=intro["sft_examples"], dpo=adapter)
                ctx.stage.done += size.approx_steps
                entry["sft"] = {k: sft["result"][k] for k in ("steps", "final_metrics", "wall_s")}
        report[size.name] = entry
        ctx.stage.stats["smoke"] = report
        ctx.progress(ctx.stage.done, force=True)
    ctx.stage.artifacts = {"folder": "smoke"}


def _check_smoke_health(result: dict, size: str) -> None:
    """Unhealthy DPO signals at smoke scale: no step logged, or a preference loss that says it learned nothing."""
    if not result["history"]:
        raise JobKilled({"criterion": "smoke_test", "message": f"Killed by the {size} smoke test: training logged no step.",
                         "numbers": {"steps": result["steps"]}})
    loss = result["final_metrics"].get("loss")
    if loss is None or not math.isfinite(loss):
        raise JobKilled({"criterion": "non_finite_loss", "message": f"Killed by the {size} smoke test: final loss {loss}.",
                         "numbers": {"loss": loss}})


def stage_eval(ctx: JobContext) -> None:
    report = evaluate(ctx)
    ctx.stage.stats["eval"] = report["summary"]
    ctx.stage.artifacts = report["artifacts"]


STAGE_FUNCTIONS = {"smoke": stage_smoke, "dpo_data": stage_dpo_data, "dpo_train": stage_dpo_train,
                   "introspection": stage_introspection, "sft": stage_sft, "eval": stage_eval}
