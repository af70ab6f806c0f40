"""Dataset workflows: create, import (preview, then confirm), generate rows with the LLM gateway, include a
training job's data. Every way rows arrive goes through deduplication against the rows already there.

Keyword-only functions named <entity>_<action>; the API, the pages and the Celery tasks call these.
"""

from __future__ import annotations

import shutil
import time
from array import array
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from studio.errors import Conflict, Invalid
from studio.principal import Principal
from studio.work.lifecycle import TakenOver
from studio.work.queue import enqueue
from training_jobs.datasets.dedup import DEFAULT_THRESHOLD, DedupResult, Deduplicator, content_hash
from training_jobs.datasets.models import Dataset, DatasetGeneration, DatasetImport, DatasetRow
from training_jobs.datasets.prompts import SYSTEM, capacity, generation_prompts
from training_jobs.datasets.rows import (
    CATEGORIES,
    FORMATS,
    MAX_SOURCE,
    FileUnreadable,
    Row,
    capped_lines,
    iter_rows,
    parse_jsonl_line,
    parse_record,
)
from training_jobs.datasets.uploads import upload_dir
from training_jobs.job_kinds import kind_for

MAX_REPORTED_ERRORS = 200
EXAMPLES = 10  # duplicate pairs shown per kind
SAMPLE_ROWS = 5
TOP_SOURCES = 50
DEDUP_RUNS_KEPT = 20
RUNS_WITH_EXAMPLES = 5
INSERT_BATCH = 1000
MAX_GENERATE_PER_CATEGORY = 200
PROGRESS_CHUNK = 64  # calls per gateway batch; progress is saved between batches


def _who(principal: Principal) -> dict:
    user = principal.user if getattr(principal.user, "is_authenticated", False) else None
    return {"created_by": user, "created_by_key": principal.api_key}


# --- datasets ------------------------------------------------------------------------------------


def clean_name(value) -> str:
    name = (value or "").strip() if isinstance(value, str) else ""
    if not name:
        raise Invalid("a dataset needs a name", field="name")
    if len(name) > 200:
        raise Invalid("the name must be at most 200 characters", field="name")
    return name


def clean_threshold(value) -> float:
    if value in (None, ""):
        return DEFAULT_THRESHOLD
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        raise Invalid("dedup_threshold must be a number between 0.5 and 1", field="dedup_threshold") from None
    if not 0.5 <= threshold <= 1:
        raise Invalid("dedup_threshold must be between 0.5 and 1 (1: only near-identical rows)", field="dedup_threshold")
    return threshold


def clean_category(value, *, field: str, required: bool = False) -> str | None:
    if value in (None, ""):
        if required:
            raise Invalid(f"{field} is missing", field=field)
        return None
    if value not in CATEGORIES:
        raise Invalid(f"unknown category {value!r}: use one of {', '.join(CATEGORIES)}", field=field)
    return value


def dataset_create(*, principal: Principal, name, description: str = "") -> Dataset:
    principal.require_scope("training:write")
    name = clean_name(name)
    try:
        with transaction.atomic():
            return Dataset.objects.create(organization=principal.organization, name=name, description=(description or "").strip()[:4000],
                                          stats=_empty_stats(), **_who(principal))
    except IntegrityError:
        raise Conflict(f"a dataset named {name!r} already exists", field="name") from None


def _empty_stats() -> dict:
    return {"categories": {c: 0 for c in CATEGORIES}, "sources": {}, "source_count": 0, "dedup": {"exact": 0, "near": 0}, "dedup_runs": []}


