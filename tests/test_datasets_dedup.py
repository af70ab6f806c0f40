"""Dataset rows and deduplication as plain modules: parsing and validation by line and field, normalized
hashes, MinHash near-duplicates with a configurable threshold."""

import io
import json
import random

import pytest

from training_jobs.datasets.dedup import Deduplicator, bands_for, content_hash, dedup, jaccard, normalize
from training_jobs.datasets.prompts import generation_prompts
from training_jobs.datasets.rows import CATEGORIES, Row, RowError, iter_rows, parse_jsonl_line, parse_record

WORDS = ("river lantern copper meadow orbit velvet harbor cedar signal ember quartz willow falcon prism tundra "
         "marble cobalt saffron glacier thistle beacon canyon dune ivory juniper lagoon mosaic nectar opal pepper").split()


def text(seed: int, words: int = 80) -> str:
    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) + str(rng.randint(0, 999)) for _ in range(words))


def one_word_changed(original: str, every: int = 40) -> str:
    words = original.split()
    for i in range(every // 2, len(words), every):
        words[i] = "changed"
    return " ".join(words)


# --- rows ----------------------------------------------------------------------------------------


def test_an_instruction_row_is_normalized_with_its_metadata():
    row = parse_record({"instruction": " Sum 2+2 ", "output": "4", "_category": "Factual", "_source": "quiz"}, 3)
    assert row == Row("factual", "quiz", instruction="Sum 2+2", output="4")
    assert row.as_record() == {"instruction": "Sum 2+2", "output": "4", "_category": "factual", "_source": "quiz"}


def test_a_chat_row_must_end_with_the_assistant():
    ok = parse_record({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                                    {"role": "assistant", "content": "Hello."}], "_category": "conversational"}, 1)
    assert isinstance(ok, Row) and ok.messages[-1] == {"role": "assistant", "content": "Hello."}
    errors = parse_record({"messages": [{"role": "user", "content": "Hi"}], "_category": "conversational"}, 7)
    assert errors == [RowError(7, "messages[0].role", "the last message must be the assistant's")]
    errors = parse_record({"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": ""}], "_category": "tool"}, 2)
    assert [(e.line, e.field) for e in errors] == [(2, "messages[0].role"), (2, "messages[1].content")]


@pytest.mark.parametrize("record, field", [
    ({"output": "x", "_category": "technical"}, "instruction"),
    ({"instruction": "x", "_category": "technical"}, "output"),
    ({"instruction": "x", "output": "y", "_category": "poetry"}, "_category"),
    ({"instruction": "x", "output": "y"}, "_category"),
    ({"instruction": "x", "output": "y", "_category": "technical", "_source": "s" * 121}, "_source"),
    ({"instruction": 5, "output": "y", "_category": "technical"}, "instruction"),
    ({"instruction": "x\x00", "output": "y", "_category": "technical"}, "instruction"),
    ({"instruction": "x", "output": "y", "messages": [], "_category": "technical"}, "messages"),
    ({"messages": "hello", "_category": "technical"}, "messages"),
])
def test_each_invalid_field_is_named(record, field):
    errors = parse_record(record, 12)
    assert isinstance(errors, list) and errors[0].line == 12 and errors[0].field == field


def test_an_unknown_category_names_the_taxonomy():
    [error] = parse_record({"instruction": "x", "output": "y", "_category": "poetry"}, 4)
    assert "poetry" in error.message and all(c in error.message for c in CATEGORIES)


def test_a_default_category_fills_rows_without_one_but_does_not_override():
    assert parse_record({"instruction": "x", "output": "y"}, 1, default_category="creative").category == "creative"
    assert parse_record({"instruction": "x", "output": "y", "_category": "tool"}, 1, default_category="creative").category == "tool"


def test_broken_json_is_an_error_on_its_line():
    [error] = parse_jsonl_line(b'{"instruction": "x",', 9)
    assert (error.line, error.field) == (9, "row") and "not valid JSON" in error.message
    [error] = parse_jsonl_line(b"[1, 2]", 10)
    assert "must be an object" in error.message


def test_a_jsonl_file_is_read_by_line_skipping_blank_lines():
    lines = [json.dumps({"instruction": "a", "output": "b", "_category": "technical"}), "", "not json",
             json.dumps({"instruction": "c", "output": "d", "_category": "nope"})]
    parsed = list(iter_rows(io.BytesIO(("\n".join(lines) + "\n").encode()), "jsonl"))
    assert [line for line, _ in parsed] == [1, 3, 4]
    assert isinstance(parsed[0][1], Row) and parsed[1][1][0].field == "row" and parsed[2][1][0].field == "_category"


