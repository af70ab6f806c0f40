"""How long a job will take, from what the org's earlier jobs measured: LLM calls per second for the chosen teacher
model and training steps per second for the chosen backend; typical figures where nothing was measured yet."""

from __future__ import annotations

import math

from training_jobs.models import StageRun

# Where no earlier job measured anything. The offline engine answers in milliseconds (40 calls/s on 2 cores, demo
# pace off); the packaged local model wrote the Quick iteration's 48 rejected answers in about 50 s on 2 cores (bench:
# tests/benchmarks/test_quick_iteration_bench.py); a provider answers in ~4 s, `concurrency` at once.
TYPICAL_CALLS_PER_S = {"offline": 40.0, "local": 1.0}
TYPICAL_PROVIDER_LATENCY_S = 4.0
# A LoRA optimizer step on a CPU worker: the built-in tiny test model takes milliseconds; a pretrained student
# (SmolLM2-135M, batch 2) took 7.0 s a DPO step and 4.8 s an SFT step in the same bench.
TINY_STEP_S = 0.05
TYPICAL_STEP_S = 6.0
# A reply sampled from the checkpoint itself (the pretrained student, CPU): introspection is long-form writing
# (32 conversations' turns in 100 s in the bench), the evaluation's base and tuned answers are short (48 in 66 s).
TYPICAL_REPLY_S = {"introspection": 3.1, "eval": 1.4}
TINY_REPLY_S = 0.05
MEASURED_STAGES = 20  # the latest this many finished stages of each kind make the measurement
TINY_CHECKPOINTS = {"tiny", "builtin:tiny", "tiny-llama"}  # the backend's TINY_IDS (a test model, no real text)


def _engine_of(model: str) -> str:
    return "offline" if model.startswith("offline/") else "local" if model.startswith("local/") else "providers"


def _rate(stages) -> tuple[float | None, int]:
    done = seconds = 0.0
    jobs = set()
    for stage in stages:
        elapsed = (stage.finished_at - stage.started_at).total_seconds()
        if elapsed > 0 and stage.done:
            done, seconds = done + stage.done, seconds + elapsed
            jobs.add(stage.job_id)
    return (done / seconds if seconds else None), len(jobs)


def _finished(organization, stages: tuple[str, ...], unit: str):
    return (StageRun.objects.filter(job__organization=organization, stage__in=stages, unit=unit, status=StageRun.Status.COMPLETED,
                                    started_at__isnull=False, finished_at__isnull=False, done__gt=0)
            .order_by("-finished_at"))


def _measured(rate_and_jobs: tuple[float | None, int], what: str) -> str:
    return f"measured on {rate_and_jobs[1]} earlier job{'s' if rate_and_jobs[1] != 1 else ''} {what}"


def measured_throughput(organization, *, teacher_model: str, backend: str, concurrency: int, checkpoint: str = "") -> dict:
    """{calls_per_s, calls_source, steps_per_s, steps_source}: measured on the org's finished stages where there are
    some (calls: data stages whose job used this teacher; steps: training stages on this backend and, when given,
    this student checkpoint: a tiny test model and SmolLM2 differ a hundredfold), else typical."""
    calls = _finished(organization, ("dpo_data",), "calls").filter(job__params__teacher_model=teacher_model)
    calls_per_s, call_jobs = measured_calls = _rate(calls[:MEASURED_STAGES])
    if calls_per_s:
        calls_source = _measured(measured_calls, f"with {teacher_model}")
    else:
        engine = _engine_of(teacher_model)
        calls_per_s = TYPICAL_CALLS_PER_S.get(engine) or concurrency / TYPICAL_PROVIDER_LATENCY_S
        calls_source = f"typical for {'the ' + engine + ' engine' if engine != 'providers' else 'a provider at concurrency ' + str(concurrency)}"
    steps = _finished(organization, ("dpo_train", "sft"), "steps").filter(job__params__backend=backend)
    if checkpoint:
        steps = steps.filter(job__params__student_checkpoint=checkpoint)
    steps_per_s, _ = measured_steps = _rate(steps[:MEASURED_STAGES])
    if steps_per_s:
        steps_source = _measured(measured_steps, f"on {backend}" + (f" with {checkpoint}" if checkpoint else ""))
    elif checkpoint in TINY_CHECKPOINTS:
        steps_per_s, steps_source = 1 / TINY_STEP_S, f"typical for the tiny test model on {backend}"
    else:
        steps_per_s, steps_source = 1 / TYPICAL_STEP_S, f"typical for a small pretrained student on {backend} on a CPU worker"
    return {"calls_per_s": calls_per_s, "calls_source": calls_source, "steps_per_s": steps_per_s, "steps_source": steps_source}


