"""Issue 8's Measure for datasets: import + dedup throughput and memory.

- 100,000 and 200,000 realistic JSONL rows (instruction/input/output in every category, 10% chats; answers of
  60–220 words from a 20,000-word vocabulary) with ~5% planted exact duplicates (case, spacing and punctuation
  changed) and ~5% near duplicates (one word of the answer changed, two in long answers: Jaccard ≈ 0.87), written to a file;
- the import through the services, as the API runs it: preview (validate every row, MinHash dedup) then
  confirm (read the file again, store the kept rows with bulk_create);
- rows/s for each size and the 200k/100k time ratio (near-linear: target ≤ 2.3);
- peak memory of the import as a ratio to the file size: the growth of the process's resident set (RSS,
  sampled from /proc/self/statm every 5 ms) over its size just before the import.

Timing is printed, never asserted (only sanity is).

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_datasets_bench.py -s -q
"""

import gc
import json
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from studio.principal import Principal
from training_jobs.datasets.models import DatasetRow
from training_jobs.datasets.prompts import TEMPLATES
from training_jobs.datasets.rows import CATEGORIES
from training_jobs.datasets.services import dataset_create, dataset_import_confirm, dataset_import_preview

SIZES = tuple(int(n) for n in os.environ.get("DATASETS_BENCH_SIZES", "100000,200000").split(","))  # smaller for a quick look
DUPLICATE_SHARE = 0.05  # of each kind
SYLLABLES = ("ka", "lo", "mi", "ner", "sta", "vi", "qua", "tor", "el", "an", "ru", "pe", "dis", "com", "ble", "ing",
             "ter", "ion", "ous", "ma", "no", "re", "si", "ty", "gra", "phi", "lu", "mo", "ven", "tal")


def vocabulary(size: int, rng) -> np.ndarray:
    words = set()
    while len(words) < size:
        words.add("".join(SYLLABLES[i] for i in rng.integers(0, len(SYLLABLES), rng.integers(1, 4))))
    return np.array(sorted(words))


def sentences(rng, vocab: np.ndarray, words: int) -> str:
    """Zipf-ish word choice (common words repeat, as in prose), sentences of 6–18 words with punctuation."""
    picks = vocab[np.minimum(rng.zipf(1.15, words) - 1, len(vocab) - 1)]
    out, start = [], 0
    while start < words:
        length = int(rng.integers(6, 19))
        sentence = " ".join(picks[start : start + length])
        out.append(sentence[:1].upper() + sentence[1:] + (", " if rng.random() < 0.2 else ". "))
        start += length
    return "".join(out).strip()


def make_row(rng, vocab, i: int) -> dict:
    category = CATEGORIES[i % len(CATEGORIES)]
    templates, topics = TEMPLATES[category]
    instruction = templates[int(rng.integers(len(templates)))].format(topic=topics[int(rng.integers(len(topics)))])
    instruction += " " + sentences(rng, vocab, int(rng.integers(5, 25)))
    answer = sentences(rng, vocab, int(rng.integers(60, 220)))
    source = f"corpus-{i % 37}"
    if i % 10 == 0:
        return {"messages": [{"role": "system", "content": "You are helpful."}, {"role": "user", "content": instruction},
                             {"role": "assistant", "content": answer}], "_category": category, "_source": source}
    row = {"instruction": instruction, "output": answer, "_category": category, "_source": source}
    if i % 4 == 0:
        row["input"] = sentences(rng, vocab, int(rng.integers(5, 30)))
    return row


def exact_copy(row: dict) -> dict:
    if "messages" in row:
        return {**row, "messages": [{**m, "content": m["content"].upper() + "!"} for m in row["messages"]]}
    return {**row, "instruction": "  " + row["instruction"].upper(), "output": row["output"].replace(". ", " .  ")}


def near_copy(row: dict, rng) -> dict:
    def change(text: str) -> str:
        words = text.split()
        for _ in range(1 if len(words) < 150 else 2):
            words[int(rng.integers(len(words)))] = "altered"
        return " ".join(words)

    if "messages" in row:
        return {**row, "messages": [*row["messages"][:-1], {"role": "assistant", "content": change(row["messages"][-1]["content"])}]}
    return {**row, "output": change(row["output"])}