def _refresh_stats(dataset: Dataset, run: dict | None) -> None:
    """Counts per category and source from the rows; the dedup run (if any) added to the totals and history."""
    categories = dict(dataset.rows.order_by().values_list("category").annotate(n=Count("id")))
    sources = dataset.rows.order_by().values("source").annotate(n=Count("id")).order_by("-n", "source")
    stats = {**_empty_stats(), **(dataset.stats or {})}
    stats["categories"] = {c: categories.get(c, 0) for c in CATEGORIES}
    stats["sources"] = {s["source"]: s["n"] for s in sources[:TOP_SOURCES]}
    stats["source_count"] = sources.count()
    if run:
        stats["dedup"] = {k: stats["dedup"].get(k, 0) + run["duplicates"][k] for k in ("exact", "near")}
        # the stats travel with every dataset loaded: older runs keep their counts but drop their examples
        older = [{**r, "examples": []} if i >= RUNS_WITH_EXAMPLES - 1 else r for i, r in enumerate(stats["dedup_runs"])]
        stats["dedup_runs"] = [run, *older][:DEDUP_RUNS_KEPT]
    dataset.stats, dataset.row_count, dataset.revision = stats, sum(categories.values()), dataset.revision + 1
    dataset.save(update_fields=["stats", "row_count", "revision", "updated_at"])


def _next_position(dataset: Dataset) -> int:
    last = dataset.rows.aggregate(last=Max("position"))["last"]
    return 0 if last is None else last + 1


def _existing(dataset: Dataset | None, dedup: Deduplicator) -> array:
    """Adds the dataset's rows to `dedup` as existing texts; returns their positions (for examples)."""
    positions = array("q")
    if dataset is None:
        return positions
    rows = dataset.rows.order_by("position").values_list("position", "instruction", "input", "output", "messages")
    for position, instruction, input_, output, messages in rows.iterator(chunk_size=2000):
        dedup.add_existing(Row("", "", instruction, input_, output, messages).text())
        positions.append(position)
    return positions


def _row(dataset: Dataset, position: int, row: Row, content_hash: str) -> DatasetRow:
    return DatasetRow(dataset=dataset, position=position, category=row.category, source=row.source, instruction=row.instruction,
                      input=row.input, output=row.output, messages=row.messages, content_hash=content_hash)


def _insert(dataset: Dataset, rows: Iterable[tuple[Row, str]]) -> int:
    """bulk_create in batches from an iterator of (row, content hash): never more than a batch in memory."""
    position, batch, count = _next_position(dataset), [], 0
    for row, text_hash in rows:
        batch.append(_row(dataset, position, row, text_hash))
        position += 1
        if len(batch) == INSERT_BATCH:
            DatasetRow.objects.bulk_create(batch)
            count, batch = count + len(batch), []
    if batch:
        DatasetRow.objects.bulk_create(batch)
        count += len(batch)
    return count


def _snippet(text: str) -> str:
    return text if len(text) <= 200 else text[:199] + "…"


def _dedup_run(kind: str, label: str, result: DedupResult, added: int, examples: list | None = None) -> dict:
    return {"kind": kind, "label": label[:200], "at": timezone.now().isoformat(), "added": added,
            "duplicates": {"exact": result.exact, "near": result.near}, "threshold": result.threshold,
            "against_dataset": result.against_existing, "examples": (examples or [])[:2 * EXAMPLES]}


def _append_rows(dataset: Dataset, rows: list[Row], *, threshold: float, kind: str, label: str) -> dict:
    """Rows from generation or a job: dedup against each other and the dataset, store the rest. In a transaction."""
    with transaction.atomic():
        dataset = Dataset.objects.select_for_update().get(pk=dataset.pk)
        dedup = Deduplicator(threshold, examples=EXAMPLES)
        positions = _existing(dataset, dedup)
        hashes = [dedup.add(row.text()) for row in rows]
        result = dedup.result()
        existing = result.existing

        def describe(index: int) -> dict:
            if index < existing:
                return {"row": positions[index]}
            return {"text": _snippet(rows[index - existing].text())}

        examples = [{"kind": p.kind, "similarity": p.similarity, "text": _snippet(rows[p.dropped - existing].text()),
                     "kept": describe(p.kept)} for p in result.pairs]
        kept = ((row, h) for row, h, keep in zip(rows, hashes, result.keep) if keep)
        added = _insert(dataset, kept)
        run = _dedup_run(kind, label, result, added, examples)
        _refresh_stats(dataset, run)
    return run


