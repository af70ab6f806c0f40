"""Pages: the Unified training launch form (datasets, composition, curriculum, LoRA & optimizer, evaluation, run)
with its pre-flight, beside the character form in training_jobs.views. The job page is the one in views."""

from django.db.models import Count
from django.shortcuts import render
from django.views.decorators.http import require_POST

from studio.errors import StudioError
from studio.views import org_page
from training_jobs.composition import DEFAULT_RANGES
from training_jobs.curriculum import ALL, MAX_PHASES
from training_jobs import display
from training_jobs.categories import CATEGORIES
from training_jobs.datasets.models import Dataset, DatasetRow
from training_jobs.models import StageRun, TrainingJob
from training_jobs.range_evals import CASES_BY_ID
from training_jobs.unified import UNIFIED_STAGE_LABELS, UNIFIED_STAGES, unified_preflight
from training_jobs.views import SAMPLE_ROWS_READ, SIDE_BY_SIDE, read_jsonl_rows
from training_jobs.unified_form import SECTIONS, TOTAL_ROWS, Placed, apply_phase_op, bare_message, default_data, form_data, form_values, issue_label

DATASETS_SHOWN = 200
MODEL_SUGGESTIONS = ("offline/studio",)


def _org_for_reading(request):
    request.principal.require_scope("training:read")
    return request.principal.organization


def _datasets(org) -> list[dict]:
    """The org's datasets with their rows per category (counted from the rows, so always current)."""
    datasets = list(Dataset.objects.filter(organization=org).order_by("name")[:DATASETS_SHOWN])
    counts: dict[int, dict[str, int]] = {}
    for row in DatasetRow.objects.filter(dataset__in=datasets).values("dataset_id", "category").annotate(n=Count("id")):
        counts.setdefault(row["dataset_id"], {})[row["category"]] = row["n"]
    return [{"dataset": d, "id": str(d.public_id), "rows": sum(counts.get(d.pk, {}).values()),
             "categories": [(c, n) for c in CATEGORIES if (n := counts.get(d.pk, {}).get(c, 0))]} for d in datasets]


def unified_page_preflight(principal, data: dict) -> dict:
    try:
        report = unified_preflight(principal=principal, data=data, keep_estimate=True)
    except StudioError as exc:  # another org's dataset is NotFound, as everywhere
        return {"ok": False, "errors": [{"field": exc.field or "dataset_ids", "message": exc.message}], "warnings": [],
                "estimate": {}, "counts": {}, "stages": list(UNIFIED_STAGES), "mix": None, "phases": []}
    if not data.get("dataset_ids"):  # said as the form would say it, not as the list validator does
        report["errors"] = [{**e, "message": "choose at least one dataset"} if e["field"] == "dataset_ids" else e
                            for e in report["errors"]]
    return report


def _target_bars(shares: dict) -> list[dict]:
    """Bars of the targets alone, for when no mix could be sampled (the pre-flight found errors)."""
    bars = []
    for c in CATEGORIES:
        target = shares.get(c)
        if isinstance(target, (int, float)) and not isinstance(target, bool) and target > 0:
            low, high = DEFAULT_RANGES.get(c, (None, None))
            bars.append({"category": c, "target": target, "achieved": None, "count": None, "low": low, "high": high})
    return bars


def preflight_context(report: dict, data: dict) -> dict:
    labelled = lambda issues: [{**i, "label": issue_label(i["field"]), "message": bare_message(i)} for i in issues]  # noqa: E731
    estimate = report.get("estimate") or {}
    steps = estimate.get("steps") or []
    phases = [{**p, "steps": steps[i] if i < len(steps) else None} for i, p in enumerate(report.get("phases") or [])]
    mix = report.get("mix") or None
    composition = data.get("composition") if isinstance(data.get("composition"), dict) else {}
    return {"preflight": {
        **report, "errors": labelled(report["errors"]), "warnings": labelled(report["warnings"]), "phases": phases,
        "stage_labels": [UNIFIED_STAGE_LABELS[s] for s in report.get("stages") or []], "estimate": estimate,
        "total_steps": sum(s for s in steps if isinstance(s, int)),
    }, "mix_chart": display.mix_chart(mix["bars"] if mix else _target_bars(composition)), "mix": mix or {}}


