"""Issue 13, point 8: the online quality filters (training_jobs/filters.py) measured on the hand-labelled set
tests/data/quality_filter_samples.jsonl — persona replies of seven characters, each labelled with the reason it
must be dropped, fixed or flagged for, or "keep" (in-character look-alikes of every reason among them).

Prints the confusion matrix (rows: the expected reason, "keep" first; columns: what the filter said — the reason
that decided the sample, or "keep") and precision / recall per reason, then the misjudged samples, if any.
The test in tests/test_training_filters.py holds precision and recall ≥ 0.95 per reason; this only prints.

Run: STUDIO_BENCHMARKS=1 .venv/bin/python -m pytest tests/benchmarks/test_quality_filter_bench.py -s -q
"""

from collections import Counter

from tests.test_training_filters import KEEP, LABELLED_CONFIG, labelled_samples, precision_recall, predicted_reasons
from training_jobs.filters import REASONS

LABELS = (KEEP, *REASONS)


def _figure(value: float | None) -> str:
    return "   —" if value is None else f"{value:.2f}"


def test_quality_filter_confusion_matrix_on_the_labelled_set():
    samples = labelled_samples()
    expected = [s["expected"] for s in samples]
    predicted = predicted_reasons(samples)
    counts = Counter(zip(expected, predicted))
    width = max(len(label) for label in LABELS) + 1

    print(f"\nBENCH quality filter: {len(samples)} labelled samples, config max_words={LABELLED_CONFIG.max_words}")
    print("BENCH confusion (rows: expected, columns: predicted)")
    print(" " * width + "".join(f"{label:>{len(label) + 2}}" for label in LABELS) + f"{'n':>6}")
    for row in LABELS:
        cells = "".join(f"{counts[(row, column)]:>{len(column) + 2}}" for column in LABELS)
        print(f"{row:<{width}}{cells}{expected.count(row):>6}")
    print(f"BENCH {'reason':<{width}}{'precision':>10}{'recall':>8}{'n':>6}")
    for label in LABELS:
        precision, recall = precision_recall(expected, predicted, label)
        print(f"BENCH {label:<{width}}{_figure(precision):>10}{_figure(recall):>8}{expected.count(label):>6}")
    accuracy = sum(e == p for e, p in zip(expected, predicted)) / len(samples)
    print(f"BENCH quality filter accuracy {accuracy:.3f}")
    for sample, guess in zip(samples, predicted):
        if guess != sample["expected"]:
            print(f"BENCH misjudged: expected {sample['expected']}, said {guess}: {sample['text'][:100]!r}")
    assert len(samples) >= 150 and set(predicted) <= set(LABELS)
