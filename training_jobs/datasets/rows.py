"""Dataset rows: parse and validate one JSONL line or CSV record into a normalized row, or errors naming the
line and the field. Pure Python, no Django.

A row is either an instruction example (`instruction` + `output`, `input` optional) or a chat (`messages`:
[{role, content}] with roles system/user/assistant, ending with an assistant turn). Metadata: `_category`
(one of CATEGORIES; the import's default when absent) and `_source` (free text, at most 120 characters).
"""

import csv
import io
import json
import re
from dataclasses import dataclass, field
from typing import Iterator

CATEGORIES = (
    "technical", "instructional", "analytical", "conversational", "empathetic",
    "creative", "tool", "factual", "ethical", "specialized",
)
ROLES = ("system", "user", "assistant")
FORMATS = ("jsonl", "csv")
MAX_SOURCE = 120
MAX_TEXT = 50_000  # characters per text field (a chat turn counts as one field)
MAX_TURNS = 200
MAX_LINE_BYTES = 1_048_576  # a JSONL line longer than this is an error, not read into memory
TEXT_FIELDS = ("instruction", "input", "output")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "message": self.message}


@dataclass
class Row:
    category: str
    source: str
    instruction: str = ""
    input: str = ""
    output: str = ""
    messages: list[dict] | None = None

    def text(self) -> str:
        """What deduplication compares: every text of the example, without metadata."""
        return row_text(self.instruction, self.input, self.output, self.messages)

    def as_record(self) -> dict:
        """The row as one JSONL object, metadata included (the export format, which imports again)."""
        if self.messages is not None:
            record = {"messages": self.messages}
        else:
            record = {"instruction": self.instruction, **({"input": self.input} if self.input else {}), "output": self.output}
        return {**record, "_category": self.category, "_source": self.source}


def row_text(instruction: str, input: str, output: str, messages: list[dict] | None) -> str:
    if messages is not None:
        return "\n".join(m["content"] for m in messages)
    return "\n".join(part for part in (instruction, input, output) if part)


@dataclass
class _Checked:
    line: int
    errors: list[RowError] = field(default_factory=list)

    def error(self, field_name: str, message: str) -> None:
        self.errors.append(RowError(self.line, field_name, message))


def _text(checked: _Checked, name: str, value, *, required: bool) -> str:
    if value is None or value == "":
        if required:
            checked.error(name, f"{name} is missing")
        return ""
    if not isinstance(value, str):
        checked.error(name, f"{name} must be text, not {type(value).__name__}")
        return ""
    value = value.strip()
    if required and not value:
        checked.error(name, f"{name} is blank")
    elif len(value) > MAX_TEXT:
        checked.error(name, f"{name} is longer than {MAX_TEXT:,} characters")
    elif _CONTROL.search(value):
        checked.error(name, f"{name} contains control characters")
    return value


def _messages(checked: _Checked, value) -> list[dict] | None:
    if not isinstance(value, list) or not value:
        checked.error("messages", "messages must be a non-empty list of {role, content}")
        return None
    if len(value) > MAX_TURNS:
        checked.error("messages", f"messages has more than {MAX_TURNS} turns")
        return None
    cleaned = []
    for i, turn in enumerate(value):
        where = f"messages[{i}]"
        if not isinstance(turn, dict):
            checked.error(where, "each message must be an object with role and content")
            continue
        role = turn.get("role")
        if role not in ROLES:
            checked.error(f"{where}.role", f"role must be one of {', '.join(ROLES)}, not {role!r}")
            continue
        content = _text(checked, f"{where}.content", turn.get("content"), required=True)
        cleaned.append({"role": role, "content": content})
    if len(cleaned) == len(value):
        if cleaned[-1]["role"] != "assistant":
            checked.error(f"messages[{len(value) - 1}].role", "the last message must be the assistant's")
        elif not any(m["role"] == "user" for m in cleaned):
            checked.error("messages", "messages need a user turn before the assistant's answer")
    return cleaned


def _category(checked: _Checked, value, default: str | None) -> str:
    if value is None or value == "":
        if default:
            return default
        checked.error("_category", f"_category is missing (one of {', '.join(CATEGORIES)}), and the import has no default")
        return ""
    if not isinstance(value, str) or value.strip().lower() not in CATEGORIES:
        checked.error("_category", f"unknown category {value!r}: use one of {', '.join(CATEGORIES)}")
        return ""
    return value.strip().lower()


def _source(checked: _Checked, value, default: str) -> str:
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        checked.error("_source", "_source must be text")
        return ""
    value = value.strip()
    if len(value) > MAX_SOURCE:
        checked.error("_source", f"_source is longer than {MAX_SOURCE} characters")
    elif _CONTROL.search(value):
        checked.error("_source", "_source contains control characters")
    return value