# --- imports: preview ----------------------------------------------------------------------------


def _stored_path(name: str) -> Path:
    return Path(settings.DATASET_IMPORTS_DIR) / name


def _keep_path(dataset_import: DatasetImport) -> Path:
    return _stored_path(dataset_import.stored_file + ".keep.npy")


def guess_format(file_name: str, fmt: str | None) -> str:
    if fmt:
        if fmt not in FORMATS:
            raise Invalid(f"format must be one of {', '.join(FORMATS)}", field="format")
        return fmt
    return "csv" if file_name.lower().endswith(".csv") else "jsonl"


def dataset_import_preview(
    *, principal: Principal, upload: Path, file_name: str, fmt: str | None = None, dataset: Dataset | None = None,
    dataset_name: str = "", dedup_threshold=None, default_category=None,
) -> DatasetImport:
    """Validate every row of the uploaded file (streamed) and deduplicate the valid ones against each other and
    the target dataset: a report with errors by line and duplicate counts. Nothing is imported.

    `upload` is moved into DATASET_IMPORTS_DIR; the target is `dataset`, or a new dataset named `dataset_name`
    that the confirm creates."""
    principal.require_scope("training:write")
    if dataset is None:
        dataset_name = clean_name(dataset_name)
        if Dataset.objects.filter(organization=principal.organization, name=dataset_name).exists():
            raise Conflict(f"a dataset named {dataset_name!r} already exists: import into it, or pick another name", field="dataset_name")
    file_name = Path(file_name or "upload").name[:255]
    imported = DatasetImport(
        organization=principal.organization, dataset=dataset, dataset_name="" if dataset else dataset_name, file_name=file_name,
        format=guess_format(file_name, fmt), dedup_threshold=clean_threshold(dedup_threshold),
        default_category=clean_category(default_category, field="default_category") or "", status=DatasetImport.Status.PREVIEWED,
        size_bytes=upload.stat().st_size, **_who(principal),
    )
    imported.stored_file = f"{imported.public_id}.{imported.format}"
    shutil.move(upload, upload_dir() / imported.stored_file)  # a rename: uploads stream into the same folder
    try:
        imported.report = _analyse(imported)
    except Exception:
        _stored_path(imported.stored_file).unlink(missing_ok=True)
        _keep_path(imported).unlink(missing_ok=True)
        raise
    if imported.report.get("file_error"):
        imported.status = DatasetImport.Status.FAILED
    imported.save()
    return imported


def _row_defaults(dataset_import: DatasetImport) -> dict:
    return {"default_category": dataset_import.default_category or None, "default_source": f"import:{dataset_import.file_name}"[:MAX_SOURCE]}


class _Scan:
    """The counts and the first errors of one pass over a file; per valid row its line, category and source."""

    def __init__(self):
        self.rows_read = self.invalid = self.error_count = 0
        self.errors: list[dict] = []
        self.lines, self.categories, self.sources = array("q"), array("B"), array("q")
        self.source_ids: dict[str, int] = {}
        self.sample: list[dict] = []

    def error(self, errors) -> None:
        self.invalid += 1
        self.error_count += len(errors)
        room = MAX_REPORTED_ERRORS - len(self.errors)
        self.errors.extend(e.as_dict() for e in errors[:room])

    def valid(self, line: int, row: Row) -> None:
        self.lines.append(line)
        self.categories.append(CATEGORIES.index(row.category))
        self.sources.append(self.source_ids.setdefault(row.source, len(self.source_ids)))
        if len(self.sample) < SAMPLE_ROWS:
            self.sample.append({"line": line, "category": row.category, "source": row.source, "instruction": row.instruction,
                                "input": row.input, "output": row.output, "messages": row.messages})