def unified_form_context(request, data: dict, report: dict, *, show_field_errors: bool = False) -> dict:
    values = form_values(data)
    placed = Placed.of(report["errors"]) if show_field_errors else Placed()
    chosen = set(values["dataset_ids"])
    datasets = [{**d, "checked": d["id"] in chosen} for d in _datasets(request.principal.organization)]
    shares = [{"category": c, "value": values["shares"][c], "range": DEFAULT_RANGES.get(c), "below": _below(values["shares"][c], c),
               "errors": placed.shares.get(c, [])} for c in CATEGORIES]
    phases = [{**p, "index": i, "errors": placed.phases.get(i, {}), "all": ALL in p["categories"]}
              for i, p in enumerate(values["phases"])]
    sections = [{"section": section, "rows": [_field_row(spec, values, placed) for spec in section.fields]} for section in SECTIONS]
    return {
        "values": values, "datasets": datasets, "shares": shares, "phases": phases, "sections": sections,
        "total_rows": _field_row(TOTAL_ROWS, values, placed), "categories": CATEGORIES, "all": ALL,
        "max_phases": MAX_PHASES, "placed": placed, "can_launch": request.principal.has_scope("training:write"),
        "model_suggestions": MODEL_SUGGESTIONS, "general_errors": placed.general, **preflight_context(report, data),
    }


def _below(value, category: str) -> float | None:
    """How far a share sits under its reference range (the defaults' three largest do: see the section's help)."""
    low = DEFAULT_RANGES.get(category, (None,))[0]
    try:
        gap = low - float(value) if low is not None else 0
    except (TypeError, ValueError):
        return None
    return gap if 0 < gap < low else None


def _field_row(spec, values: dict, placed: Placed) -> dict:
    value = values.get(spec.name, "")
    return {"spec": spec, "value": value, "current": str(value), "errors": placed.fields.get(spec.name, []), "choices": spec.choices}


def unified_launch_start(request) -> tuple[dict, dict]:
    """A new unified form: the default mix and curriculum on the datasets asked for (all of them when none is)."""
    data = default_data()
    wanted = request.GET.getlist("dataset")
    data["dataset_ids"] = [d["id"] for d in _datasets(request.principal.organization) if not wanted or d["id"] in wanted]
    return data, unified_page_preflight(request.principal, data)


def unified_launch_edit(request, data: dict) -> bool:
    """A phase button posted without JavaScript: the curriculum edited, nothing launched."""
    if op := request.POST.get("phase_op"):
        data["phases"] = apply_phase_op(data.get("phases", default_data()["phases"]), op)
        return True
    return False


@org_page
@require_POST
def training_job_unified_preflight(request):
    """The pre-flight panel for what the form holds now, with the mix chart swapped in out of band."""
    _org_for_reading(request)
    data = form_data(request.POST)
    report = unified_page_preflight(request.principal, data)
    return render(request, "training/partials/unified_preflight.html", {**preflight_context(report, data), "refresh": True})


@org_page
@require_POST
def training_job_unified_phases(request):
    """The curriculum editor after adding, removing or moving a phase; the pre-flight comes along out of band."""
    _org_for_reading(request)
    data = form_data(request.POST)
    data["phases"] = apply_phase_op(data.get("phases", default_data()["phases"]), request.POST.get("phase_op", ""))
    report = unified_page_preflight(request.principal, data)
    return render(request, "training/partials/unified_curriculum.html", {**unified_form_context(request, data, report), "oob": True})

# --- the job page's unified sections (training_jobs.kinds.unified) --------------------------------


def _phase_charts(curriculum: StageRun) -> list[dict]:
    """A unified job's loss curve per curriculum phase (one adapter, trained phase after phase)."""
    stats = curriculum.stats or {}
    names = {p.get("phase"): p.get("name") for p in stats.get("phases") or [] if isinstance(p, dict)}
    numbers = sorted(int(key[6:-8]) for key in stats if key.startswith("phase_") and key.endswith("_history") and key[6:-8].isdigit())
    charts = []
    for n in numbers:
        history = stats.get(f"phase_{n}_history") or []
        loss = display.line_chart("loss", history, "loss", width=240, height=90)
        if loss:
            title = f"Phase {n}" + (f" · {names[n]}" if names.get(n) else "")
            charts.append({"title": title, "stage": "curriculum", "kind": f"phase-{n}", "charts": [loss], "steps": len(history)})
    return charts


