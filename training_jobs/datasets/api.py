"""Datasets API: create and list datasets, import files (preview, then confirm), stats, dedup report, rows,
streamed export, generation with the LLM gateway, and a training job's data as rows.

Reads need `training:read`, changes `training:write`. Every object loads through the org-scoped access
helpers: another org's dataset, import or generation is a 404.
"""

from uuid import UUID

from django.http import StreamingHttpResponse
from django.utils.text import slugify
from ninja import File, Form, Router, Status
from ninja.files import UploadedFile

from studio.errors import Invalid
from studio.pagination import paginated
from training_jobs.access import access_training_job
from training_jobs.datasets import selectors, services
from training_jobs.datasets.access import access_dataset, access_dataset_generation, access_dataset_import
from training_jobs.datasets.models import Dataset
from training_jobs.datasets.rows import CATEGORIES
from training_jobs.datasets.schemas import (
    ConfirmIn,
    DatasetDetailOut,
    DatasetImportOut,
    DatasetIn,
    DatasetOut,
    DedupReportOut,
    DatasetGenerateIn,
    DatasetGenerationOut,
    IncludeJobIn,
    IncludeJobOut,
    RowOut,
)
from training_jobs.datasets.uploads import FILE_FIELD, kept_upload_path

router = Router(tags=["datasets"])


def _dataset(request, dataset_id) -> Dataset:
    return access_dataset(request.auth.organization, dataset_id)


def _category(category: str | None) -> str | None:
    if category and category not in CATEGORIES:
        raise Invalid(f"unknown category {category!r}: use one of {', '.join(CATEGORIES)}", field="category")
    return category or None


# --- datasets ------------------------------------------------------------------------------------


@router.post("/datasets", response={201: DatasetDetailOut}, summary="Create an empty dataset")
def create_dataset(request, payload: DatasetIn):
    dataset = services.dataset_create(principal=request.auth, name=payload.name, description=payload.description)
    return Status(201, dataset)


@router.get("/datasets", response=list[DatasetOut], summary="The org's datasets, most recently changed first")
@paginated
def list_datasets(request):
    request.auth.require_scope("training:read")
    return selectors.datasets_of(request.auth.organization)


@router.get("/datasets/{dataset_id}", response=DatasetDetailOut, summary="A dataset's stats: rows per category and source, duplicates removed")
def get_dataset(request, dataset_id: UUID):
    request.auth.require_scope("training:read")
    return _dataset(request, dataset_id)


@router.get("/datasets/{dataset_id}/rows", response=list[RowOut], summary="A dataset's rows in order, optionally of one category")
@paginated
def list_rows(request, dataset_id: UUID, category: str | None = None):
    request.auth.require_scope("training:read")
    return selectors.rows_of(_dataset(request, dataset_id), category=_category(category))


@router.get("/datasets/{dataset_id}/dedup-report", response=DedupReportOut, summary="Duplicates removed: totals and the last 20 additions with examples")
def get_dedup_report(request, dataset_id: UUID):
    request.auth.require_scope("training:read")
    return selectors.dedup_report(_dataset(request, dataset_id))


@router.get("/datasets/{dataset_id}/export", summary="The rows as JSONL with _category and _source (streamed; imports again as is)")
def export_dataset(request, dataset_id: UUID, category: str | None = None):
    request.auth.require_scope("training:read")
    dataset = _dataset(request, dataset_id)
    response = StreamingHttpResponse(selectors.export_lines(dataset, category=_category(category)), content_type="application/x-ndjson")
    response["Content-Disposition"] = f'attachment; filename="{slugify(dataset.name) or "dataset"}.jsonl"'
    return response


# --- imports -------------------------------------------------------------------------------------


@router.post("/datasets/{dataset_id}/imports", response={201: DatasetImportOut},
             summary="Upload a JSONL or CSV file (multipart, field 'file'): a preview report; nothing is imported yet")
def preview_import(
    request, dataset_id: UUID, file: UploadedFile | None = File(None), format: str | None = Form(None),
    dedup_threshold: str | None = Form(None), default_category: str | None = Form(None),
):
    """Rows: `instruction`, `input`, `output` or chat `messages`, with `_category` and `_source`. The report lists
    errors by line and field, and exact and near duplicates (within the file and against the dataset's rows).
    413 past DATASET_UPLOAD_MAX_BYTES."""
    request.auth.require_scope("training:write")
    dataset = _dataset(request, dataset_id)
    if file is None:
        raise Invalid(f"send the file as multipart/form-data in a field named '{FILE_FIELD}'", field=FILE_FIELD)
    imported = services.dataset_import_preview(
        principal=request.auth, upload=kept_upload_path(file), file_name=file.name, fmt=format, dataset=dataset,
        dedup_threshold=dedup_threshold, default_category=default_category,
    )
    return Status(201, imported)


@router.get("/dataset-imports/{dataset_import_id}", response=DatasetImportOut)
def get_import(request, dataset_import_id: UUID):
    request.auth.require_scope("training:read")
    return access_dataset_import(request.auth.organization, dataset_import_id)


@router.post("/dataset-imports/{dataset_import_id}/confirm", response={201: DatasetImportOut},
             summary="Store a preview's valid, non-duplicate rows (409 with invalid rows unless skip_invalid)")
def confirm_import(request, dataset_import_id: UUID, payload: ConfirmIn):
    imported = access_dataset_import(request.auth.organization, dataset_import_id)
    imported = services.dataset_import_confirm(principal=request.auth, dataset_import=imported, skip_invalid=payload.skip_invalid)
    return Status(201, imported)


# --- generation and a job's data -----------------------------------------------------------------


@router.post("/datasets/{dataset_id}/generate", response={202: DatasetGenerationOut},
             summary="Write rows with the LLM gateway from built-in prompt templates, per category (background)")
def generate(request, dataset_id: UUID, payload: DatasetGenerateIn):
    dataset = _dataset(request, dataset_id)
    generation = services.dataset_generation_start(principal=request.auth, dataset=dataset, per_category=payload.per_category, model=payload.model)
    return Status(202, access_dataset_generation(request.auth.organization, generation.public_id))


@router.get("/dataset-generations/{dataset_generation_id}", response=DatasetGenerationOut)
def get_generation(request, dataset_generation_id: UUID):
    request.auth.require_scope("training:read")
    return access_dataset_generation(request.auth.organization, dataset_generation_id)


@router.post("/datasets/{dataset_id}/include-job", response={201: IncludeJobOut},
             summary="Add a character training job's DPO pairs and reflections as rows")
def include_job(request, dataset_id: UUID, payload: IncludeJobIn):
    dataset = _dataset(request, dataset_id)
    job = access_training_job(request.auth.organization, payload.training_job_id)
    report = services.dataset_include_job(principal=request.auth, dataset=dataset, job=job, parts=payload.parts,
                                          categories=payload.categories, dedup_threshold=payload.dedup_threshold)
    return Status(201, report)

