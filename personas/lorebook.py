"""A character card's lorebook (`character_book`, Character Card V2/V3): which entries a chat's recent turns call
in, in which order, within the book's token budget. No Django.

    entries = lore_for_turns(book, ["How is the lighthouse?", "Still dark."])

The rules (character-card-spec-v2 and -v3):
- an entry with `enabled: false` is never inserted; an entry whose content is empty inserts nothing;
- `constant: true` inserts it whatever the turns say (V3: ignored when `use_regex` is true);
- otherwise one of `keys` must occur in the last `scan_depth` turns (all of them when the book sets none): a
  substring, case-insensitive unless `case_sensitive`, or a regular expression when `use_regex` (V3);
- `selective: true` with `secondary_keys` also needs one of those (V3: ignored for regex entries);
- inserted entries are ordered by `insertion_order` (lower first, then the book's order); past the book's
  `token_budget` the lowest `priority` (else the lowest `insertion_order`) entries are dropped first;
- V3 decorators (`@@name value` lines at the top of `content`) are trimmed from the text; `@@dont_activate`
  keeps an entry out and `@@activate` puts it in, as the specification names them.

Regex keys come from strangers' cards: each match runs under a time limit (the `regex` package's timeout), all of a
turn's together under a budget, on at most MAX_SCAN_CHARS of text; a key that fails or times out counts as no match. `pattern_problem` tells an
import which keys are unusable (invalid, or backtracking catastrophically on a probe) so the card is refused
with the key named, instead of costing every chat turn its time limit.
"""

from dataclasses import dataclass

import time

import regex

MATCH_TIMEOUT_S = 0.05  # one regex key against the scanned turns
MATCH_BUDGET_S = 0.5  # all of a turn's regex keys together: past it, the remaining regex keys count as no match
PROBE_TIMEOUT_S = 0.05  # one regex key against one probe string, at import
MAX_SCAN_CHARS = 20_000  # the most recent characters of the turns a key is matched against
# A key is matched against up to MAX_SCAN_CHARS each turn, so it is probed at that length: regex 2026.12 made
# `^(\w+\s?)*$` quadratic instead of exponential (43 ms on 4,000 characters, under the limit; 0.68 s on 16,000).
PROBE_LENGTH = MAX_SCAN_CHARS
DEFAULT_SCAN_DEPTH = 4  # turns scanned when the book does not say (SillyTavern's default is 2; chats here are short)


@dataclass(frozen=True)
class LoreEntry:
    index: int  # position in the book
    content: str  # decorators trimmed
    insertion_order: float
    priority: float | None
    tokens: int


