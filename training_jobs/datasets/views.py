"""Pages: the dataset library, the import page (upload → preview with errors by line and duplicate counts →
confirm), and a dataset's page (stats, category and source breakdown, dedup report, sample rows, export,
generation with progress, a training job's data as rows)."""

from django.conf import settings
from django.contrib import messages
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from studio.errors import Invalid, StudioError
from studio.services import org_has_llm_credentials
from studio.views import org_page
from training_jobs.access import access_training_job
from training_jobs.datasets import selectors, services
from training_jobs.datasets.access import access_dataset, access_dataset_generation, access_dataset_import
from training_jobs.datasets.prompts import capacity
from training_jobs.datasets.rows import CATEGORIES
from training_jobs.datasets.services import JOB_PARTS, MAX_GENERATE_PER_CATEGORY
from training_jobs.datasets.uploads import FILE_FIELD, human_bytes, kept_upload_path
from training_jobs.job_kinds import kind_names
from training_jobs.models import StageRun, TrainingJob

SAMPLE_ROWS = 10


def _org_for_reading(request):
    request.principal.require_scope("training:read")
    return request.principal.organization


def _dataset_redirect(request, dataset):
    return redirect("dataset_detail", org_slug=request.principal.organization.slug, dataset_id=dataset.public_id)


# --- the library ---------------------------------------------------------------------------------


@org_page
@require_GET
def dataset_list(request):
    org = _org_for_reading(request)
    datasets = [{"dataset": d, "bars": selectors.category_bars(d.categories)} for d in selectors.datasets_of(org)]
    return render(request, "datasets/list.html", {
        "datasets": datasets, "categories": CATEGORIES, "can_write": request.principal.has_scope("training:write"),
    })


@org_page
@require_POST
def dataset_create(request):
    try:
        dataset = services.dataset_create(principal=request.principal, name=request.POST.get("name"), description=request.POST.get("description", ""))
    except StudioError as exc:
        if exc.status_code in (403, 404):
            raise
        messages.error(request, exc.message)
        return redirect("dataset_list", org_slug=request.principal.organization.slug)
    messages.success(request, f"Dataset {dataset.name} created: import a file, generate rows or include a training job's data.")
    return _dataset_redirect(request, dataset)


# --- imports -------------------------------------------------------------------------------------


def _upload_error(request, message: str, status: int):
    return render(request, "datasets/partials/upload_error.html", {"message": message}, status=status)


@org_page
@require_http_methods(["GET", "POST"])
def dataset_import(request):
    """GET: the upload form. POST (multipart): the preview (htmx: the fragment; else the preview page)."""
    org = _org_for_reading(request)
    if request.method == "GET":
        request.principal.require_scope("training:write")
        return render(request, "datasets/import.html", {
            "datasets": selectors.datasets_of(org).order_by("name"), "selected": request.GET.get("dataset", ""),
            "categories": CATEGORIES, "limit": _limit(),
        })
    try:
        imported = _preview(request)
    except StudioError as exc:
        if exc.status_code in (403, 404):
            raise
        return _upload_error(request, exc.message, exc.status_code)
    if request.htmx:
        return render(request, "datasets/partials/preview.html", {"imported": imported, "report": imported.report})
    return redirect("dataset_import_preview", org_slug=org.slug, dataset_import_id=imported.public_id)


def _limit() -> str:
    return human_bytes(settings.DATASET_UPLOAD_MAX_BYTES)


def _preview(request):
    upload = request.FILES.get(FILE_FIELD)
    if upload is None:
        raise Invalid("choose a JSONL or CSV file to upload", field=FILE_FIELD)
    target = request.POST.get("dataset", "")
    dataset = access_dataset(request.principal.organization, target) if target else None
    return services.dataset_import_preview(
        principal=request.principal, upload=kept_upload_path(upload), file_name=upload.name, fmt=request.POST.get("format") or None,
        dataset=dataset, dataset_name=request.POST.get("dataset_name", ""), dedup_threshold=request.POST.get("dedup_threshold"),
        default_category=request.POST.get("default_category") or None,
    )


@org_page
@require_GET
def dataset_import_preview(request, dataset_import_id):
    org = _org_for_reading(request)
    imported = access_dataset_import(org, dataset_import_id)
    return render(request, "datasets/import_preview.html", {"imported": imported, "report": imported.report})