def _analyse(dataset_import: DatasetImport) -> dict:
    """One streaming pass: validation and signatures; then dedup. Writes the keep mask beside the file."""
    started = time.perf_counter()
    dataset = dataset_import.dataset
    dedup = Deduplicator(dataset_import.dedup_threshold, examples=EXAMPLES)
    positions = _existing(dataset, dedup)
    scan, file_error = _Scan(), None
    path = _stored_path(dataset_import.stored_file)
    try:
        with open(path, "rb") as fh:
            for line, parsed in iter_rows(fh, dataset_import.format, **_row_defaults(dataset_import)):
                scan.rows_read += 1
                if isinstance(parsed, list):
                    scan.error(parsed)
                else:
                    dedup.add(parsed.text())
                    scan.valid(line, parsed)
    except FileUnreadable as exc:
        file_error = exc.error.as_dict()
        scan.error([exc.error])
    validated = time.perf_counter()
    result = dedup.result()
    keep = result.keep
    np.save(_keep_path(dataset_import), keep)
    kept_categories = np.bincount(np.frombuffer(scan.categories, dtype=np.uint8)[keep], minlength=len(CATEGORIES))
    kept_sources = np.bincount(np.frombuffer(scan.sources, dtype=np.int64)[keep], minlength=len(scan.source_ids))
    names = list(scan.source_ids)
    top_sources = sorted(((int(n), names[i]) for i, n in enumerate(kept_sources) if n), key=lambda p: (-p[0], p[1]))[:TOP_SOURCES]
    report = {
        "rows_read": scan.rows_read, "valid": len(scan.lines), "invalid": scan.invalid, "error_count": scan.error_count,
        "errors": scan.errors, "file_error": file_error,
        "duplicates": {"exact": result.exact, "near": result.near, "threshold": result.threshold,
                       "against_dataset": result.against_existing,
                       "examples": _examples(dataset_import, dataset, result, positions, scan.lines)},
        "to_import": result.kept, "categories": {c: int(n) for c, n in zip(CATEGORIES, kept_categories)},
        "sources": {name: n for n, name in top_sources}, "source_count": int(np.count_nonzero(kept_sources)),
        "sample": scan.sample, "dataset_revision": dataset.revision if dataset else 0,
        "seconds": {"validate": round(validated - started, 3), "dedup": round(time.perf_counter() - validated, 3)},
    }
    return report


def _examples(dataset_import, dataset, result: DedupResult, positions, lines) -> list[dict]:
    """The example pairs with their texts: file rows by line (one more pass over the file), dataset rows by position."""
    existing = result.existing
    where = lambda index: {"row": positions[index]} if index < existing else {"line": lines[index - existing]}  # noqa: E731
    pairs = [(p, where(p.dropped), where(p.kept)) for p in result.pairs]
    wanted_lines = {w["line"] for _, a, b in pairs for w in (a, b) if "line" in w}
    wanted_rows = {w["row"] for _, a, b in pairs for w in (a, b) if "row" in w}
    texts = {("line", line): row.text() for line, row in _rows_at_lines(dataset_import, wanted_lines)}
    if wanted_rows and dataset is not None:
        for row in dataset.rows.filter(position__in=wanted_rows):
            texts[("row", row.position)] = row.as_row().text()
    out = []
    for pair, dropped, kept in pairs:
        out.append({
            "kind": pair.kind, "similarity": pair.similarity, "line": dropped.get("line"),
            "text": _snippet(texts.get(("line", dropped.get("line")), "")), "kept": kept,
            "kept_text": _snippet(texts.get(next(iter(kept.items())), "")),
        })
    return out


