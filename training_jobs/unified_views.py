"""Pages: the Unified training launch form (datasets, composition, curriculum, LoRA & optimizer, evaluation, run)
with its pre-flight, beside the character form in training_jobs.views. The job page is the one in views."""

from django.db.models import Count
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from studio.errors import StudioError
from studio.views import org_page
from training_jobs import composition as comp
from training_jobs import curriculum as cur
from training_jobs import display
from training_jobs.categories import CATEGORIES
from training_jobs.datasets.models import Dataset, DatasetRow
from training_jobs.unified import UNIFIED_STAGE_LABELS, UNIFIED_STAGES, unified_launch, unified_preflight
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


def _preflight(principal, data: dict) -> dict:
    try:
        report = unified_preflight(principal=principal, data=data)
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
            low, high = comp.DEFAULT_RANGES.get(c, (None, None))
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


def _form_context(request, data: dict, report: dict, *, show_field_errors: bool = False) -> dict:
    values = form_values(data)
    placed = Placed.of(report["errors"]) if show_field_errors else Placed()
    chosen = set(values["dataset_ids"])
    datasets = [{**d, "checked": d["id"] in chosen} for d in _datasets(request.principal.organization)]
    shares = [{"category": c, "value": values["shares"][c], "range": comp.DEFAULT_RANGES.get(c),
               "errors": placed.shares.get(c, [])} for c in CATEGORIES]
    phases = [{**p, "index": i, "errors": placed.phases.get(i, {}), "all": cur.ALL in p["categories"]}
              for i, p in enumerate(values["phases"])]
    sections = [{"section": section, "rows": [_field_row(spec, values, placed) for spec in section.fields]} for section in SECTIONS]
    return {
        "values": values, "datasets": datasets, "shares": shares, "phases": phases, "sections": sections,
        "total_rows": _field_row(TOTAL_ROWS, values, placed), "categories": CATEGORIES, "all": cur.ALL,
        "max_phases": cur.MAX_PHASES, "placed": placed, "can_launch": request.principal.has_scope("training:write"),
        "model_suggestions": MODEL_SUGGESTIONS, "general_errors": placed.general, **preflight_context(report, data),
    }


def _field_row(spec, values: dict, placed: Placed) -> dict:
    value = values.get(spec.name, "")
    return {"spec": spec, "value": value, "current": str(value), "errors": placed.fields.get(spec.name, []), "choices": spec.choices}


@org_page
@require_http_methods(["GET", "POST"])
def training_job_unified_new(request):
    org = _org_for_reading(request)
    if request.method == "POST":
        data = form_data(request.POST)
        if op := request.POST.get("phase_op"):  # a phase button without JavaScript: the edit, nothing launched
            data["phases"] = apply_phase_op(data.get("phases", default_data()["phases"]), op)
            return render(request, "training/unified_launch.html", _form_context(request, data, _preflight(request.principal, data)))
        request.principal.require_scope("training:write")
        report = _preflight(request.principal, data)
        if report["ok"]:
            try:
                job = unified_launch(principal=request.principal, data=data)
            except StudioError as exc:  # something changed between the pre-flight and the launch
                report["errors"].append({"field": exc.field or "", "message": exc.message})
            else:
                return redirect("training_job_detail", org.slug, job.public_id)
        context = _form_context(request, data, report, show_field_errors=True)
        return render(request, "training/unified_launch.html", context, status=422)
    data = default_data()
    wanted = request.GET.getlist("dataset")
    data["dataset_ids"] = [d["id"] for d in _datasets(org) if not wanted or d["id"] in wanted]
    return render(request, "training/unified_launch.html", _form_context(request, data, _preflight(request.principal, data)))


@org_page
@require_POST
def training_job_unified_preflight(request):
    """The pre-flight panel for what the form holds now, with the mix chart swapped in out of band."""
    _org_for_reading(request)
    data = form_data(request.POST)
    report = _preflight(request.principal, data)
    return render(request, "training/partials/unified_preflight.html", {**preflight_context(report, data), "refresh": True})


@org_page
@require_POST
def training_job_unified_phases(request):
    """The curriculum editor after adding, removing or moving a phase; the pre-flight comes along out of band."""
    _org_for_reading(request)
    data = form_data(request.POST)
    data["phases"] = apply_phase_op(data.get("phases", default_data()["phases"]), request.POST.get("phase_op", ""))
    report = _preflight(request.principal, data)
    return render(request, "training/partials/unified_curriculum.html", {**_form_context(request, data, report), "oob": True})
