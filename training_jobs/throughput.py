"""How long a job will take, from what the org's earlier jobs measured: LLM calls per second for the chosen teacher
model and training steps per second for the chosen backend; typical figures where nothing was measured yet."""

from __future__ import annotations

import math

from training_jobs.models import StageRun

# Where no earlier job measured anything. The offline engine answers in milliseconds (40 calls/s on 2 cores, demo
# pace off); the packaged local model writes ~0.5 answers/s on a CPU; a provider answers in ~4 s, `concurrency` at once.
TYPICAL_CALLS_PER_S = {"offline": 40.0, "local": 0.5}
TYPICAL_PROVIDER_LATENCY_S = 4.0
TYPICAL_STEP_S = 1.5  # a LoRA step of the default student on a CPU worker
MEASURED_STAGES = 20  # the latest this many finished stages of each kind make the measurement


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


def measured_throughput(organization, *, teacher_model: str, backend: str, concurrency: int) -> dict:
    """{calls_per_s, calls_source, steps_per_s, steps_source}: measured on the org's finished stages where there are
    some (calls: data stages whose job used this teacher; steps: training stages on this backend), else typical."""
    calls = _finished(organization, ("dpo_data", "introspection"), "calls").filter(job__params__teacher_model=teacher_model)
    calls_per_s, call_jobs = _rate(calls[:MEASURED_STAGES])
    if calls_per_s:
        calls_source = f"measured on {call_jobs} earlier job{'s' if call_jobs != 1 else ''} with {teacher_model}"
    else:
        engine = _engine_of(teacher_model)
        calls_per_s = TYPICAL_CALLS_PER_S.get(engine) or concurrency / TYPICAL_PROVIDER_LATENCY_S
        calls_source = f"typical for {'the ' + engine + ' engine' if engine != 'providers' else 'a provider at concurrency ' + str(concurrency)}"
    steps = _finished(organization, ("dpo_train", "sft"), "steps").filter(job__params__backend=backend)
    steps_per_s, step_jobs = _rate(steps[:MEASURED_STAGES])
    if steps_per_s:
        steps_source = f"measured on {step_jobs} earlier job{'s' if step_jobs != 1 else ''} on {backend}"
    else:
        steps_per_s, steps_source = 1 / TYPICAL_STEP_S, f"typical for {backend} on a CPU worker"
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


def time_estimate(organization, params, calls: int) -> dict:
    """Seconds for the job: its calls at the measured call rate, its steps at the measured step rate."""
    rates = measured_throughput(organization, teacher_model=params.teacher_model, backend=params.backend,
                                concurrency=params.concurrency)
    steps = training_steps(params)
    seconds = calls / rates["calls_per_s"] + steps / rates["steps_per_s"]
    return {"seconds": round(seconds), "steps": steps, **rates}


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
