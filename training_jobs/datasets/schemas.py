from datetime import datetime
from uuid import UUID

from ninja import Field, Schema


class DatasetIn(Schema):
    name: str = Field(..., description="unique in the org, at most 200 characters")
    description: str = ""


class DatasetOut(Schema):
    id: UUID = Field(..., alias="public_id")
    name: str
    description: str
    row_count: int
    categories: dict[str, int] = Field(..., description="rows per category, every category of the taxonomy")
    created_at: datetime
    updated_at: datetime


class DedupTotalsOut(Schema):
    exact: int
    near: int


class DatasetDetailOut(DatasetOut):
    sources: dict[str, int] = Field(..., description="rows per source, the 50 largest")
    source_count: int
    dedup: DedupTotalsOut = Field(..., description="duplicates removed so far, over every import, generation and job included")

    @staticmethod
    def resolve_sources(dataset) -> dict[str, int]:
        return (dataset.stats or {}).get("sources", {})

    @staticmethod
    def resolve_source_count(dataset) -> int:
        return (dataset.stats or {}).get("source_count", 0)

    @staticmethod
    def resolve_dedup(dataset) -> dict:
        return (dataset.stats or {}).get("dedup", {"exact": 0, "near": 0})


class DatasetRowErrorOut(Schema):
    line: int
    field: str
    message: str


class DuplicateExampleOut(Schema):
    kind: str = Field(..., description="exact or near")
    similarity: float = Field(..., description="estimated Jaccard similarity of the word 5-grams (1 for exact)")
    line: int | None = Field(None, description="the dropped row's line in the file")
    text: str
    kept: dict = Field(..., description="{line: n} (a row of the file) or {row: position} (a row already in the dataset)")
    kept_text: str = ""


class DuplicatesOut(Schema):
    exact: int
    near: int
    threshold: float
    against_dataset: DedupTotalsOut = Field(..., description="of those, duplicates of rows already in the dataset")
    examples: list[DuplicateExampleOut]


class ImportReportOut(Schema):
    rows_read: int
    valid: int
    invalid: int
    error_count: int
    errors: list[DatasetRowErrorOut] = Field(..., description="the first 200 errors, by line and field")
    file_error: DatasetRowErrorOut | None = Field(None, description="why the whole file could not be read")
    duplicates: DuplicatesOut
    to_import: int = Field(..., description="valid rows that are not duplicates: what the confirm stores")
    categories: dict[str, int]
    sources: dict[str, int]
    sample: list[dict] = Field(..., description="the first valid rows: {line, category, source, instruction, input, output, messages}")


class DatasetImportOut(Schema):
    id: UUID = Field(..., alias="public_id")
    dataset_id: UUID | None = Field(None, description="the target; null while a new dataset waits for the confirm")
    dataset_name: str = Field(..., alias="target_name")
    file_name: str
    format: str
    size_bytes: int
    dedup_threshold: float
    status: str = Field(..., description="previewed, confirmed or failed (the file could not be read)")
    imported: int = Field(..., alias="imported_count", description="rows stored by the confirm")
    report: ImportReportOut
    created_at: datetime
    confirmed_at: datetime | None

    @staticmethod
    def resolve_dataset_id(dataset_import) -> UUID | None:
        return dataset_import.dataset.public_id if dataset_import.dataset else None


class ConfirmIn(Schema):
    skip_invalid: bool = Field(False, description="import the valid rows of a preview that has invalid ones")


class DedupRunOut(Schema):
    kind: str = Field(..., description="import, generate or job")
    label: str
    at: datetime
    added: int
    duplicates: DedupTotalsOut
    threshold: float
    against_dataset: DedupTotalsOut
    examples: list[dict]


class DedupReportOut(Schema):
    row_count: int
    totals: DedupTotalsOut
    runs: list[DedupRunOut] = Field(..., description="the last 20 additions, newest first")


class RowOut(Schema):
    id: int = Field(..., description="the row id (what rows_by_category returns to the trainer)")
    position: int
    category: str
    source: str
    instruction: str
    input: str
    output: str
    messages: list[dict] | None


class DatasetGenerateIn(Schema):
    per_category: dict[str, int] = Field(..., description="rows to write per category, e.g. {\"technical\": 20, \"creative\": 10}")
    model: str | None = Field(None, description="default: the org's training teacher model (the offline engine without credentials)")


class DatasetGenerationOut(Schema):
    id: UUID = Field(..., alias="public_id")
    dataset_id: UUID = Field(..., alias="dataset.public_id")
    status: str
    engine: str
    model: str
    per_category: dict[str, int]
    calls_done: int
    calls_total: int
    created: int = Field(..., alias="created_count")
    duplicates: DedupTotalsOut
    failed: int = Field(..., description="prompts that got no usable answer; every prompt failed: the generation failed")
    error: str
    created_at: datetime
    finished_at: datetime | None

    @staticmethod
    def resolve_duplicates(generation) -> dict:
        return generation.report.get("duplicates", {"exact": 0, "near": 0})

    @staticmethod
    def resolve_failed(generation) -> int:
        return generation.report.get("failed", 0)


class IncludeJobIn(Schema):
    training_job_id: str = Field(..., description="the training job's id (404 when it is not one of the org's jobs)")
    parts: list[str] = Field(["dpo", "reflections"], description="dpo (prompt → chosen), reflections (prompt → response), interactions (chats)")
    categories: dict[str, str] = Field({}, description="category per part; default dpo: conversational, reflections: empathetic, interactions: conversational")
    dedup_threshold: float | None = None


class IncludedPartOut(Schema):
    rows: int
    skipped: int
    missing: bool


class IncludeJobOut(Schema):
    added: int
    duplicates: DedupTotalsOut
    threshold: float
    against_dataset: DedupTotalsOut
    parts: dict[str, IncludedPartOut]