def estimate_tokens(text: str) -> int:
    """A provider-free token estimate: about four characters per token (what the budget is counted in)."""
    return max(1, (len(text) + 3) // 4) if text else 0


def split_decorators(content: str) -> tuple[dict[str, str], str]:
    """({name: value}, the content without its leading `@@decorator` lines and the newlines around them)."""
    decorators: dict[str, str] = {}
    lines = content.split("\n")
    body_start = 0
    for body_start, line in enumerate(lines):
        stripped = line.strip()
        if not stripped.startswith("@@"):
            break
        if not stripped.startswith("@@@"):  # a fallback (@@@) only matters to readers that skip the decorator above it
            name, _, value = stripped[2:].partition(" ")
            decorators.setdefault(name, value.strip())
    else:
        body_start = len(lines)
    return decorators, "\n".join(lines[body_start:]).strip("\n")


def _probes(pattern: str) -> list[str]:
    """Strings that make a backtracking pattern explode: runs of each letter the pattern names, then a character
    that fails the match; and runs of the usual suspects."""
    letters = sorted({ch for ch in pattern if ch.isalnum()} | {"a", " ", "0"})[:24]
    return [ch * PROBE_LENGTH + "!" for ch in letters] + ["ab" * (PROBE_LENGTH // 2) + "!"]


def pattern_problem(pattern: str, *, case_sensitive: bool = False) -> str | None:
    """Why a regex key cannot be used (invalid, or too slow on a probe string), or None when it can."""
    try:
        compiled = regex.compile(pattern, 0 if case_sensitive else regex.IGNORECASE)
    except (regex.error, TypeError, ValueError, OverflowError, RecursionError) as exc:
        return f"not a valid regular expression ({exc})"
    for probe in _probes(pattern):
        try:
            compiled.search(probe, timeout=PROBE_TIMEOUT_S)
        except TimeoutError:
            return f"backtracks: matching it against {len(probe):,} characters took over {PROBE_TIMEOUT_S * 1000:.0f} ms"
    return None


def _regex_hit(pattern: str, text: str, case_sensitive: bool, deadline: float) -> bool:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return False
    try:
        flags = 0 if case_sensitive else regex.IGNORECASE
        return regex.search(pattern, text, flags, timeout=min(MATCH_TIMEOUT_S, remaining)) is not None
    except (regex.error, TimeoutError, TypeError, ValueError, OverflowError, RecursionError):
        return False  # an invalid key is no match (V3); a slow one is stopped and counts as none


def _plain_hit(keys, text: str, folded: str, case_sensitive: bool) -> bool:
    for key in keys:
        key = key.strip() if isinstance(key, str) else ""
        if key and (key in text if case_sensitive else key.casefold() in folded):
            return True
    return False


def _matches(entry: dict, text: str, folded: str, deadline: float) -> bool:
    case_sensitive = bool(entry.get("case_sensitive"))
    keys = entry.get("keys") or []
    if entry.get("use_regex"):
        return any(_regex_hit(key, text, case_sensitive, deadline) for key in keys[:8] if isinstance(key, str) and key)
    if entry.get("constant"):
        return True
    if not _plain_hit(keys, text, folded, case_sensitive):
        return False
    secondary = entry.get("secondary_keys") or []
    if entry.get("selective") and secondary:
        return _plain_hit(secondary, text, folded, case_sensitive)
    return True


def _number(value, default: float | None) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default


def lore_for_turns(book: dict | None, turns: list[str]) -> list[LoreEntry]:
    """The entries `turns` (oldest first) call in, in insertion order, within the token budget."""
    if not book or not isinstance(book.get("entries"), list):
        return []
    depth = _number(book.get("scan_depth"), None)
    depth = int(depth) if depth is not None and depth >= 1 else DEFAULT_SCAN_DEPTH
    text = "\n".join(t for t in turns[-depth:] if isinstance(t, str))[-MAX_SCAN_CHARS:]
    folded = text.casefold()
    deadline = time.monotonic() + MATCH_BUDGET_S
    chosen = []
    for index, entry in enumerate(book["entries"]):
        if not isinstance(entry, dict) or entry.get("enabled", True) is False:
            continue
        decorators, content = split_decorators(entry.get("content") or "")
        if not content.strip() or "dont_activate" in decorators:
            continue
        if "activate" in decorators or _matches(entry, text, folded, deadline):
            chosen.append(LoreEntry(index, content, _number(entry.get("insertion_order"), 0.0),
                                    _number(entry.get("priority"), None), estimate_tokens(content)))
    chosen.sort(key=lambda e: (e.insertion_order, e.index))
    return _within_budget(chosen, _number(book.get("token_budget"), None))


def _within_budget(entries: list[LoreEntry], budget: float | None) -> list[LoreEntry]:
    """Drop the least important entries until the rest fit: lowest priority first (entries without one count as
    the lowest), then lowest insertion order, then the later in the book."""
    if budget is None or budget <= 0:
        return entries
    kept = list(entries)
    by_importance = sorted(kept, key=lambda e: (e.priority if e.priority is not None else float("-inf"), e.insertion_order, -e.index))
    total = sum(e.tokens for e in kept)
    for entry in by_importance:
        if total <= budget:
            break
        kept.remove(entry)
        total -= entry.tokens
    return kept


def lore_section(entries: list[LoreEntry]) -> str:
    """The entries as the chat's retrieval context: one block each, in order."""
    return "\n\n".join(entry.content.strip() for entry in entries)
