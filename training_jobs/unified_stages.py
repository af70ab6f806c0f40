"""The stages of a unified job: compose the data mix, train the curriculum, evaluate the behavioral range.

They run in training_jobs.engine (JobContext: progress, events, cost, cancel, kill
criteria). Artifacts:

    compose/mix.jsonl           the training examples of the mix, in mix order: chat messages only
    compose/mix_meta.jsonl      row id, category and source of each example (analysis only: never trained on)
    compose/phase_<n>.jsonl     the examples of curriculum phase n
    curriculum/phase_<n>/       that phase's checkpoint of the one unified adapter, metrics
    eval/results.jsonl, eval/report.json
"""

from __future__ import annotations

import json

from django.conf import settings

from training_jobs.backends.base import SAMPLE_BATCH
from training_jobs.composition import check_available, parse_composition, sample_mix
from training_jobs.curriculum import UNIFIED_DEFAULTS, empty_phases, phase_rows
from training_jobs.engine import JobContext, StageFailed, read_jsonl, write_jsonl
from training_jobs.unified import render_example

READ_CHUNK = 5000


def _datasets(ctx: JobContext) -> list:
    from training_jobs.datasets.access import access_dataset

    return [access_dataset(ctx.organization, dataset_id) for dataset_id in ctx.params.dataset_ids]


def stage_compose(ctx: JobContext) -> None:
    from training_jobs.datasets.selectors import rows_by_category, rows_for

    p = ctx.params
    by_category = rows_by_category(_datasets(ctx))
    composition = parse_composition(p.composition)
    problems = [i for i in check_available(composition, {c: len(ids) for c, ids in by_category.items()}, p.total_rows)
                if i["level"] == "error"]
    if problems:
        raise StageFailed(f"{problems[0]['field']}: {problems[0]['message']}")
    mix = sample_mix(by_category, composition, p.total_rows, p.seed)
    phases = p.curriculum
    if empty := empty_phases(phases, mix.ids_by_category()):
        raise StageFailed(f"{empty[0]['field']}: {empty[0]['message']}")
    phase_ids = phase_rows(phases, mix.ids_by_category(), seed=p.seed)
    ctx.set_total(len(mix.ids), "rows")

    examples: dict[int, dict] = {}
    out = ctx.folder("compose")
    with open(out / "mix.jsonl", "w", encoding="utf-8") as mix_file, open(out / "mix_meta.jsonl", "w", encoding="utf-8") as meta:
        for start in range(0, len(mix.ids), READ_CHUNK):
            ctx.check_cancel()
            chunk = mix.ids[start:start + READ_CHUNK]
            rows = {row.pk: row for row in rows_for(chunk)}
            for row_id in chunk:
                row = rows[row_id]
                example = render_example(row)
                examples[row_id] = example
                mix_file.write(json.dumps(example, ensure_ascii=False) + "\n")
                meta.write(json.dumps({"row_id": row_id, "category": row.category, "source": row.source}, ensure_ascii=False) + "\n")
            ctx.advance(len(chunk))
    artifacts = {"mix": ctx.rel(out / "mix.jsonl"), "meta": ctx.rel(out / "mix_meta.jsonl")}
    for n, ids in enumerate(phase_ids, start=1):
        path = out / f"phase_{n}.jsonl"
        write_jsonl(path, (examples[i] for i in ids))
        artifacts[f"phase_{n}"] = ctx.rel(path)
    ctx.stage.artifacts = artifacts
    ctx.stage.stats.update(mix={"total": len(mix.ids), "counts": mix.counts, "bars": mix.bars()},
                           phases=[{"name": ph.name, "rows": len(ids), "categories": list(ph.categories)}
                                   for ph, ids in zip(phases, phase_ids)])