def _rows_at_lines(dataset_import: DatasetImport, wanted: set[int]) -> Iterator[tuple[int, Row]]:
    """The valid rows at these lines. JSONL: only those lines are parsed; CSV needs the whole parse."""
    if not wanted:
        return
    with open(_stored_path(dataset_import.stored_file), "rb") as fh:
        if dataset_import.format == "jsonl":
            for line, raw in capped_lines(fh):
                if line in wanted and raw is not None:
                    parsed = parse_jsonl_line(raw.removeprefix(b"\xef\xbb\xbf"), line, **_row_defaults(dataset_import))
                    if isinstance(parsed, Row):
                        yield line, parsed
            return
        for line, parsed in iter_rows(fh, dataset_import.format, **_row_defaults(dataset_import)):
            if line in wanted and isinstance(parsed, Row):
                yield line, parsed


# --- imports: confirm ----------------------------------------------------------------------------


def dataset_import_confirm(*, principal: Principal, dataset_import: DatasetImport, skip_invalid: bool = False) -> DatasetImport:
    """Store the preview's valid, non-duplicate rows. A preview with invalid rows needs skip_invalid (409
    otherwise); when rows reached the dataset since the preview, deduplication runs again first."""
    principal.require_scope("training:write")
    with transaction.atomic():
        # of=self: PostgreSQL refuses FOR UPDATE on the nullable side of the outer join to `dataset`
        imported = DatasetImport.objects.select_for_update(of=("self",)).select_related("dataset").get(pk=dataset_import.pk)
        _check_confirmable(imported, skip_invalid)
        if imported.dataset is None:
            imported.dataset = dataset_create(principal=principal, name=imported.dataset_name)
        dataset = Dataset.objects.select_for_update().get(pk=imported.dataset.pk)
        imported.dataset = dataset
        if dataset.revision != imported.report.get("dataset_revision", 0):
            imported.report = _analyse(imported)  # rows arrived since the preview: dedup against them too
        keep = np.load(_keep_path(imported))
        added = _insert(dataset, _kept_rows(imported, keep))
        report = imported.report
        run = {"kind": "import", "label": imported.file_name, "at": timezone.now().isoformat(), "added": added,
               "duplicates": {k: report["duplicates"][k] for k in ("exact", "near")}, "threshold": imported.dedup_threshold,
               "against_dataset": report["duplicates"]["against_dataset"], "examples": report["duplicates"]["examples"]}
        _refresh_stats(dataset, run)
        imported.status, imported.imported_count, imported.confirmed_at = DatasetImport.Status.CONFIRMED, added, timezone.now()
        imported.dataset_name = ""
        imported.save(update_fields=["status", "imported_count", "confirmed_at", "dataset", "dataset_name", "report"])
    for path in (_stored_path(imported.stored_file), _keep_path(imported)):  # the rows are in the database now
        path.unlink(missing_ok=True)
    return imported


def _check_confirmable(imported: DatasetImport, skip_invalid: bool) -> None:
    if imported.status == DatasetImport.Status.CONFIRMED:
        raise Conflict("this import is already confirmed")
    if imported.status == DatasetImport.Status.FAILED:
        raise Conflict(f"this file could not be read ({imported.report['file_error']['message']}): fix it and upload it again")
    if imported.error_count and not skip_invalid:
        raise Conflict(f"{imported.report['invalid']} row(s) are invalid: fix the file and upload it again, "
                       "or skip them (skip_invalid) to import only the valid rows")
    if not imported.report.get("valid"):
        raise Conflict("the file has no valid rows to import")
    if not _stored_path(imported.stored_file).exists():
        raise Conflict("the uploaded file is gone (previews are kept for a day): upload it again")


def _kept_rows(imported: DatasetImport, keep: np.ndarray) -> Iterator[tuple[Row, str]]:
    """The preview's kept rows, read from the file again (the same parse, so the same valid rows in order)."""
    index = 0
    with open(_stored_path(imported.stored_file), "rb") as fh:
        for _, parsed in iter_rows(fh, imported.format, **_row_defaults(imported)):
            if isinstance(parsed, Row):
                if keep[index]:
                    yield parsed, content_hash(parsed.text())
                index += 1


