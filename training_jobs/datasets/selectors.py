"""Reads of datasets: what the trainer takes (rows by category, rows by id), exports, reports, page figures."""

import json
from typing import Iterable, Iterator

from django.db.models import QuerySet

from training_jobs.datasets.models import Dataset, DatasetRow
from training_jobs.datasets.rows import CATEGORIES

_ID_BATCH = 900  # ids per query (SQLite allows 999 parameters)


# --- for the trainer -----------------------------------------------------------------------------


def rows_by_category(datasets: Iterable[Dataset]) -> dict[str, list[int]]:
    """Row ids of the datasets per category (every category of the taxonomy, in its order; empty lists too),
    in dataset then position order. Load the rows with rows_for()."""
    ids: dict[str, list[int]] = {c: [] for c in CATEGORIES}
    pks = [d.pk for d in datasets]
    rows = DatasetRow.objects.filter(dataset_id__in=pks).order_by("dataset_id", "position").values_list("category", "id")
    for category, row_id in rows.iterator(chunk_size=10_000):
        ids.setdefault(category, []).append(row_id)
    return ids


def rows_for(ids: Iterable[int]) -> list[DatasetRow]:
    """The rows with these ids, in the order given (ids that no longer exist are left out)."""
    ids = list(ids)
    found: dict[int, DatasetRow] = {}
    for start in range(0, len(ids), _ID_BATCH):
        found.update(DatasetRow.objects.in_bulk(ids[start : start + _ID_BATCH]))
    return [found[i] for i in ids if i in found]


# --- lists, export, reports ------------------------------------------------------------------------


def datasets_of(organization) -> QuerySet:
    return Dataset.objects.filter(organization=organization)


def rows_of(dataset: Dataset, *, category: str | None = None) -> QuerySet:
    rows = dataset.rows.order_by("position")
    return rows.filter(category=category) if category else rows


def export_lines(dataset: Dataset, *, category: str | None = None) -> Iterator[str]:
    """The rows as JSONL with their _category and _source (the import format): streamed, a chunk at a time."""
    for row in rows_of(dataset, category=category).iterator(chunk_size=2000):
        yield json.dumps(row.as_row().as_record(), ensure_ascii=False) + "\n"


def dedup_report(dataset: Dataset) -> dict:
    stats = dataset.stats or {}
    return {"row_count": dataset.row_count, "totals": stats.get("dedup", {"exact": 0, "near": 0}), "runs": stats.get("dedup_runs", [])}


def category_bars(counts: dict[str, int]) -> list[dict]:
    """One bar per category for the pages: count and width in percent of the largest."""
    top = max(counts.values(), default=0) or 1
    total = sum(counts.values()) or 1
    return [{"category": c, "count": counts.get(c, 0), "width": round(100 * counts.get(c, 0) / top, 1),
             "share": round(100 * counts.get(c, 0) / total, 1)} for c in CATEGORIES]