def parse_record(record, line: int, *, default_category: str | None = None, default_source: str = "") -> Row | list[RowError]:
    """One decoded record (a dict) → a Row, or every error found in it."""
    checked = _Checked(line)
    if not isinstance(record, dict):
        return [RowError(line, "row", f"each row must be an object, not {type(record).__name__}")]
    category = _category(checked, record.get("_category"), default_category)
    source = _source(checked, record.get("_source"), default_source)
    has_messages = record.get("messages") not in (None, "")
    has_instruction = any(record.get(name) not in (None, "") for name in TEXT_FIELDS)
    if has_messages and has_instruction:
        checked.error("messages", "give either instruction/input/output or messages, not both")
        return checked.errors
    if has_messages:
        row = Row(category, source, messages=_messages(checked, record["messages"]))
    else:
        row = Row(
            category, source, instruction=_text(checked, "instruction", record.get("instruction"), required=True),
            input=_text(checked, "input", record.get("input"), required=False),
            output=_text(checked, "output", record.get("output"), required=True),
        )
    return checked.errors or row


def parse_jsonl_line(raw: bytes | str, line: int, **defaults) -> Row | list[RowError]:
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    except UnicodeDecodeError as exc:
        return [RowError(line, "row", f"not UTF-8 text (byte {exc.start})")]
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return [RowError(line, "row", f"not valid JSON: {exc.msg} (column {exc.colno})")]
    return parse_record(record, line, **defaults)


# --- whole files ---------------------------------------------------------------------------------


class FileUnreadable(Exception):
    """The file as a whole cannot be read (not UTF-8, a CSV without the needed columns)."""

    def __init__(self, line: int, field: str, message: str):
        super().__init__(message)
        self.error = RowError(line, field, message)


def capped_lines(fh) -> Iterator[tuple[int, bytes | None]]:
    """(line number, raw line) for a binary file; None for a line over MAX_LINE_BYTES (skipped, never held whole)."""
    number = 0
    while raw := fh.readline(MAX_LINE_BYTES + 1):
        number += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = fh.readline(1 << 20)
            yield number, None
        else:
            yield number, raw


def iter_jsonl(fh, **defaults) -> Iterator[tuple[int, Row | list[RowError]]]:
    for number, raw in capped_lines(fh):
        if raw is None:
            yield number, [RowError(number, "row", f"line longer than {MAX_LINE_BYTES:,} bytes")]
        elif number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]
            if raw.strip():
                yield number, parse_jsonl_line(raw, number, **defaults)
        elif raw.strip():
            yield number, parse_jsonl_line(raw, number, **defaults)


def _csv_record(header: list[str], values: list[str]) -> dict:
    record = {name: value for name, value in zip(header, values) if name}
    if isinstance(record.get("messages"), str) and record["messages"].strip():
        try:
            record["messages"] = json.loads(record["messages"])
        except json.JSONDecodeError:
            record["messages"] = "not JSON"  # reported by the messages check
    return record


def iter_csv(fh, **defaults) -> Iterator[tuple[int, Row | list[RowError]]]:
    """CSV with a header row: instruction,input,output or messages (a JSON list), plus _category and _source."""
    text = io.TextIOWrapper(fh, encoding="utf-8-sig", newline="")
    reader = csv.reader(text)
    try:
        header = [name.strip() for name in next(reader, [])]
        if not ({"instruction", "output"} <= set(header) or "messages" in header):
            raise FileUnreadable(1, "header", "the CSV header needs instruction and output columns, or a messages column")
        start = reader.line_num + 1
        for values in reader:
            line, start = start, reader.line_num + 1  # a quoted field may span lines: report where the record starts
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header):
                yield line, [RowError(line, "row", f"{len(values)} values for {len(header)} columns")]
                continue
            yield line, parse_record(_csv_record(header, values), line, **defaults)
    except UnicodeDecodeError as exc:
        raise FileUnreadable(reader.line_num + 1, "row", f"the file is not UTF-8 text (byte {exc.start} of a block)") from None
    except csv.Error as exc:
        raise FileUnreadable(reader.line_num, "row", f"unreadable CSV: {exc}") from None
    finally:
        text.detach()


def iter_rows(fh, fmt: str, **defaults) -> Iterator[tuple[int, Row | list[RowError]]]:
    """Each non-blank row of a binary file: (line, Row) or (line, [RowError, …]). FileUnreadable ends it."""
    if fmt == "csv":
        return iter_csv(fh, **defaults)
    return iter_jsonl(fh, **defaults)