def _phase_steps(p, rows: int, epochs: int) -> int:
    steps = max(1, -(-rows // (p.batch_size * p.grad_accum))) * epochs
    return min(steps, p.max_steps_per_phase) if p.max_steps_per_phase else steps


def stage_curriculum(ctx: JobContext) -> None:
    """The phases in order, each going on training the one adapter the previous phase left."""
    p = ctx.params
    phases = p.curriculum
    compose = ctx.job.stages.get(stage="compose")
    files = [ctx.job.artifacts_dir / compose.artifacts[f"phase_{n}"] for n in range(1, len(phases) + 1)]
    if missing := [str(f.name) for f in files if not f.exists()]:
        raise StageFailed(f"compose left no {', '.join(missing)}: resume from compose")
    phase_examples = [read_jsonl(f) for f in files]
    steps = [_phase_steps(p, len(rows), phase.epochs) for rows, phase in zip(phase_examples, phases)]
    ctx.set_total(sum(steps), "steps")
    student, adapter = p.student_checkpoint, None
    ctx.stage.stats["phases"] = []
    for n, (phase, examples) in enumerate(zip(phases, phase_examples), start=1):
        ctx.check_cancel(force=True)
        out = ctx.folder("curriculum", f"phase_{n}")
        config = {
            "output_dir": str(out), "student": student, "continue_adapter": adapter, "allow_hub": settings.TRAINING_ALLOW_HUB,
            "max_steps": p.max_steps_per_phase or -1, "epochs": phase.epochs, "learning_rate": phase.learning_rate,
            "lr_scheduler": UNIFIED_DEFAULTS["lr_scheduler"], "warmup_ratio": p.warmup_ratio,
            "max_grad_norm": p.max_grad_norm, "batch_size": p.batch_size, "grad_accum": p.grad_accum,
            "max_length": p.max_length, "seed": p.seed, "lora_r": p.lora_rank, "lora_alpha": p.lora_alpha,
            "lora_dropout": p.lora_dropout, "target_modules": list(UNIFIED_DEFAULTS["target_modules"]),
            "torch_threads": settings.TRAINING_TORCH_THREADS or None,
        }
        result = ctx.train("sft", examples, config, history_key=f"phase_{n}_history", phase=n, phase_name=phase.name)
        adapter, student = result["artifacts"]["adapter_dir"], result["artifacts"]["base_dir"]
        ctx.stage.artifacts = {**ctx.stage.artifacts, f"phase_{n}_adapter": ctx.rel_any(adapter), "base": ctx.rel_any(student)}
        ctx.stage.stats["phases"].append({"phase": n, "name": phase.name, "rows": len(examples), "steps": result["steps"],
                                          "learning_rate": phase.learning_rate, "epochs": phase.epochs,
                                          "final_metrics": result["final_metrics"], "wall_s": round(result["wall_s"], 2)})
        ctx.progress(ctx.stage.done, force=True, milestone=f"phase {n} of {len(phases)} trained")


def _checkpoints(ctx: JobContext) -> list[tuple[str, str | None, str]]:
    """(label, adapter dir or None, base dir): the untrained student, then the adapter after each phase."""
    curriculum = ctx.job.stages.get(stage="curriculum")
    root, artifacts = ctx.job.artifacts_dir, curriculum.artifacts or {}
    resolve = lambda rel: str(root / rel) if not str(rel).startswith("/") else rel  # noqa: E731
    if "base" not in artifacts:
        raise StageFailed("curriculum left no checkpoint: resume from curriculum")
    base = resolve(artifacts["base"])
    points = [("base", None, base)]
    for n, phase in enumerate(ctx.params.curriculum, start=1):
        if f"phase_{n}_adapter" in artifacts:
            points.append((f"{n}. {phase.name}", resolve(artifacts[f"phase_{n}_adapter"]), base))
    return points


def _replies(ctx: JobContext, adapter: str | None, base: str, cases, repeat: int) -> list[list[str]]:
    """Each case's conversation with the checkpoint, turn by turn: one sampling call per turn for all cases."""
    backend, p = ctx.backend(), ctx.params
    histories = [[] for _ in cases]
    replies = [[] for _ in cases]
    for turn in range(max(len(c.turns) for c in cases)):
        ctx.check_cancel()
        active = [i for i, c in enumerate(cases) if turn < len(c.turns)]
        for i in active:
            histories[i].append({"role": "user", "content": cases[i].turns[turn]})
        texts = backend.sample([histories[i] for i in active], {"student": base, "seed": p.seed + repeat},
                               adapter_dir=adapter, base_dir=base, max_new_tokens=p.eval_max_new_tokens,
                               temperature=p.temperature, top_p=p.top_p, batch_size=SAMPLE_BATCH)
        for i, text in zip(active, texts):
            text = text.strip() or "…"
            replies[i].append(text)
            histories[i].append({"role": "assistant", "content": text})
        ctx.advance(len(active))
    return replies


def evaluate_range(ctx: JobContext) -> dict:
    """Range, consistency and transition cases on every checkpoint, `eval_repeats` times, judged per reply."""
    from asgiref.sync import async_to_sync

    from studio.llm import gateway
    from studio.llm.gateway import LLMError, StepConfig
    from training_jobs.range_evals import ALL_CASES, Trial, case_judge_requests, compare_checkpoints, parse_judgment, replies_per_pass, summarize

    p = ctx.params
    cases = list(ALL_CASES)
    points = _checkpoints(ctx)
    per_pass = replies_per_pass(cases)
    ctx.set_total(2 * len(points) * p.eval_repeats * per_pass, "replies+judgments")
    judge = StepConfig(model=p.judge_model, json_mode=True, temperature=0.0, max_tokens=300)
    table, rows = {}, []
    for label, adapter, base in points:
        trials = []
        for repeat in range(p.eval_repeats):
            replies = _replies(ctx, adapter, base, cases, repeat)
            requests = [(messages, judge) for case, said in zip(cases, replies) for messages in case_judge_requests(case, said)]
            verdicts = async_to_sync(gateway.abatch)(requests, organization=ctx.organization, parse=parse_judgment,
                                                     concurrency=p.concurrency, budget=ctx.budget())
            ctx.charge(verdicts)
            ctx.advance(len(verdicts), force=True)
            at = 0
            for case, said in zip(cases, replies):
                mine, at = verdicts[at:at + len(said)], at + len(said)
                graded = None if any(isinstance(v, LLMError) for v in mine) else all(v.parsed.passed for v in mine)
                trials.append(Trial(case.id, graded, repeat))
                rows.append({"checkpoint": label, "repeat": repeat, "case": case.id, "kind": case.kind,
                             "replies": said, "passed": graded,
                             "styles": [None if isinstance(v, LLMError) else v.parsed.style for v in mine]})
        table[label] = summarize(trials, p.eval_repeats, seed=p.seed)
    out = ctx.folder("eval")
    write_jsonl(out / "results.jsonl", rows)
    comparison = compare_checkpoints(table)
    summary = {"checkpoints": [label for label, _, _ in points], "repeats": p.eval_repeats, "cases": len(cases),
               "judge_model": p.judge_model, "table": comparison,
               "overall": {label: table[label]["overall"] for label in table},
               "outcome": _outcome(rows, points[0][0], points[-1][0])}
    (out / "report.json").write_text(json.dumps({**summary, "summaries": table}, indent=1, ensure_ascii=False))
    return {"summary": summary, "artifacts": {"results": ctx.rel(out / "results.jsonl"), "report": ctx.rel(out / "report.json")}}


def _outcome(rows: list[dict], base: str, last: str) -> dict:
    """The job's verdict: its last checkpoint vs base on the same cases (exact McNemar, training_jobs.outcome)."""
    from training_jobs.outcome import NO_CLEAR_CHANGE, Outcome, unified_outcome

    if last == base:
        return Outcome(NO_CLEAR_CHANGE, "no data: no curriculum phase left a checkpoint to compare with base", "paired cases").as_dict()

    def graded(label: str) -> dict[str, list[bool]]:
        out: dict[str, list[bool]] = {}
        for row in rows:
            if row["checkpoint"] == label and row["passed"] is not None:
                out.setdefault(row["case"], []).append(row["passed"])
        return out

    return unified_outcome(graded(base), graded(last), checkpoint=last).as_dict()


def stage_range_eval(ctx: JobContext) -> None:
    report = evaluate_range(ctx)
    ctx.stage.stats["eval"] = report["summary"]
    ctx.stage.artifacts = report["artifacts"]


UNIFIED_STAGE_FUNCTIONS = {"compose": stage_compose, "curriculum": stage_curriculum, "eval": stage_range_eval}