def write_rows(path: Path, n: int, seed: int = 8) -> dict:
    """n rows, streamed to the file: originals with exact and near copies of earlier rows mixed in."""
    rng = np.random.default_rng(seed)
    vocab = vocabulary(20_000, rng)
    recent: list[dict] = []  # copies are of recent rows (a window), so nothing holds every row
    planted = {"exact": 0, "near": 0}
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(n):
            draw = rng.random()
            if recent and draw < DUPLICATE_SHARE:
                row, kind = exact_copy(recent[int(rng.integers(len(recent)))]), "exact"
            elif recent and draw < 2 * DUPLICATE_SHARE:
                row, kind = near_copy(recent[int(rng.integers(len(recent)))], rng), "near"
            else:
                row, kind = make_row(rng, vocab, i), None
                recent = (recent + [row])[-2000:] if len(recent) >= 2000 else recent + [row]
            if kind:
                planted[kind] += 1
            fh.write(json.dumps(row) + "\n")
    return planted


class RssSampler:
    """The process's resident set size, sampled every 5 ms on a thread: its peak over the start."""

    def __init__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = self.start = self.rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    def _run(self):
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, self.rss())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.rss())

    @property
    def growth(self) -> int:
        return self.peak - self.start


@pytest.fixture
def owner(tenant) -> Principal:
    return Principal.from_membership(tenant.membership("owner"))


def import_once(owner, tmp_path: Path, source: Path, n: int) -> dict:
    dataset = dataset_create(principal=owner, name=f"bench {n}")
    upload = tmp_path / f"upload-{n}.jsonl"
    shutil.copyfile(source, upload)  # the preview moves its upload
    gc.collect()
    with RssSampler() as memory:
        started = time.perf_counter()
        imported = dataset_import_preview(principal=owner, upload=upload, file_name=source.name, dataset=dataset)
        previewed = time.perf_counter()
        imported = dataset_import_confirm(principal=owner, dataset_import=imported)
        confirmed = time.perf_counter()
    report = imported.report
    assert report["error_count"] == 0 and imported.imported_count == report["to_import"]
    assert DatasetRow.objects.filter(dataset=dataset).count() == report["to_import"]
    return {"n": n, "size": source.stat().st_size, "preview_s": previewed - started, "confirm_s": confirmed - previewed,
            "total_s": confirmed - started, "memory": memory.growth, "exact": report["duplicates"]["exact"],
            "near": report["duplicates"]["near"], "kept": report["to_import"], "seconds": report["seconds"]}


def test_import_and_dedup_throughput_is_near_linear_and_memory_is_a_fraction_of_the_file(owner, settings, tmp_path):
    settings.DATASET_IMPORTS_DIR = tmp_path / "imports"
    results = []
    for n in SIZES:
        source = tmp_path / f"rows-{n}.jsonl"
        started = time.perf_counter()
        planted = write_rows(source, n)
        print(f"\n{n:,} rows: {source.stat().st_size / 2**20:.0f} MiB written in {time.perf_counter() - started:.1f} s; "
              f"planted {planted['exact']:,} exact and {planted['near']:,} near duplicates")
        result = import_once(owner, tmp_path, source, n)
        results.append(result)
        source.unlink()
        print(f"  import {result['total_s']:.1f} s = preview {result['preview_s']:.1f} s (validate {result['seconds']['validate']:.1f} s, "
              f"dedup {result['seconds']['dedup']:.1f} s) + confirm {result['confirm_s']:.1f} s → {n / result['total_s']:,.0f} rows/s; "
              f"removed {result['exact']:,} exact + {result['near']:,} near, kept {result['kept']:,}")
        print(f"  peak RSS growth {result['memory'] / 2**20:.0f} MiB = {result['memory'] / result['size']:.2f} × the file")
        assert result["exact"] >= planted["exact"] * 0.99 and result["near"] >= planted["near"] * 0.9
    small, large = results
    print(f"\n{large['n'] // 1000}k/{small['n'] // 1000}k time ratio: {large['total_s'] / small['total_s']:.2f} (target ≤ 2.3); "
          f"preview {large['preview_s'] / small['preview_s']:.2f}, confirm {large['confirm_s'] / small['confirm_s']:.2f}")
