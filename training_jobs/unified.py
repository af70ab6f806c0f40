"""Unified training (issue 8): one adapter for a behavioral range, from a data mix and a curriculum.

A unified job has no persona: its personality is meant to emerge from context. It reads rows from the
org's datasets (training_jobs.datasets), samples a mix to the target composition (composition.py),
trains one LoRA adapter through curriculum phases (curriculum.py) with the same backend, progress,
events, cost and cancel/resume machinery as character jobs (the stage engine, engine.py), and evaluates each phase's
checkpoint on behavioral-range evals (range_evals.py).

Metadata stays out of the text: `render_example` is the only way a dataset row becomes a training
example, and it reads only instruction / input / output / messages.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from studio.errors import Invalid
from studio.principal import Principal
from training_jobs.composition import DEFAULT_SHARES, check_available, mix_explanation, parse_composition, sample_mix
from training_jobs.curriculum import DEFAULT_PHASES, UNIFIED_DEFAULTS, coverage_warnings, empty_phases, parse_curriculum, phase_rows
from training_jobs.models import StageRun, TrainingJob
from training_jobs.params import validation_errors

UNIFIED_KIND = "unified"  # TrainingJob.kind of these jobs (training_jobs.kinds.unified registers it)
UNIFIED_STAGES = ("compose", "curriculum", "eval")
UNIFIED_STAGE_LABELS = {"compose": "Data mix", "curriculum": "Curriculum", "eval": "Behavioral range"}
TOKENS_PER_ROW = 300  # for the estimate: a typical instruction + answer


class UnifiedParams(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["unified"] = "unified"
    dataset_ids: list[UUID] = Field(min_length=1, max_length=20)
    composition: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_SHARES))
    total_rows: int | None = Field(default=None, ge=10, le=5_000_000, description="Rows in the mix; None: as many as the shares allow")
    phases: list[dict] = Field(default_factory=lambda: [p.as_dict() for p in DEFAULT_PHASES])
    student_checkpoint: str = Field(default="tiny", min_length=1, max_length=300)
    lora_rank: int = Field(default=UNIFIED_DEFAULTS["lora_r"], ge=1, le=1024)
    lora_alpha: int = Field(default=UNIFIED_DEFAULTS["lora_alpha"], ge=1, le=4096)
    lora_dropout: float = Field(default=UNIFIED_DEFAULTS["lora_dropout"], ge=0, lt=1)
    batch_size: int = Field(default=UNIFIED_DEFAULTS["batch_size"], ge=1, le=4096)
    grad_accum: int = Field(default=UNIFIED_DEFAULTS["grad_accum"], ge=1, le=1024)
    warmup_ratio: float = Field(default=UNIFIED_DEFAULTS["warmup_ratio"], ge=0, lt=1)
    max_grad_norm: float = Field(default=UNIFIED_DEFAULTS["max_grad_norm"], gt=0, le=100)
    max_length: int = Field(default=1024, ge=16, le=131_072)
    max_steps_per_phase: int | None = Field(default=None, ge=1, le=1_000_000, description="Cap per phase (quick runs)")
    judge_model: str = Field(default="offline/studio", min_length=1, max_length=200)
    eval_repeats: int = Field(default=2, ge=1, le=10)
    eval_max_new_tokens: int = Field(default=64, ge=1, le=4096)
    temperature: float = Field(default=0.7, ge=0, le=2)
    top_p: float = Field(default=0.95, gt=0, le=1)
    budget_usd: float | None = Field(default=None, gt=0, le=1_000_000)
    max_burn_usd_per_hour: float | None = Field(default=None, gt=0, le=1_000_000)
    concurrency: int = Field(default=16, ge=1, le=512)
    backend: str = "trl"
    name_suffix: str = Field(default="", max_length=60)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)

    @model_validator(mode="after")
    def _checks(self) -> "UnifiedParams":
        parse_composition(self.composition)  # ValueError "composition.<category>: …"
        parse_curriculum(self.phases)  # ValueError "curriculum.phases.<i>.<field>: …"
        if self.backend != "trl":
            raise ValueError(f"backend: unknown backend {self.backend!r}; choose trl")
        return self

    @property
    def curriculum(self) -> list:
        return parse_curriculum(self.phases)

    def stage_plan(self) -> list[str]:
        return list(UNIFIED_STAGES)


def render_example(row) -> dict:
    """A dataset row as the trainer sees it: chat messages only. `_category`/`_source` never enter the text."""
    if row.messages:
        return {"messages": [{"role": m["role"], "content": m["content"]} for m in row.messages]}
    user = row.instruction if not row.input else f"{row.instruction}\n\n{row.input}"
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": row.output}]}


# --- pre-flight and launch -----------------------------------------------------------------------


def _datasets(principal: Principal, ids) -> list:
    from training_jobs.datasets.access import access_dataset

    return [access_dataset(principal.organization, dataset_id) for dataset_id in ids]


def _params_despite_errors(data: dict, errors: list[dict]) -> "UnifiedParams | None":
    """The form's values with each field in error at its default (the launch page keeps its mix and estimate on screen
    while a field is being fixed); None when even that does not validate, or no dataset is chosen."""
    bad = {e["field"].split(".")[0] for e in errors}
    # The mix and the phases are what the estimate shows: with the composition or curriculum in error, a default one
    # in their place would chart a mix that is not the one typed.
    if bad & {"dataset_ids", "composition", "curriculum", "phases", "__root__"}:
        return None
    try:
        return UnifiedParams.model_validate({key: value for key, value in data.items() if key not in bad})
    except ValidationError:
        return None


def unified_preflight(*, principal: Principal, data: dict, keep_estimate: bool = False) -> dict:
    """{ok, errors, warnings, estimate, counts, stages, phases}: nothing is stored. Another org's dataset is 404.

    `keep_estimate` (the launch page): with fields in error, the mix and estimate are still computed with those
    fields at their defaults, and say so in `estimate_note`; the API answers no mix while the values are invalid."""
    from training_jobs.datasets.selectors import rows_by_category

    report = {"ok": False, "errors": [], "warnings": [], "estimate": {}, "counts": {}, "stages": list(UNIFIED_STAGES),
              "mix": None, "phases": []}
    raw_ids = data.get("dataset_ids") if isinstance(data, dict) else None
    if isinstance(raw_ids, list):  # datasets first: an outsider's id is 404 whatever else is wrong
        _datasets(principal, [i for i in raw_ids if isinstance(i, str)])
    try:
        params = UnifiedParams.model_validate(data)
    except ValidationError as exc:
        report["errors"] = validation_errors(exc)
        params = _params_despite_errors(data, report["errors"]) if keep_estimate else None
        if params is None:
            return report
        report["estimate_note"] = "until fixed, fields in error are counted at their defaults"
    invalid = len(report["errors"])
    datasets = _datasets(principal, params.dataset_ids)
    by_category = rows_by_category(datasets)
    counts = {category: len(ids) for category, ids in by_category.items()}
    report["counts"] = counts
    composition = parse_composition(params.composition)
    for issue in check_available(composition, counts, params.total_rows):
        (report["errors"] if issue["level"] == "error" else report["warnings"]).append(
            {"field": issue["field"], "message": issue["message"]})
    if len(report["errors"]) == invalid:  # the data holds the mix (fields in error aside)
        mix = sample_mix(by_category, composition, params.total_rows, params.seed)
        report["mix"] = {"total": len(mix.ids), "counts": mix.counts, "bars": mix.bars(), "available": sum(counts.values()),
                         "explanation": mix_explanation(composition, counts, len(mix.ids), params.total_rows)}
        phases = params.curriculum
        for problem in empty_phases(phases, mix.ids_by_category()):
            report["errors"].append({"field": problem["field"], "message": problem["message"]})
        phase_ids = phase_rows(phases, mix.ids_by_category(), seed=params.seed)
        for issue in coverage_warnings(phases, mix.ids_by_category()):
            report["warnings"].append({"field": issue["field"], "message": issue["message"]})
        per_step = params.batch_size * params.grad_accum
        for i, ids in enumerate(phase_ids):
            if 0 < len(ids) < per_step:
                report["warnings"].append({"field": f"curriculum.phases.{i}.categories", "message":
                                         f"phase {i + 1} ({phases[i].name}) has {len(ids)} rows in the mix, fewer than one "
                                         f"optimizer step takes (batch size × gradient accumulation = {per_step}): it trains one short step; add "
                                         "data, raise “Total rows” or merge phases"})
        report["phases"] = [{"name": p.name, "rows": len(ids), "learning_rate": p.learning_rate, "epochs": p.epochs}
                            for p, ids in zip(phases, phase_ids)]
        report["estimate"] = unified_estimate(params, [len(ids) for ids in phase_ids])
        report["estimate"].update(unified_time(principal.organization, params, report["estimate"]))
    _check_models(report, principal.organization, params)
    report["ok"] = not report["errors"]
    return report


def _check_models(report: dict, organization, params: UnifiedParams) -> None:
    from studio.config.services import model_check_for
    from training_jobs.backends import trl_available
    from training_jobs.services import checkpoint_problem

    if problem := model_check_for(organization)(params.judge_model, "chat"):
        report["errors"].append({"field": "judge_model", "message": problem})
    if not trl_available():
        report["errors"].append({"field": "backend", "message": "the trl backend needs the train extras: pip install -e '.[train]'"})
    if problem := checkpoint_problem(params.student_checkpoint):
        report["errors"].append({"field": "student_checkpoint", "message": problem})


def unified_time(organization, params: UnifiedParams, estimate: dict) -> dict:
    """The job's time: its training steps at the backend's measured rate, the judge's calls at the judge's."""
    from training_jobs.throughput import duration_words, measured_throughput

    rates = measured_throughput(organization, teacher_model=params.judge_model, backend=params.backend, concurrency=8,
                                checkpoint=params.student_checkpoint)
    steps = sum(estimate["steps"])
    seconds = round(steps / rates["steps_per_s"] + estimate["judge_calls"] / rates["calls_per_s"])
    return {"time": {"seconds": seconds, "steps": steps, **rates}, "time_words": duration_words(seconds)}


def unified_estimate(params: UnifiedParams, phase_rows: list[int]) -> dict:
    """Training tokens per phase (rows × epochs × typical tokens) and the judge's calls and USD for the evals."""
    from training_jobs import range_evals
    from training_jobs.services import model_price

    phases = params.curriculum
    tokens = sum(n * p.epochs * TOKENS_PER_ROW for n, p in zip(phase_rows, phases))
    steps = [max(1, -(-n // (params.batch_size * params.grad_accum))) * p.epochs for n, p in zip(phase_rows, phases)]
    if params.max_steps_per_phase:
        steps = [min(s, params.max_steps_per_phase) for s in steps]
    checkpoints = len(phases) + 1
    judge_calls = 0 if params.judge_model.startswith("offline/") else checkpoints * params.eval_repeats * range_evals.replies_per_pass()
    price = model_price(params.judge_model)
    cost = None if price is None else round(judge_calls * (600 * price[0] + 100 * price[1]), 4)
    return {"training_tokens": tokens, "steps": steps, "judge_calls": judge_calls, "cost_usd": cost, "priced": cost is not None}


def unified_launch(*, principal: Principal, data: dict) -> TrainingJob:
    principal.require_scope("training:write")
    report = unified_preflight(principal=principal, data=data)
    if report["errors"]:
        first = report["errors"][0]
        raise Invalid(first["message"], field=first["field"])
    params = UnifiedParams.model_validate(data)
    workspace = principal.organization.workspaces.filter(slug="default").first() or principal.organization.workspaces.order_by("id").first()
    name = "unified-" + (params.name_suffix or timezone.now().strftime("%Y%m%d-%H%M"))
    from studio.work.events import emit
    from training_jobs.queue import job_enqueue

    with transaction.atomic():
        job = TrainingJob.objects.create(
            organization=principal.organization, workspace=workspace, persona=None, constitution=None,
            kind=UNIFIED_KIND, name=name[:200], params=params.model_dump(mode="json"), engine="local",
            backend=params.backend, estimate=report["estimate"],
            budget_usd=Decimal(str(params.budget_usd)) if params.budget_usd is not None else None,
            created_by=principal.user if getattr(principal.user, "is_authenticated", False) else None,
            created_by_key=principal.api_key,
        )
        StageRun.objects.bulk_create([StageRun(job=job, stage=stage, position=i) for i, stage in enumerate(UNIFIED_STAGES)])
        emit(job, "job.queued", {"name": job.name, "kind": UNIFIED_KIND, "stages": list(UNIFIED_STAGES),
                                 "estimate": report["estimate"], "warnings": report["warnings"], "mix": report["mix"]})
        job_enqueue(job)
    return job