def _phase_rows(job: TrainingJob, by_stage: dict[str, StageRun]) -> list[dict]:
    """A unified job's phases table: the launch's plan, the rows compose gave each phase, what each phase trained."""
    stats = lambda stage: (by_stage[stage].stats or {}) if stage in by_stage else {}  # noqa: E731
    launched, composed, curriculum = (job.params or {}).get("phases") or [], stats("compose").get("phases") or [], stats("curriculum")
    ran = {p.get("phase"): p for p in curriculum.get("phases") or [] if isinstance(p, dict)}
    rows = []
    for n in range(1, max(len(launched), len(composed), max(ran, default=0)) + 1):
        plan = {**(launched[n - 1] if n <= len(launched) else {}), **(composed[n - 1] if n <= len(composed) else {})}
        done = ran.get(n, {})
        metrics, history = done.get("final_metrics") or {}, curriculum.get(f"phase_{n}_history") or []
        loss = metrics.get("loss", metrics.get("train_loss"))
        if loss is None and history:
            loss = history[-1].get("loss")
        categories = plan.get("categories") or []
        rows.append({"n": n, "name": done.get("name") or plan.get("name", ""), "rows": done.get("rows", plan.get("rows")),
                     "categories": categories if isinstance(categories, list) else [categories], "steps": done.get("steps"),
                     "learning_rate": done.get("learning_rate", plan.get("learning_rate")), "epochs": done.get("epochs", plan.get("epochs")),
                     "loss": loss, "wall_s": done.get("wall_s"), "done": bool(done)})
    return rows


def unified_panel(job: TrainingJob, by_stage: dict[str, StageRun]) -> dict:
    """What a unified job's panel adds: the mix compose sampled (target vs achieved), the phases table, each phase's
    loss curve (training/partials/job_panel_unified.html shows the first two)."""
    mix = ((by_stage["compose"].stats or {}).get("mix") or {}) if "compose" in by_stage else {}
    charts = _phase_charts(by_stage["curriculum"]) if "curriculum" in by_stage else []
    return {"mix": mix, "mix_chart": display.mix_chart(mix.get("bars"), width=680), "phases": _phase_rows(job, by_stage),
            "charts": charts, "curves_note": "loss per curriculum phase, one adapter throughout", "curves_class": "phase-curves"}


def unified_results(job: TrainingJob, by_stage: dict[str, StageRun]) -> dict:
    """A unified job's results: the behavioral-range table and base vs last-checkpoint replies."""
    evaluation = by_stage.get("eval")
    summary = (evaluation.stats or {}).get("eval") if evaluation else None
    return {"range_table": display.range_table(summary), "samples": _unified_samples(job, evaluation, summary),
            "tuned_label": ((summary or {}).get("checkpoints") or ["tuned"])[-1]}


def artifact_label(name: str) -> str:
    """A unified job's per-phase files read as such ("phase_2_adapter" → "checkpoint after phase 2")."""
    if name.startswith("phase_"):
        number = name.removeprefix("phase_").removesuffix("_adapter")
        return f"checkpoint after phase {number}" if name.endswith("_adapter") else f"phase {number} rows"
    return name


def _unified_samples(job: TrainingJob, evaluation: StageRun | None, summary: dict | None) -> list[dict]:
    """Base and last-checkpoint replies to the same behavioral-range cases, from eval/results.jsonl."""
    checkpoints = (summary or {}).get("checkpoints") or []
    if evaluation is None or len(checkpoints) < 2:
        return []
    rows = read_jsonl_rows(job, (evaluation.artifacts or {}).get("results"), SAMPLE_ROWS_READ)
    return display.unified_samples(rows, CASES_BY_ID, checkpoints[0], checkpoints[-1], SIDE_BY_SIDE)


def job_datasets(job: TrainingJob) -> list:
    """The datasets a unified job was launched on that still exist (names for the page)."""
    ids = (job.params or {}).get("dataset_ids") or []
    if not ids:
        return []
    return list(Dataset.objects.filter(organization=job.organization, public_id__in=ids).order_by("name"))