@org_page
@require_POST
def dataset_import_confirm(request, dataset_import_id):
    imported = access_dataset_import(request.principal.organization, dataset_import_id)
    try:
        imported = services.dataset_import_confirm(principal=request.principal, dataset_import=imported,
                                                   skip_invalid=request.POST.get("skip_invalid") == "on")
    except StudioError as exc:
        if exc.status_code in (403, 404) or not request.htmx:
            raise
        return _upload_error(request, exc.message, exc.status_code)
    messages.success(request, f"{imported.imported_count:,} rows imported into {imported.dataset.name}.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("dataset_detail", args=[request.principal.organization.slug, imported.dataset.public_id]))
    return _dataset_redirect(request, imported.dataset)


# --- a dataset -----------------------------------------------------------------------------------


def _jobs_with_data(org):
    """Jobs (of the kinds that give dataset rows: character) whose DPO data or introspection stage has written artifacts, newest first."""
    stages = StageRun.objects.filter(job__organization=org, stage__in=["dpo_data", "introspection"]).exclude(artifacts={})
    return TrainingJob.objects.filter(organization=org, kind__in=kind_names(gives_dataset_rows=True), stages__in=stages).distinct().order_by("-created_at")[:50]


@org_page
@require_GET
def dataset_detail(request, dataset_id):
    org = _org_for_reading(request)
    dataset = access_dataset(org, dataset_id)
    category = request.GET.get("category") if request.GET.get("category") in CATEGORIES else None
    stats = dataset.stats or {}
    can_write = request.principal.has_scope("training:write")
    return render(request, "datasets/detail.html", {
        "dataset": dataset, "bars": selectors.category_bars(dataset.categories), "sources": stats.get("sources", {}),
        "source_count": stats.get("source_count", 0), "dedup": selectors.dedup_report(dataset), "category": category,
        "rows": selectors.rows_of(dataset, category=category)[:SAMPLE_ROWS], "categories": CATEGORIES,
        "generate_fields": [(c, min(MAX_GENERATE_PER_CATEGORY, capacity(c))) for c in CATEGORIES],
        "generations": dataset.generations.all()[:3], "can_write": can_write,
        "jobs": _jobs_with_data(org) if can_write else [], "job_parts": JOB_PARTS,
        "offline": not org_has_llm_credentials(organization=org),
    })


@org_page
@require_GET
def dataset_export(request, dataset_id):
    org = _org_for_reading(request)
    dataset = access_dataset(org, dataset_id)
    category = request.GET.get("category") if request.GET.get("category") in CATEGORIES else None
    response = StreamingHttpResponse(selectors.export_lines(dataset, category=category), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{slugify(dataset.name) or "dataset"}.jsonl"'
    return response


@org_page
@require_POST
def dataset_generate(request, dataset_id):
    dataset = access_dataset(request.principal.organization, dataset_id)
    per_category = {c: _int(request.POST.get(f"n_{c}")) for c in CATEGORIES if request.POST.get(f"n_{c}", "").strip()}
    try:
        generation = services.dataset_generation_start(principal=request.principal, dataset=dataset, per_category=per_category,
                                                       model=request.POST.get("model", "").strip() or None)
    except StudioError as exc:
        if exc.status_code in (403, 404) or not request.htmx:
            raise
        return _upload_error(request, exc.message, exc.status_code)
    if request.htmx:
        return render(request, "datasets/partials/generation.html", {"g": generation})
    messages.success(request, f"Writing {generation.calls_total} rows ({generation.engine} engine).")
    return _dataset_redirect(request, dataset)


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return value  # the service names the field


@org_page
@require_GET
def dataset_generation_progress(request, dataset_generation_id):
    """The progress fragment a generation's page polls until it is finished."""
    org = _org_for_reading(request)
    return render(request, "datasets/partials/generation.html", {"g": access_dataset_generation(org, dataset_generation_id)})


def _include_choice(request) -> tuple[list[str], dict]:
    parts = [p for p in JOB_PARTS if request.POST.get(f"part_{p}") == "on"]
    return parts, {p: request.POST.get(f"category_{p}") for p in parts if request.POST.get(f"category_{p}")}


@org_page
@require_POST
def dataset_include_job_preview(request, dataset_id):
    """The include form's effect on the dataset's mix, shown (htmx) before the rows are added."""
    dataset = access_dataset(request.principal.organization, dataset_id)
    job = access_training_job(request.principal.organization, request.POST.get("training_job_id", ""))
    parts, categories = _include_choice(request)
    try:
        preview = services.dataset_include_job_preview(principal=request.principal, dataset=dataset, job=job,
                                                       parts=parts or None, categories=categories)
    except StudioError as exc:
        if exc.status_code in (403, 404):
            raise
        return render(request, "datasets/partials/include_preview.html", {"error": exc}, status=exc.status_code)
    return render(request, "datasets/partials/include_preview.html", {"preview": preview, "job": job})


@org_page
@require_POST
def dataset_include_job(request, dataset_id):
    dataset = access_dataset(request.principal.organization, dataset_id)
    job = access_training_job(request.principal.organization, request.POST.get("training_job_id", ""))
    parts, categories = _include_choice(request)
    try:
        report = services.dataset_include_job(principal=request.principal, dataset=dataset, job=job, parts=parts or None, categories=categories)
    except StudioError as exc:
        if exc.status_code in (403, 404):
            raise
        messages.error(request, exc.message)
        return _dataset_redirect(request, dataset)
    dups = report["duplicates"]
    messages.success(request, f"{report['added']:,} rows from {job.name} added ({dups['exact']} exact and {dups['near']} near duplicates left out).")
    return _dataset_redirect(request, dataset)