def dataset_imports_reap(*, older_than_s: float = 86_400) -> int:
    """Remove previews nobody confirmed within a day, and their files."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    stale = list(DatasetImport.objects.exclude(status=DatasetImport.Status.CONFIRMED).filter(created_at__lt=cutoff))
    for imported in stale:
        _stored_path(imported.stored_file).unlink(missing_ok=True)
        _keep_path(imported).unlink(missing_ok=True)
    for part in upload_dir().glob("incoming-*.part"):  # an upload whose request died mid-way
        if part.stat().st_mtime < time.time() - older_than_s:
            part.unlink(missing_ok=True)
    return DatasetImport.objects.filter(pk__in=[i.pk for i in stale]).delete()[0]


# --- generation ----------------------------------------------------------------------------------


def clean_per_category(value) -> dict[str, int]:
    if not isinstance(value, dict) or not value:
        raise Invalid("per_category must map categories to how many rows to write, e.g. {\"technical\": 20}", field="per_category")
    cleaned = {}
    for category, n in value.items():
        clean_category(category, field=f"per_category.{category}", required=True)
        limit = min(MAX_GENERATE_PER_CATEGORY, capacity(category))
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= limit:
            raise Invalid(f"rows for {category} must be a whole number from 0 to {limit}", field=f"per_category.{category}")
        if n:
            cleaned[category] = n
    if not cleaned:
        raise Invalid("ask for at least one row", field="per_category")
    return cleaned


def _generation_model(organization, model: str | None) -> tuple[str, str]:
    """(model, engine): the offline engine when the org has no credentials (as the pipeline decides)."""
    from studio.llm.engines import OFFLINE_MODEL
    from studio.config.selectors import effective_tree
    from studio.services import org_has_llm_credentials

    if not org_has_llm_credentials(organization=organization):
        return OFFLINE_MODEL, "offline"
    return model or effective_tree(organization)["training.defaults.teacher_model"], "providers"


def dataset_generation_start(*, principal: Principal, dataset: Dataset, per_category, model: str | None = None) -> DatasetGeneration:
    principal.require_scope("training:write")
    per_category = clean_per_category(per_category)
    if model is not None and (not isinstance(model, str) or not model.strip() or len(model) > 200):
        raise Invalid("model must be a model name", field="model")
    model, engine = _generation_model(principal.organization, model and model.strip())
    generation = DatasetGeneration.objects.create(
        organization=principal.organization, dataset=dataset, per_category=per_category, model=model, engine=engine,
        calls_total=sum(per_category.values()), created_by=_who(principal)["created_by"],
    )
    # named, not imported: the task module imports these services
    transaction.on_commit(lambda: enqueue("training_jobs.datasets.tasks.generate_dataset_rows", generation.pk))
    return generation


def _generation_config(generation: DatasetGeneration):
    from studio.config.selectors import effective_tree
    from studio.llm.gateway import StepConfig

    tree = effective_tree(generation.organization)
    return StepConfig(model=generation.model, temperature=tree["training.defaults.temperature"],
                      top_p=tree["training.defaults.top_p"], max_tokens=700)


def dataset_generation_execute(generation: DatasetGeneration) -> None:
    """The task's work on a generation its worker claimed: answer every prompt through the gateway (progress saved per
    batch), then store the rows. It fails when every prompt failed; otherwise it completes, counting the failed ones."""
    from asgiref.sync import async_to_sync

    from studio.llm.gateway import LLMError, abatch

    config = _generation_config(generation)
    asks = [(category, prompt) for category, n in generation.per_category.items() for prompt in generation_prompts(category, n)]
    requests = [([{"role": "system", "content": SYSTEM.format(category=category)}, {"role": "user", "content": prompt}], replace(config, seed=i))
                for i, (category, prompt) in enumerate(asks)]
    results = []
    for start in range(0, len(requests), PROGRESS_CHUNK):
        results += async_to_sync(abatch)(requests[start : start + PROGRESS_CHUNK], organization=generation.organization)
        if not _generation_mine(generation).update(calls_done=len(results), heartbeat_at=timezone.now()):
            raise TakenOver(f"dataset generation {generation.public_id} was taken over or ended elsewhere")
    rows, failures = [], []
    for (category, prompt), result in zip(asks, results):
        if isinstance(result, LLMError):
            failures.append(result.summary()[:300])
            continue
        parsed = parse_record({"instruction": prompt, "output": result.text, "_category": category,
                               "_source": f"generated:{result.model}"[:MAX_SOURCE]}, 0)
        if isinstance(parsed, Row):
            rows.append(parsed)
        else:
            failures.append(f"{category}: {parsed[0].message}")
    with transaction.atomic():
        # the outcome, while this worker still holds the generation (the update locks it), and the rows with it
        if not _generation_mine(generation).update(heartbeat_at=timezone.now()):
            raise TakenOver(f"dataset generation {generation.public_id} was taken over or ended elsewhere")
        run = _append_rows(generation.dataset, rows, threshold=DEFAULT_THRESHOLD, kind="generate",
                           label=f"{len(asks)} prompts, {generation.model}") if rows else None
        generation.status = DatasetGeneration.Status.COMPLETED if rows else DatasetGeneration.Status.FAILED
        generation.calls_done, generation.created_count = len(results), run["added"] if run else 0
        generation.report = {"failed": len(failures), "duplicates": run["duplicates"] if run else {"exact": 0, "near": 0}}
        generation.error = _all_failed(failures) if not rows else ""  # some failed: counted in the report
        generation.finished_at = timezone.now()
        generation.save(update_fields=["status", "calls_done", "created_count", "report", "error", "finished_at"])


def _generation_mine(generation: DatasetGeneration):
    """The generation while this worker still holds it: an update through it that changes no row means it was taken over."""
    return DatasetGeneration.objects.filter(pk=generation.pk, claimed_by=generation.claimed_by, status__in=DatasetGeneration.RUNNING)


def _all_failed(failures: list[str]) -> str:
    head = f"all {len(failures)} prompts failed, so no row was written; the first error{'s' if len(failures) > 1 else ''}:"
    return "\n".join([head, *failures[:5]])[:4000]


def dataset_generation_fail(generation: DatasetGeneration, error: str) -> None:
    """End a generation as failed with `error` (the worker's ending, or the reaper's); its page polls it."""
    generation.status, generation.error, generation.finished_at = DatasetGeneration.Status.FAILED, error[:4000], timezone.now()
    generation.save(update_fields=["status", "error", "finished_at"])


# --- a training job's data -------------------------------------------------------------------------

# part → (stage, artifact, default category, source suffix)
JOB_PARTS = {
    "dpo": ("dpo_data", "pairs", "conversational", "dpo"),
    "reflections": ("introspection", "reflections", "empathetic", "reflection"),
    "interactions": ("introspection", "interactions", "conversational", "interaction"),
}


def _job_records(part: str, record: dict) -> dict:
    if part == "dpo":
        return {"instruction": record.get("prompt"), "output": record.get("chosen")}
    if part == "reflections":
        return {"instruction": record.get("prompt"), "output": record.get("response")}
    turns = record.get("turns") or []
    messages = [{"role": "system", "content": record.get("system")}] if record.get("system") else []
    messages += [{"role": "user" if j % 2 == 0 else "assistant", "content": t} for j, t in enumerate(turns)]
    if messages and messages[-1]["role"] == "user":
        messages.pop()  # the opener's copy answers: the conversation ends on its turn
    return {"messages": messages}


def job_rows(job, *, parts: Iterable[str], categories: dict[str, str]) -> tuple[list[Row], dict]:
    """Rows from the job's artifacts: DPO pairs (prompt → chosen), reflections (prompt → response) and, if asked,
    self-interactions (as chats). Returns the rows and, per part, {rows, skipped, missing}."""
    from training_jobs.engine import read_jsonl  # the engine pulls in the LLM gateway and training code

    stages = {s.stage: s for s in job.stages.all()}
    root = job.artifacts_dir.resolve()
    rows, counts = [], {}
    for part in parts:
        stage_name, artifact, default_category, suffix = JOB_PARTS[part]
        stage = stages.get(stage_name)
        relative = (stage.artifacts or {}).get(artifact) if stage else None
        path = (root / relative).resolve() if relative else None
        if path is None or not path.is_relative_to(root) or not path.is_file():
            counts[part] = {"rows": 0, "skipped": 0, "missing": True}
            continue
        source = f"job:{job.name[: MAX_SOURCE - len(suffix) - 5]}:{suffix}"
        category = categories.get(part) or default_category
        made = skipped = 0
        for number, record in enumerate(read_jsonl(path), start=1):
            parsed = parse_record({**_job_records(part, record), "_category": category, "_source": source}, number)
            if isinstance(parsed, Row):
                rows.append(parsed)
                made += 1
            else:
                skipped += 1
        counts[part] = {"rows": made, "skipped": skipped, "missing": False}
    return rows, counts


def dataset_include_job(*, principal: Principal, dataset: Dataset, job, parts=None, categories=None, dedup_threshold=None) -> dict:
    """Add a character training job's DPO pairs and reflections (and, if asked, self-interactions) as rows."""
    principal.require_scope("training:write")
    threshold = clean_threshold(dedup_threshold)
    rows, counts = _job_rows_to_include(job, parts, categories)
    run = _append_rows(dataset, rows, threshold=threshold, kind="job", label=f"training job {job.name}")
    return {**run, "parts": counts}