def test_a_csv_file_reports_the_line_where_each_record_starts():
    content = ('instruction,input,output,_category,_source\n'
               '"Two\nlines",,ok,technical,a\n'
               'x,,,technical,b\n'
               ',,,,\n'
               'y,,z,creative,c\n')
    parsed = list(iter_rows(io.BytesIO(content.encode()), "csv"))
    assert [line for line, _ in parsed] == [2, 4, 6]
    assert parsed[0][1].instruction == "Two\nlines" and parsed[1][1][0] == RowError(4, "output", "output is missing")
    assert parsed[2][1].category == "creative"


def test_a_csv_messages_column_holds_json():
    messages = json.dumps([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}])
    content = 'messages,_category\n"' + messages.replace('"', '""') + '",conversational\n'
    [(line, row)] = list(iter_rows(io.BytesIO(content.encode()), "csv"))
    assert line == 2 and row.messages[1]["content"] == "Hello"


# --- dedup ---------------------------------------------------------------------------------------


def test_normalization_ignores_case_punctuation_and_spacing():
    assert normalize("  Hello,   WORLD!\n\tIt's  me. ") == "hello world it s me"
    assert content_hash("Hello, world!") == content_hash("hello   WORLD") != content_hash("hello there")


def test_exact_duplicates_after_normalization_are_removed_keeping_the_first():
    texts = [text(1), text(2), text(1).upper(), text(3), text(2) + " !!"]
    result = dedup(texts)
    assert result.keep.tolist() == [True, True, False, True, False]
    assert (result.exact, result.near) == (2, 0)
    assert {(p.dropped, p.kept, p.kind) for p in result.pairs} == {(2, 0, "exact"), (4, 1, "exact")}


def test_planted_near_duplicates_are_removed_and_distinct_texts_kept():
    originals = [text(i, words=120) for i in range(300)]
    near = [one_word_changed(originals[i], every=120) for i in range(0, 300, 10)]  # 30 near copies, Jaccard ≈ 0.92
    assert all(jaccard(originals[i * 10], n) > 0.8 for i, n in enumerate(near))
    result = dedup(originals + near)
    assert result.exact == 0 and result.near == 30
    assert result.keep[:300].all() and not result.keep[300:].any()
    assert all(p.kind == "near" and p.similarity >= 0.8 and p.kept == (p.dropped - 300) * 10 for p in result.pairs)


def test_the_threshold_decides_which_near_duplicates_go():
    base = [text(i, words=100) for i in range(50)]
    looser = [one_word_changed(t, every=12) for t in base]  # Jaccard ≈ 0.4
    assert all(0.25 < jaccard(a, b) < 0.6 for a, b in zip(base, looser))
    assert dedup(base + looser, threshold=0.8).near == 0
    assert dedup(base + looser, threshold=0.5).near <= 5
    closer = [one_word_changed(t, every=100) for t in base]  # Jaccard ≈ 0.9
    assert dedup(base + closer, threshold=0.8).near == 50
    assert dedup(base + closer, threshold=0.99).near == 0


def test_existing_texts_are_kept_and_new_copies_of_them_dropped():
    existing = [text(i) for i in range(20)] + [text(0), text(50, words=120)]  # existing rows that repeat each other stay
    new = [text(0), one_word_changed(text(50, words=120), every=120), text(99)]
    result = dedup(new, existing=existing)
    assert result.keep.tolist() == [False, False, True]
    assert result.against_existing == {"exact": 1, "near": 1} and result.existing == 22
    assert (result.exact, result.near) == (1, 1)


def test_short_and_empty_texts_do_not_break_signatures():
    result = dedup(["", "...", "hi", "hi there", "Hi, there!", "a b c d e f"])
    assert result.keep.tolist() == [True, False, True, True, False, True]


def test_bands_get_narrower_for_lower_thresholds():
    assert bands_for(0.8) == (21, 6)
    bands, rows = bands_for(0.5)
    assert rows < 6 and 1 - (1 - 0.5**rows) ** bands >= 0.995


def test_signatures_in_small_chunks_and_blocks_give_the_same_result(monkeypatch):
    import training_jobs.datasets.dedup as module

    texts = [text(i) for i in range(200)] + [one_word_changed(text(i, words=80), every=80) for i in range(0, 200, 4)]
    expected = dedup(texts).keep.tolist()
    assert expected.count(False) == 50
    monkeypatch.setattr(module, "_CHUNK_SHINGLES", 50)
    monkeypatch.setattr(module._Signatures, "BLOCK", 7)
    deduplicator = Deduplicator()
    for t in texts:
        deduplicator.add(t)
    assert deduplicator.result().keep.tolist() == expected


# --- prompts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", CATEGORIES)
def test_generation_prompts_are_distinct_and_not_near_duplicates(category):
    prompts = generation_prompts(category, 40)
    assert len(set(prompts)) == 40
    assert dedup(prompts[:16]).near == 0
