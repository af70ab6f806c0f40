"""Online quality filters for generated training data (issue 7, point 6). Pure Python: no Django.

Every sample the data stages generate (DPO chosen answers, reflections, self-interaction turns) goes
through `QualityFilter.check` before it is written. Each filter gives a verdict with a reason code:

    role_turn        the text goes on into a turn it should not write (``\\nUser:``, ``. assistant:``,
                     ``### Human:``, ``<|im_start|>`` …): a speaker label in any case that starts a line or
                     follows the end of a sentence, or a chat-template token anywhere; truncated at the
                     first marker when what is left is long enough (a *fix*, the sample is kept), else dropped
    length           too short or too long, in characters and/or words
    repetition       looping text: duplicated word n-grams, duplicated lines, one phrase said more than
                     `max_phrase_repeats` times (a loop inside an otherwise varied long answer), a short
                     unit of letters repeated 20+ times in a row ("zzzz…", "hahaha…"), or text that
                     compresses far better than language does
    garbage          non-printable / replacement / mojibake characters; letters of other scripts mixed
                     into the text's own beyond a small share; in text written in Latin letters, any
                     stray run of another script's letters (a CJK character, a Cyrillic word) that is
                     glued to a Latin word or that nothing explains — not quoted, not introduced ("they
                     call him …", "the sign says …", "…: "), not glossed ("… for mackerel", "…, which means")
    refusal          AI self-disclosure and policy talk ("As an AI", "against my guidelines"), always; and
                     a declining phrase ("I can't help with that", "I'm not able to provide that
                     information", "I cannot assist") that nothing helpful follows: fewer than
                     `refusal_min_help_words` words outside the declining clauses and assistant
                     boilerplate ("I hope you understand", "Is there anything else …"). An in-character
                     apology that goes on to help ("I'm afraid I can't do that, not today — the hives
                     need smoking …") is kept; idioms ("I can't help but worry", "I can't help it") never decline
    missing_markers  none of the constitution's quoted markers appears (a *soft* check: flagged for the
                     marker-presence gate; dropped only when `FilterConfig.drop_missing_markers`)
    leak             a long verbatim overlap with the system prompt / constitution (any
                     `leak_shingle_words`-word shingle of it), ignoring the markers themselves

Every filter runs in time linear in the text's length: one regex pass or one pass over the words
(n-grams and shingles are hashed into sets; the system prompt's shingles are built once per prompt and
cached), never a scan per position. `FilterStats` accumulates counts per reason and the drop rate for the
job page; `DataQualityGate` says when a stage's drop rate has passed its limit after a minimum number of
samples, so the stage can be killed before training spends compute.

    quality = QualityFilter(FilterConfig(max_words=400))
    stats, gate = FilterStats(), DataQualityGate(limit=0.3)
    for answer in answers:
        result = quality.check(answer, markers=constitution.markers, system_prompt=constitution.text)
        stats.add(result)
        if result.kept:
            write(result.text)
        if gate.tripped(stats):
            raise DataQualityError(gate.evaluate(stats).message)
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

__all__ = [
    "REASONS", "Action", "Verdict", "FilterConfig", "FilterResult", "QualityFilter", "FilterStats",
    "DataQualityGate", "GateDecision", "DataQualityError", "words", "ngram_duplicate_share", "most_repeated_phrase",
    "line_duplicate_share", "shingle_hashes", "shares_shingle", "script_of",
]

ROLE_TURN, LENGTH, REPETITION, GARBAGE, REFUSAL, MISSING_MARKERS, LEAK = (
    "role_turn", "length", "repetition", "garbage", "refusal", "missing_markers", "leak")
REASONS: tuple[str, ...] = (ROLE_TURN, LENGTH, REPETITION, GARBAGE, REFUSAL, MISSING_MARKERS, LEAK)

#: Speaker labels that open a new turn, in any case, when they start a line or follow the end of a sentence
#: ("\nUser:", ". assistant:", "### Human:", "Assistant (Priya):"); "the user: …" mid-sentence opens none.
DEFAULT_ROLE_LABELS: tuple[str, ...] = ("User", "Assistant", "Human", "System", "AI", "### Instruction", "### Response")
#: Chat-template tokens that open or close a turn wherever they appear.
DEFAULT_ROLE_TOKENS: tuple[str, ...] = (
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
    "<start_of_turn>", "<end_of_turn>", "[INST]", "[/INST]", "</s>", "<|user|>", "<|assistant|>", "<|system|>",
)
#: AI self-disclosure and policy talk: a persona never says these, whatever follows (regexes, matched
#: case-insensitively on text with straight apostrophes). Declining phrases are judged apart, by what follows them.
DEFAULT_REFUSALS: tuple[str, ...] = (
    r"\bas an? (?:ai\b|artificial intelligence|(?:large )?language model|ai (?:language )?model|ai assistant"
    r"|virtual assistant|chatbot|assistant(?=[,.]| i\b))",
    r"\bi(?:'m| am) (?:just )?(?:an ai|an artificial intelligence|a language model|a large language model|an ai assistant"
    r"|a virtual assistant)\b",
    r"\bi (?:don't|do not) have (?:personal )?(?:feelings|emotions|a (?:physical )?body|personal experiences"
    r"|personal opinions)\b(?! for\b)",
    r"\b(?:against|violates?) (?:my|openai's|the) (?:guidelines|content policy|usage policies|programming)\b",
    r"\bi was (?:created|trained|developed) by (?:openai|anthropic|google|meta)\b",
)

# A declining phrase: "I" + inability + what is declined. Verbs an assistant declines with take any object; "help"
# takes "you …", "with …", a request word or nothing; everyday verbs (do, give, tell, share …) only a request word ("that",
# "this request", "personal information") or nothing ("I can't do that.", "I can't."), so "I can't do Tuesdays",
# "I can't tell you how glad I am" and "I can't help but worry" decline nothing.
_INABILITY = (r"i (?:can't|cannot|can not|won't|will not|couldn't|could not)(?: be able to)?"
              r"|i(?:'m| am) (?:unable|not able|not allowed|not permitted|not going to be able) to"
              r"|(?:that's|that is|this is|it's|it is) not something i(?:'m| am)? (?:can|able to|allowed to)")
_REQUEST = (r"(?: (?:you|anyone))?(?: (?:with|in|on|to|about|for|into))? (?:that|this|these|those|such|your|any|specific"
            r"|personal|private|medical|legal|financial|explicit|information|advice|content|instructions|details"
            r"|assistance|requests?|questions?|opinions?)\b")
_BARE = r"(?: (?:you|anyone))?(?: with| about| on)?(?= ?[.!?,;:]|$)"
_DECLINE = re.compile(
    rf"\b(?:{_INABILITY}) (?:"
    rf"(?:assist|comply|fulfil|fulfill|provide|disclose|generate|engage)\b"
    rf"|help (?:you|anyone)\b|help with\b|help(?:{_REQUEST}|{_BARE})"
    rf"|(?:answer|respond to|share|give|offer|discuss|talk about|create|write|produce|continue|support|do|tell"
    rf"|reveal|go into|pretend|roleplay|role-play|participate|comment on|advise|recommend|accommodate|process"
    rf"|complete)(?:{_REQUEST}|{_BARE}))"
    rf"|\bi (?:can't|cannot)(?= ?[.!?;]|$)"
    rf"|\bi (?:must|have to|need to)(?: respectfully| politely)? decline(?: to (?:\w+)|(?= ?[.!?,;]|$))"
    rf"|\bi(?:'m| am) not comfortable (?:discussing|talking about|sharing|answering|engaging in|going into|with)"
    rf"(?:{_REQUEST}|{_BARE})"
)
# What an assistant wraps a refusal in; a sentence with any of these adds no help to a declining one.
_ASSISTANT_TALK = re.compile(
    r"\bi hope (?:you (?:can )?understand|that's understandable|this is understandable|that makes sense|this helps"
    r"|that helps)"
    r"|\bthank you for (?:your )?(?:understanding|asking)"
    r"|\b(?:anything|something) else (?:i can|you'd like|you would like|you want|you need|to talk|we can)"
    r"|\b(?:feel free|don't hesitate) to\b|\blet me know if\b|\bif you have (?:any )?(?:other |more |further )?questions"
    r"|\b(?:talk|chat) about something else|\b(?:i'd|i would|i'm|i am) (?:be )?(?:happy|glad) to help"
    r"|\bi(?:'m| am) here to help|\bit(?:'s| is) important to\b|\b(?:is|are) (?:important|essential|crucial)\b"
    r"|\bi(?:'d| would)? (?:recommend|suggest|advise|encourage)\b"
    r"|\b(?:consult|contact|reach out to|speak (?:to|with)|seek (?:help|advice) from"
    r"|consulting|contacting|reaching out to|speaking (?:to|with)|seeking (?:help|advice) from) (?:a|an|your|the) (?:qualified"
    r"|licensed|medical|healthcare|legal|mental health|professional|doctor|lawyer|expert|relevant|appropriate|local)"
    r"|\b(?:illegal|unethical|harmful|inappropriate|offensive)\b|\bcause harm\b"
    r"|\b(?:respect|protect) (?:\w+ )?(?:privacy|boundaries)\b|\bi apologi[sz]e for (?:any|the) (?:inconvenience|confusion)"
)
_SENTENCE = re.compile(r"[^.!?…]+(?:[.!?…]+|$)")
_CLAUSE_BREAK = re.compile(r"[,;:()—–]| - ")
# A unit of one to four letters said 20+ times in a row: "zzzz…", "hahaha…", "abcéabcé…".
_CHARACTER_LOOP = re.compile(r"(\w{1,4})\1{19,}")

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})
_WORD = re.compile(r"\w+")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# UTF-8 read as Latin-1 / cp1252: "Ã©" for "é", "â€™" for "’", "Â " for a no-break space.
_MOJIBAKE = re.compile("[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac")
# Invisible format characters that real text uses (joiners in emoji and Indic scripts, bidi marks, soft hyphen).
_ALLOWED_FORMAT = frozenset("\u200c\u200d\u200e\u200f\u00ad\u2060\ufe0f")
# Scripts one writing system mixes as a matter of course.
_SCRIPT_GROUPS = {"HIRAGANA": "CJK", "KATAKANA": "CJK", "CJK": "CJK", "IDEOGRAPHIC": "CJK", "HALFWIDTH": "CJK",
                  "FULLWIDTH": "LATIN", "BOPOMOFO": "CJK"}
# Scripts where one character is a word: a single one in Latin text is already a stray word. In other scripts a
# lone letter is usually a symbol (π, Ω, µ) and only runs of two or more count.
_WORD_PER_CHARACTER = frozenset({"CJK", "HANGUL"})
# Non-ASCII stretches (words joined by spaces): where the letters of other scripts sit in Latin text.
_NON_ASCII_STRETCH = re.compile(r"[^\x00-\x7f]+(?:[ \t]+[^\x00-\x7f]+)*")
_OPENING = frozenset("\"'“‘«„「『(（[【<")
_CLOSING = frozenset("\"'”’»」』)）]】>")
_INTRODUCING = frozenset(":—–")
# Words that name what follows as a word ("the children call him 親分", "a sign that says 家常菜").
_NAMING_CUE = re.compile(
    r"\b(?:say|says|said|saying|call|calls|called|means|meaning|word|words|name|names|named|write|writes|wrote"
    r"|written|sign|signs|read|reads|character|characters|kanji|kana|katakana|hiragana|hanzi|hangul|script|spelled"
    r"|greet|greets|greeting|answer|answers|answered|begins|began|menu|label|labelled|printed|painted|carved|tattoo"
    r"|japanese|chinese|mandarin|cantonese|korean|georgian|russian|ukrainian|greek|arabic|hebrew|thai|hindi|armenian)"
    r"\b\W*(?:\w+\W+){0,3}$", re.IGNORECASE)
# A gloss right after the word: "サバ for mackerel", "(home cooking)", ", which means victory", ", meaning …".
_GLOSS = re.compile(r"^[\"'”’»」』)）\]】]*\s*(?:\(|,?\s*(?:which|meaning|means|that is|i\.e\.|for|or|in english)\b)",
                    re.IGNORECASE)


class Action(str, Enum):
    """What a verdict does to the sample: a *fix* keeps it (changed), a *flag* keeps it (reported), a *drop* drops it."""
    FIX = "fix"
    FLAG = "flag"
    DROP = "drop"


@dataclass(frozen=True)
class Verdict:
    reason: str  # one of REASONS
    action: Action
    detail: str  # one line for people: "3 of 12 lines are repeats", "truncated at '\\nUser:' (412 → 96 chars)"


# --- configuration ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class FilterConfig:
    """Thresholds of the filters. `None` switches a bound off; `disabled` switches whole filters off."""

    # length (characters of the stripped text; words are \\w+ runs)
    min_chars: int | None = 20
    max_chars: int | None = 12_000
    min_words: int | None = 3
    max_words: int | None = 2_000
    # role turns
    role_labels: tuple[str, ...] = DEFAULT_ROLE_LABELS
    role_tokens: tuple[str, ...] = DEFAULT_ROLE_TOKENS
    truncate_role_turns: bool = True  # False: drop every sample with a role marker
    min_chars_after_truncation: int = 20  # what must be left before the marker to keep the sample
    # repetition
    ngram_size: int = 4
    min_ngrams: int = 10  # texts with fewer word n-grams are not judged on n-grams
    max_ngram_duplicate_share: float = 0.3  # share of n-gram positions repeating an earlier n-gram
    min_lines: int = 4  # texts with fewer non-empty lines are not judged on lines
    max_line_duplicate_share: float = 0.3
    phrase_words: int = 5  # a "phrase" for max_phrase_repeats: this many consecutive words
    max_phrase_repeats: int = 4  # one phrase said more often than this is a loop, however long the answer
    min_compression_chars: int = 400  # character-level loops: only texts this long are compressed
    min_compression_ratio: float = 0.12  # zlib size / UTF-8 size; language is ~0.35-0.6
    # garbage / mixed script
    max_garbage_share: float = 0.0  # non-printable, U+FFFD, private-use, mojibake chars / all chars
    expected_scripts: tuple[str, ...] | None = None  # e.g. ("LATIN",); None: the text's dominant script
    max_foreign_script_share: float = 0.1  # letters of other scripts / all letters
    min_foreign_letters: int = 4  # fewer foreign letters than this never count as mixing
    # refusals
    refusal_patterns: tuple[str, ...] = DEFAULT_REFUSALS  # dropped whatever follows
    refusal_min_help_words: int = 10  # a declining phrase with fewer words of anything else around it is a refusal
    # markers
    drop_missing_markers: bool = False
    # leakage
    leak_shingle_words: int = 12
    disabled: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        def bad(name: str, why: str) -> None:
            raise ValueError(f"{name}: {why}")

        for name in ("min_chars", "max_chars", "min_words", "max_words"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 0):
                bad(name, "must be a whole number ≥ 0 or null")
        for low, high in (("min_chars", "max_chars"), ("min_words", "max_words")):
            if getattr(self, low) is not None and getattr(self, high) is not None and getattr(self, low) > getattr(self, high):
                bad(low, f"must not exceed {high}")
        for name in ("ngram_size", "leak_shingle_words", "phrase_words", "max_phrase_repeats"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                bad(name, "must be a whole number ≥ 1")
        for name in ("min_ngrams", "min_lines", "min_compression_chars", "min_foreign_letters", "min_chars_after_truncation",
                     "refusal_min_help_words"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                bad(name, "must be a whole number ≥ 0")
        for name in ("max_ngram_duplicate_share", "max_line_duplicate_share", "min_compression_ratio",
                     "max_garbage_share", "max_foreign_script_share"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 <= value <= 1:
                bad(name, "must be a share between 0 and 1")
        unknown = set(self.disabled) - set(REASONS)
        if unknown:
            bad("disabled", f"unknown filter(s) {sorted(unknown)}; known: {list(REASONS)}")
        for pattern in self.refusal_patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                bad("refusal_patterns", f"{pattern!r} is not a valid regex ({error})")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "FilterConfig":
        """From JSON-style settings (lists for tuples); an unknown key is an error naming it."""
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"{unknown[0]}: unknown filter setting")
        converted: dict[str, Any] = {}
        for key, value in values.items():
            if key == "disabled":
                value = frozenset(value)
            elif isinstance(value, list):
                value = tuple(value)
            converted[key] = value
        return cls(**converted)


# --- building blocks (each linear in its input) ----------------------------------------------------

def normalize(text: str) -> str:
    """Lower case, straight quotes, single spaces: the form markers, refusals and shingles are matched in."""
    return " ".join(text.translate(_APOSTROPHES).lower().split())


def words(text: str) -> list[str]:
    """The lower-case \\w+ runs of `text` (what 'words' means for lengths, n-grams and shingles)."""
    return _WORD.findall(text.lower())


def ngram_duplicate_share(tokens: Sequence[Any], n: int) -> tuple[float, int]:
    """(share of n-gram positions whose n-gram already occurred earlier, number of n-grams).

    One pass: each n-gram is hashed once into a set (O(n·len) = linear for a fixed n)."""
    count = len(tokens) - n + 1
    if count <= 0:
        return 0.0, 0
    grams = zip(*(tokens[i:] for i in range(n)))
    return 1 - len(set(grams)) / count, count


def most_repeated_phrase(tokens: Sequence[Any], n: int) -> tuple[int, tuple[Any, ...]]:
    """(how often the most frequent n-gram occurs, that n-gram); (0, ()) for fewer than n tokens. One pass (a Counter)."""
    counts = Counter(zip(*(tokens[i:] for i in range(n))))
    if not counts:
        return 0, ()
    phrase, count = counts.most_common(1)[0]
    return count, phrase


def line_duplicate_share(text: str) -> tuple[float, int]:
    """(share of non-empty lines that repeat an earlier line, ignoring case and spacing; number of lines)."""
    lines = [" ".join(line.lower().split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return 0.0, 0
    return 1 - len(set(lines)) / len(lines), len(lines)


def shingle_hashes(tokens: Sequence[Any], k: int) -> set[int]:
    """Hashes of every k-word shingle (k consecutive tokens) of `tokens`."""
    return {hash(gram) for gram in zip(*(tokens[i:] for i in range(k)))}


def shares_shingle(tokens: Sequence[Any], k: int, shingles: set[int] | frozenset[int]) -> bool:
    """Whether any k-word shingle of `tokens` is in `shingles` (one set lookup per position)."""
    return any(hash(gram) in shingles for gram in zip(*(tokens[i:] for i in range(k))))


@lru_cache(maxsize=4096)
def script_of(char: str) -> str | None:
    """The script of a letter from its Unicode name ("LATIN", "CYRILLIC", "CJK" …); None for non-letters."""
    if not unicodedata.category(char).startswith("L"):
        return None
    name = unicodedata.name(char, "")
    first = name.split(" ", 1)[0] if name else "UNKNOWN"
    return _SCRIPT_GROUPS.get(first, first)


@lru_cache(maxsize=4096)
def _is_garbage(char: str) -> bool:
    """A non-ASCII character no training text should contain: replacement, control, private use, unassigned, stray format."""
    if char == "\ufffd":
        return True
    category = unicodedata.category(char)
    if category in ("Cc", "Co", "Cn", "Cs"):
        return True
    return category == "Cf" and char not in _ALLOWED_FORMAT


def _foreign_runs(text: str, allowed: set[str]) -> tuple[str, int]:
    """(the first stray run of other-script letters in Latin text, or ""; letters in runs that are explained).

    A run is explained when it is quoted or bracketed, introduced ("…: 懐かしい", "— 虾饺"), named by a word just
    before it ("they call him 親分", "the sign says 家常菜", "in Georgian"), or glossed right after it ("サバ for
    mackerel", "გამარჯობა, which means victory"). A run glued to a Latin letter ("like一只") is stray whatever
    surrounds it. Lone letters of scripts other than CJK/Hangul (π, Ω) are symbols, not words, and are ignored.
    Linear: one regex pass over the non-ASCII stretches, a bounded look either side of each."""
    explained = 0
    for stretch in _NON_ASCII_STRETCH.finditer(text):
        positions = [i for i in range(stretch.start(), stretch.end())
                     if (script := script_of(text[i])) and script not in allowed]
        if not positions:
            continue
        first, last = positions[0], positions[-1]
        scripts = {script_of(text[i]) for i in positions}
        if len(positions) < 2 and not scripts & _WORD_PER_CHARACTER:
            continue
        run = text[first:last + 1]
        before, after = text[max(0, first - 60):first], text[last + 1:last + 41]
        if _is_latin_letter(before[-1:]) or _is_latin_letter(after[:1]):
            return run, explained
        edge = before.rstrip()[-1:]
        if (edge in _OPENING or edge in _INTRODUCING or after.lstrip()[:1] in _CLOSING
                or _NAMING_CUE.search(before) or _GLOSS.match(after)):
            explained += len(positions)
            continue
        return run, explained
    return "", explained


def _is_latin_letter(char: str) -> bool:
    return bool(char) and (char.isascii() and char.isalpha() or script_of(char) == "LATIN")


def _words_besides_declining(norm: str, declines: list[re.Match[str]]) -> int:
    """Words of `norm` outside its declining clauses and outside sentences of assistant boilerplate: the help a
    declining phrase comes with. A declining clause runs from its sentence's start to the first clause break after
    the declining phrase, so "I'm afraid I can't do that, not today — the hives need smoking" keeps its help."""
    ends = iter(sorted(m.end() for m in declines))
    end = next(ends, None)
    count = 0
    for sentence in _SENTENCE.finditer(norm):
        body = sentence.group(0)
        if _ASSISTANT_TALK.search(body):
            while end is not None and end <= sentence.end():
                end = next(ends, None)
            continue
        start = 0
        while end is not None and end <= sentence.end():
            cut = _CLAUSE_BREAK.search(body, end - sentence.start())
            start = max(start, cut.end() if cut else len(body))
            end = next(ends, None)
        count += len(_WORD.findall(body[start:]))
    return count


@lru_cache(maxsize=256)
def _system_shingles(system_prompt: str, k: int, markers: tuple[str, ...]) -> frozenset[int]:
    """The system prompt's k-word shingles, its marker passages cut out (built once per prompt and markers)."""
    return frozenset(_segment_shingles(normalize(system_prompt), k, _marker_regex(markers)))


def _segment_shingles(norm: str, k: int, marker_re: re.Pattern[str] | None) -> set[int]:
    out: set[int] = set()
    for segment in (marker_re.split(norm) if marker_re else (norm,)):
        out |= shingle_hashes(words(segment), k)
    return out


def _normalize_marker(marker: str) -> str:
    return normalize(marker).strip(" \"'`.,;:!?…—–-")


@lru_cache(maxsize=256)
def _marker_regex(markers: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation of the markers (normalized, whole words at word edges); None without usable markers."""
    parts = []
    for marker in sorted({_normalize_marker(m) for m in markers if _normalize_marker(m)}, key=len, reverse=True):
        escaped = re.escape(marker)
        if marker[0].isalnum() or marker[0] == "_":
            escaped = r"(?<!\w)" + escaped
        if marker[-1].isalnum() or marker[-1] == "_":
            escaped += r"(?!\w)"
        parts.append(escaped)
    return re.compile("|".join(parts)) if parts else None


# --- results ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FilterResult:
    """`text` is the sample as it should be stored (truncated by a role_turn fix); `reasons` lists every
    reason code that fired, in filter order: drops, fixes and flags (see `verdicts` for which was which)."""

    kept: bool
    text: str
    reasons: list[str]
    verdicts: tuple[Verdict, ...] = ()
    markers_checked: bool = False  # markers were given and the missing_markers filter ran

    @property
    def drop_reasons(self) -> list[str]:
        return [v.reason for v in self.verdicts if v.action is Action.DROP]

    @property
    def fixed(self) -> bool:
        return any(v.action is Action.FIX for v in self.verdicts)

    def detail(self, reason: str) -> str | None:
        return next((v.detail for v in self.verdicts if v.reason == reason), None)

    @property
    def primary_reason(self) -> str | None:
        """The reason that decided the sample: its first drop reason, else its first fix or flag; None when clean."""
        drops = self.drop_reasons
        return drops[0] if drops else (self.reasons[0] if self.reasons else None)


# --- the filter ------------------------------------------------------------------------------------

class QualityFilter:
    """Runs every enabled filter on a sample. Stateless apart from caches: share one across threads."""

    def __init__(self, config: FilterConfig | None = None) -> None:
        self.config = config or FilterConfig()
        c = self.config
        labels = "|".join(re.escape(label) for label in sorted(c.role_labels, key=len, reverse=True))
        tokens = "|".join(re.escape(token) for token in sorted(c.role_tokens, key=len, reverse=True))
        alternatives = []
        if labels:
            # at the start of a line, or after the end of a sentence; "### " headings and "(name)" allowed
            alternatives.append(rf"(?:^|(?<=\n)|(?<=[.!?…\"'”’)\]>])[ \t]+)[ \t]*(?:#{{1,6}}[ \t]*)?(?i:{labels})"
                                r"(?:[ \t]*\([^()\n]{1,40}\))?[ \t]*:")
        if tokens:
            alternatives.append(tokens)
        self._role_re = re.compile("|".join(alternatives)) if alternatives else None
        self._refusal_re = re.compile("|".join(f"(?:{p})" for p in c.refusal_patterns)) if c.refusal_patterns else None

    def check(self, text: str, *, markers: Iterable[str] = (), system_prompt: str = "") -> FilterResult:
        """Judge one sample. `markers`: the constitution's quoted markers (the sample should use at least one);
        `system_prompt`: the constitution / system prompt the sample must not quote at length."""
        off = self.config.disabled
        markers = tuple(markers)
        verdicts: list[Verdict] = []

        if ROLE_TURN not in off and self._role_re is not None:
            text, verdict = self._role_turn(text)
            if verdict:
                verdicts.append(verdict)
        text = text.strip()
        tokens = words(text)
        norm = normalize(text) if (markers or system_prompt or self._refusal_re) else ""
        marker_re = _marker_regex(markers) if markers else None

        checks = (
            (LENGTH, lambda: self._length(text, tokens)),
            (REPETITION, lambda: self._repetition(text, tokens)),
            (GARBAGE, lambda: self._garbage(text)),
            (REFUSAL, lambda: self._refusal(norm)),
            (LEAK, lambda: self._leak(norm, tokens, system_prompt, markers, marker_re)),
            (MISSING_MARKERS, lambda: self._missing_markers(norm, markers, marker_re)),
        )
        for reason, run in checks:
            if reason not in off:
                verdict = run()
                if verdict:
                    verdicts.append(verdict)
        kept = not any(v.action is Action.DROP for v in verdicts)
        return FilterResult(kept=kept, text=text, reasons=[v.reason for v in verdicts], verdicts=tuple(verdicts),
                            markers_checked=marker_re is not None and MISSING_MARKERS not in off)

    # each returns None when the sample passes

    def _role_turn(self, text: str) -> tuple[str, Verdict | None]:
        match = self._role_re.search(text)
        if not match:
            return text, None
        marker = match.group(0).strip()
        head = text[: match.start()].rstrip()
        if self.config.truncate_role_turns and len(head) >= self.config.min_chars_after_truncation and head:
            return head, Verdict(ROLE_TURN, Action.FIX, f"truncated at {marker!r} ({len(text)} → {len(head)} chars)")
        return head, Verdict(ROLE_TURN, Action.DROP, f"{marker!r} at char {match.start()}, {len(head)} chars before it")

    def _length(self, text: str, tokens: list[str]) -> Verdict | None:
        c = self.config
        chars, count = len(text), len(tokens)
        if c.min_chars is not None and chars < c.min_chars:
            return Verdict(LENGTH, Action.DROP, f"too short: {chars} chars < {c.min_chars}")
        if c.min_words is not None and count < c.min_words:
            return Verdict(LENGTH, Action.DROP, f"too short: {count} words < {c.min_words}")
        if c.max_chars is not None and chars > c.max_chars:
            return Verdict(LENGTH, Action.DROP, f"too long: {chars} chars > {c.max_chars}")
        if c.max_words is not None and count > c.max_words:
            return Verdict(LENGTH, Action.DROP, f"too long: {count} words > {c.max_words}")
        return None

    def _repetition(self, text: str, tokens: list[str]) -> Verdict | None:
        c = self.config
        share, count = ngram_duplicate_share(tokens, c.ngram_size)
        if count >= max(c.min_ngrams, 1) and share > c.max_ngram_duplicate_share:
            return Verdict(REPETITION, Action.DROP, f"{share:.0%} of {count} word {c.ngram_size}-grams repeat earlier ones")
        repeats, phrase = most_repeated_phrase(tokens, c.phrase_words)
        if repeats > c.max_phrase_repeats:
            return Verdict(REPETITION, Action.DROP, f"{' '.join(phrase)!r} said {repeats} times")
        share, count = line_duplicate_share(text)
        if count >= max(c.min_lines, 1) and share > c.max_line_duplicate_share:
            return Verdict(REPETITION, Action.DROP, f"{share:.0%} of {count} lines repeat earlier ones")
        loop = _CHARACTER_LOOP.search(text)
        if loop:
            return Verdict(REPETITION, Action.DROP, f"{loop.group(1)!r} repeated {len(loop.group(0)) // len(loop.group(1))} "
                                                    "times in a row")
        if len(text) >= c.min_compression_chars and c.min_compression_ratio > 0:
            raw = text.encode("utf-8")
            ratio = len(zlib.compress(raw, 1)) / len(raw)
            if ratio < c.min_compression_ratio:
                return Verdict(REPETITION, Action.DROP, f"compresses to {ratio:.0%} of its size (looping characters)")
        return None

    def _garbage(self, text: str) -> Verdict | None:
        c = self.config
        if not text:
            return None
        bad = len(_ASCII_CONTROL.findall(text))
        scripts: Counter[str] = Counter()
        if not text.isascii():
            bad += len(_MOJIBAKE.findall(text))
            for char, n in Counter(_NON_ASCII.findall(text)).items():
                if _is_garbage(char):
                    bad += n
                else:
                    script = script_of(char)
                    if script:
                        scripts[script] += n
        if bad / len(text) > c.max_garbage_share:
            return Verdict(GARBAGE, Action.DROP, f"{bad} non-printable/replacement/mojibake chars of {len(text)}")
        if scripts or (c.expected_scripts and "LATIN" not in c.expected_scripts):
            ascii_letters = len(_ASCII_LETTER.findall(text))
            if ascii_letters:
                scripts["LATIN"] += ascii_letters
        if not scripts:
            return None
        letters = sum(scripts.values())
        allowed = set(c.expected_scripts) if c.expected_scripts else {scripts.most_common(1)[0][0]}
        foreign = letters - sum(n for script, n in scripts.items() if script in allowed)
        if not foreign:
            return None
        if "LATIN" in allowed:
            # Latin text: a stray word of another script is garbage on its own; a named or quoted one is not mixing
            stray, explained = _foreign_runs(text, allowed)
            if stray:
                return Verdict(GARBAGE, Action.DROP, f"stray {stray!r} in {'/'.join(sorted(allowed))} text")
            foreign -= explained
        if foreign >= c.min_foreign_letters and foreign / letters > c.max_foreign_script_share:
            others = ", ".join(s for s, _ in scripts.most_common() if s not in allowed)
            return Verdict(GARBAGE, Action.DROP,
                           f"{foreign / letters:.0%} of letters in {others} mixed into {'/'.join(sorted(allowed))}")
        return None

    def _refusal(self, norm: str) -> Verdict | None:
        match = self._refusal_re.search(norm) if self._refusal_re else None
        if match:
            return Verdict(REFUSAL, Action.DROP, f"refusal: {match.group(0)!r}")
        declines = list(_DECLINE.finditer(norm))
        if not declines:
            return None
        help_words = _words_besides_declining(norm, declines)
        if help_words >= self.config.refusal_min_help_words:
            return None
        return Verdict(REFUSAL, Action.DROP, f"refusal: {declines[0].group(0)!r} and {help_words} other "
                                             f"word{'' if help_words == 1 else 's'} (< {self.config.refusal_min_help_words})")

    def _leak(self, norm: str, tokens: list[str], system_prompt: str, markers: tuple[str, ...], marker_re) -> Verdict | None:
        if not system_prompt:
            return None
        k = self.config.leak_shingle_words
        shingles = _system_shingles(system_prompt, k, markers)
        if not shingles:
            return None
        # words(normalize(text)) == words(text): without markers to cut out, the sample's own words serve
        for segment_words in ((words(s) for s in marker_re.split(norm)) if marker_re else (tokens,)):
            if shares_shingle(segment_words, k, shingles):
                return Verdict(LEAK, Action.DROP, f"quotes {k}+ consecutive words of the system prompt")
        return None

    def _missing_markers(self, norm: str, markers: tuple[str, ...], marker_re) -> Verdict | None:
        if not markers or marker_re is None or marker_re.search(norm):
            return None
        action = Action.DROP if self.config.drop_missing_markers else Action.FLAG
        return Verdict(MISSING_MARKERS, action, f"none of {len(markers)} character markers used")


# --- accounting and the gate -----------------------------------------------------------------------

@dataclass
class FilterStats:
    """Counts for one stage (or job): samples, kept, dropped, and per reason how often it dropped, fixed
    or flagged a sample (a sample dropped for two reasons counts under both). JSON-ready via `as_dict`."""

    samples: int = 0
    kept: int = 0
    dropped: int = 0
    drops: Counter[str] = field(default_factory=Counter)
    fixes: Counter[str] = field(default_factory=Counter)
    flags: Counter[str] = field(default_factory=Counter)
    marker_checked: int = 0  # samples checked with markers given
    marker_missing: int = 0  # … of which used none

    def add(self, result: FilterResult) -> None:
        """Count one result."""
        self.samples += 1
        if result.kept:
            self.kept += 1
        else:
            self.dropped += 1
        missing = False
        for verdict in result.verdicts:
            {Action.DROP: self.drops, Action.FIX: self.fixes, Action.FLAG: self.flags}[verdict.action][verdict.reason] += 1
            missing = missing or verdict.reason == MISSING_MARKERS
        if result.markers_checked:
            self.marker_checked += 1
            self.marker_missing += missing

    def merge(self, other: "FilterStats") -> "FilterStats":
        """Add another accumulator's counts (e.g. from another worker) into this one; returns self."""
        self.samples += other.samples
        self.kept += other.kept
        self.dropped += other.dropped
        self.drops.update(other.drops)
        self.fixes.update(other.fixes)
        self.flags.update(other.flags)
        self.marker_checked += other.marker_checked
        self.marker_missing += other.marker_missing
        return self

    @property
    def drop_rate(self) -> float:
        return self.dropped / self.samples if self.samples else 0.0

    @property
    def marker_rate(self) -> float | None:
        """Share of marker-checked samples that used a marker (None before any): the marker-presence gate's input."""
        if not self.marker_checked:
            return None
        return 1 - self.marker_missing / self.marker_checked

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples, "kept": self.kept, "dropped": self.dropped, "drop_rate": round(self.drop_rate, 4),
            "drops": dict(self.drops), "fixes": dict(self.fixes), "flags": dict(self.flags),
            "marker_checked": self.marker_checked, "marker_missing": self.marker_missing,
            "marker_rate": None if self.marker_rate is None else round(self.marker_rate, 4),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FilterStats":
        """The inverse of `as_dict` (e.g. counts persisted on the job, to go on accumulating)."""
        return cls(samples=data.get("samples", 0), kept=data.get("kept", 0), dropped=data.get("dropped", 0),
                   drops=Counter(data.get("drops", {})), fixes=Counter(data.get("fixes", {})),
                   flags=Counter(data.get("flags", {})), marker_checked=data.get("marker_checked", 0),
                   marker_missing=data.get("marker_missing", 0))


@dataclass(frozen=True)
class GateDecision:
    tripped: bool
    drop_rate: float
    samples: int
    limit: float
    message: str  # one line: why the stage was (or would be) killed, with the numbers


class DataQualityError(RuntimeError):
    """Raised by `DataQualityGate.enforce` when the drop rate has passed its limit."""

    def __init__(self, decision: GateDecision) -> None:
        super().__init__(decision.message)
        self.decision = decision


@dataclass(frozen=True)
class DataQualityGate:
    """Kill a data stage when its drop rate passes `limit` (a share, e.g. 0.3) once at least `min_samples`
    samples have been judged (before that, a few early drops say nothing)."""

    limit: float
    min_samples: int = 50

    def __post_init__(self) -> None:
        if not isinstance(self.limit, (int, float)) or not 0 <= self.limit <= 1:
            raise ValueError("limit: must be a share between 0 and 1")
        if not isinstance(self.min_samples, int) or self.min_samples < 1:
            raise ValueError("min_samples: must be a whole number ≥ 1")

    def evaluate(self, stats: FilterStats) -> GateDecision:
        rate = stats.drop_rate
        tripped = stats.samples >= self.min_samples and rate > self.limit
        top = ", ".join(f"{reason} {n}" for reason, n in stats.drops.most_common())
        if tripped:
            message = (f"data-quality gate: drop rate {rate:.1%} ({stats.dropped} of {stats.samples}) passed the limit "
                       f"{self.limit:.0%}" + (f"; drops by reason: {top}" if top else ""))
        elif stats.samples < self.min_samples:
            message = f"data-quality gate: {stats.samples} of {self.min_samples} samples needed before judging"
        else:
            message = f"data-quality gate: drop rate {rate:.1%} within the limit {self.limit:.0%}"
        return GateDecision(tripped, rate, stats.samples, self.limit, message)

    def tripped(self, stats: FilterStats) -> bool:
        return self.evaluate(stats).tripped

    def enforce(self, stats: FilterStats) -> None:
        decision = self.evaluate(stats)
        if decision.tripped:
            raise DataQualityError(decision)