def _job_rows_to_include(job, parts, categories) -> tuple[list[Row], dict]:
    parts = list(dict.fromkeys(parts or ("dpo", "reflections")))
    for part in parts:
        if part not in JOB_PARTS:
            raise Invalid(f"unknown part {part!r}: use {', '.join(JOB_PARTS)}", field="parts")
    categories = categories or {}
    for part, category in categories.items():
        if part not in JOB_PARTS:
            raise Invalid(f"unknown part {part!r}: use {', '.join(JOB_PARTS)}", field="categories")
        clean_category(category, field=f"categories.{part}")
    if not kind_for(job).gives_dataset_rows:
        raise Conflict("only character training jobs have DPO pairs and reflections to include")
    rows, counts = job_rows(job, parts=parts, categories=categories)
    if not rows:
        missing = [p for p in parts if counts[p]["missing"]]
        raise Conflict(f"the job has no rows to include yet ({', '.join(missing) or 'every row was invalid'})")
    return rows, counts


MIX_SHIFT_PP = 5.0  # a category whose share moves more than this many percentage points is pointed out


def dataset_include_job_preview(*, principal: Principal, dataset: Dataset, job, parts=None, categories=None) -> dict:
    """What including the job's rows would do to the dataset's mix, before anything is stored: per category the rows
    and share now and after (before deduplication, which can only leave some out), and the categories it skews."""
    principal.require_scope("training:write")
    rows, counts = _job_rows_to_include(job, parts, categories)
    before = dataset.categories
    added = {c: 0 for c in before}
    for row in rows:
        added[row.category] = added.get(row.category, 0) + 1
    after = {c: before.get(c, 0) + added.get(c, 0) for c in before}
    total_before, total_after = sum(before.values()), sum(after.values())
    share = lambda n, total: round(100 * n / total, 1) if total else 0.0  # noqa: E731
    lines = [{"category": c, "before": before[c], "added": added[c], "after": after[c],
              "share_before": share(before[c], total_before), "share_after": share(after[c], total_after)}
             for c in before if before[c] or added[c]]
    for line in lines:
        line["shift"] = round(line["share_after"] - line["share_before"], 1)
        line["skews"] = total_before > 0 and abs(line["shift"]) > MIX_SHIFT_PP
    return {"added": len(rows), "total_before": total_before, "total_after": total_after, "lines": lines, "parts": counts,
            "skewed": [line["category"] for line in lines if line["skews"]]}