def training_steps(params) -> int:
    """Optimizer steps of the DPO and SFT stages at full scale (smoke runs add ~3 and ~25)."""
    sizes = params.sizes
    per_epoch = lambda rows: math.ceil(rows / params.batch_size)  # noqa: E731
    steps = per_epoch(sizes["dpo_pairs"]) * params.epochs
    if params.run_sft:
        steps += per_epoch(sizes["reflections"] + sizes["interactions"]) * params.epochs
    smoke = {"none": 0, "small": 3, "large": 25, "both": 28}[params.smoke_test]
    return steps + smoke


def checkpoint_replies(params) -> dict[str, int]:
    """Replies the student checkpoint writes itself: the introspection (reflections and the self-interactions' turns
    after their openers) when the post-DPO checkpoint writes it (any student but the tiny test model), the
    evaluation's base and tuned answers (8 prompts × 3 samples each), and the in-training checkpoint evaluations'
    (training_jobs.checkpoint_evals.workload: base once per evaluated stage, each checkpoint, one per held-out prompt),
    and the evaluation's trait profiles (training_jobs.trait_eval.workload: base and tuned, one per profile prompt)."""
    from training_jobs import trait_eval
    from training_jobs.checkpoint_evals import workload
    from training_jobs.evaluation import EVAL_PROMPTS, EVAL_SAMPLES

    sizes = params.sizes
    writes_introspection = params.generate_introspection and params.student_checkpoint not in TINY_CHECKPOINTS
    introspection = sizes["reflections"] + sizes["interactions"] * max(0, sizes["interaction_turns"] - 1)
    return {"introspection": introspection if writes_introspection else 0, "eval": 2 * EVAL_PROMPTS * EVAL_SAMPLES,
            "checkpoint_evals": workload(params)["replies"], "trait_profiles": trait_eval.workload(params)["replies"]}


# The unit each stage counts its progress in, and how many of them one checkpoint reply makes (an evaluation sample is
# judged once: samples + judgments).
REPLY_UNITS = {"introspection": ("calls", 1), "eval": ("samples+judgments", 2)}
# A checkpoint evaluation's replies are short held-out answers, like the evaluation's: measured at its pace.
REPLY_PACE_OF = {"checkpoint_evals": "eval", "trait_profiles": "eval"}


def _reply_seconds(organization, stage: str, checkpoint: str, backend: str) -> float:
    """Seconds per reply the checkpoint writes in `stage`: measured on the org's finished stages of jobs with this
    checkpoint and backend, else typical."""
    if checkpoint in TINY_CHECKPOINTS:
        return TINY_REPLY_S
    unit, per_reply = REPLY_UNITS[stage]
    stages = _finished(organization, (stage,), unit).filter(job__params__student_checkpoint=checkpoint, job__params__backend=backend)
    units_per_s, _ = _rate(stages[:MEASURED_STAGES])
    return per_reply / units_per_s if units_per_s else TYPICAL_REPLY_S[stage]


def time_estimate(organization, params, estimate: dict) -> dict:
    """Seconds for the job: the teacher's calls at the teacher's rate, the student's (DPO rejected answers) at the
    student model's, the training steps at the steps' rate, and the replies the checkpoint writes itself."""
    rates = measured_throughput(organization, teacher_model=params.teacher_model, backend=params.backend,
                                concurrency=params.concurrency, checkpoint=params.student_checkpoint)
    steps = training_steps(params)
    replies = checkpoint_replies(params)
    # The estimate counts the introspection as teacher calls; the checkpoint writes it instead when it can.
    teacher_calls = max(0, estimate["teacher_calls"] - replies["introspection"])
    student_engine = _engine_of(params.student_model)
    student_per_s = (rates["calls_per_s"] if student_engine == _engine_of(params.teacher_model)
                     else TYPICAL_CALLS_PER_S.get(student_engine) or params.concurrency / TYPICAL_PROVIDER_LATENCY_S)
    reply_s = {stage: _reply_seconds(organization, REPLY_PACE_OF.get(stage, stage), params.student_checkpoint, params.backend)
               for stage in replies}
    reply_seconds = sum(count * reply_s[stage] for stage, count in replies.items())
    seconds = (teacher_calls / rates["calls_per_s"] + estimate["student_calls"] / student_per_s
               + steps / rates["steps_per_s"] + reply_seconds)
    return {"seconds": round(seconds), "steps": steps, "replies": sum(replies.values()),
            "reply_seconds": round(reply_seconds), "student_calls_per_s": student_per_s, **rates}


def duration_words(seconds: float) -> str:
    """"≈ 40 s", "≈ 12 min", "≈ 3 h 20 min"."""
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"≈ {seconds} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"≈ {minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"≈ {hours} h {minutes} min" if minutes else f"≈ {hours} h"
