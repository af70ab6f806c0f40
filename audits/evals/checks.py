"""Eval cases and their checks: strict schemas, persona placeholders, and the deterministic checks. No Django.

A case is a prompt (or a short scripted conversation ending with a user turn) and one check of the
in-persona reply. Checks are written against the persona's own protocol: phrases and rubrics may use
placeholders filled from the persona's layers, e.g. `{name}` or `{signature_phrase}`. A placeholder
with several values (signature phrases, values) means "any of them".

Check kinds:
- judge               a rubric the judge model grades (see judge.py)
- required_phrases    every phrase appears (case-insensitive)
- forbidden_phrases   no phrase appears (case-insensitive)
- structural          max_words, max_sentences, ends_with_question, no_markdown, first_person
- long_conversation   a simulated user talks with the persona for `turns` turns (its goal script in phases),
                      `repeats` times; passes a repeat when no reply drifts above `threshold` before
                      `before_turn` (audits.evals.conversation). Its case's turns, if any, open the conversation.
"""

import re
import string
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator

from audits.evals.conversation import (
    DEFAULT_GOAL, DEFAULT_REPEATS, DEFAULT_TURNS, MAX_PHASES, MAX_REPEATS, MAX_TURNS, MIN_REPEATS, MIN_TURNS,
)

LAYERS = ("floor", "protocol", "persona", "closure")
CHECK_KINDS = ("judge", "required_phrases", "forbidden_phrases", "structural", "long_conversation")
LIST_PLACEHOLDERS = ("signature_phrase", "value")
PLACEHOLDERS = ("name", "first_name", "occupation", "location", "tone", "archetype", "social_role", *LIST_PLACEHOLDERS)
MARKDOWN = re.compile(r"(^\s{0,3}#{1,6}\s|^\s*[-*+]\s|^\s*\d+\.\s|\*\*|__|`|^\s*>|\[[^\]]+\]\([^)]+\))", re.M)
FIRST_PERSON = re.compile(r"\b(i|i'm|i’m|i've|i’ve|i'd|i’d|i'll|i’ll|me|my|mine|myself)\b", re.I)
_NAMED = re.compile(r"^(turns|before_turn): (.+)$", re.S)
_SENTENCE_END = re.compile(r"[.!?…]+(?=\s|$)")


def placeholders_in(text: str) -> list[str]:
    """The placeholder names in `text`; ValueError for a malformed one (a lone brace)."""
    return [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]


def _check_placeholders(text: str) -> str:
    try:
        names = placeholders_in(text)
    except ValueError:
        raise ValueError("has an unmatched brace: write placeholders as {name}, literal braces as {{ }}") from None
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        raise ValueError(f"unknown placeholder {{{unknown[0]}}}: use one of {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    return text


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class JudgeCheck(Strict):
    kind: Literal["judge"]
    rubric: str = Field(min_length=10, max_length=2000)

    @field_validator("rubric")
    @classmethod
    def _placeholders(cls, rubric: str) -> str:
        return _check_placeholders(rubric)


Phrase = Annotated[str, Field(min_length=1, max_length=200)]


class PhrasesCheck(Strict):
    kind: Literal["required_phrases", "forbidden_phrases"]
    phrases: list[Phrase] = Field(min_length=1, max_length=20)

    @field_validator("phrases")
    @classmethod
    def _placeholders(cls, phrases: list[str]) -> list[str]:
        return [_check_placeholders(p) for p in phrases]


class StructuralCheck(Strict):
    kind: Literal["structural"]
    max_words: int | None = Field(None, ge=1, le=5000)
    max_sentences: int | None = Field(None, ge=1, le=200)
    ends_with_question: bool | None = None
    no_markdown: bool | None = None
    first_person: bool | None = None

    @model_validator(mode="after")
    def _some_rule(self):
        if all(getattr(self, rule) is None for rule in STRUCTURAL_RULES):
            raise ValueError(f"a structural check needs at least one of {', '.join(STRUCTURAL_RULES)}")
        return self


STRUCTURAL_RULES = ("max_words", "max_sentences", "ends_with_question", "no_markdown", "first_person")


class Phase(Strict):
    """One phase of the simulated user's goal script: its share of the turns is weight / the weights' sum."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    instruction: str = Field(min_length=10, max_length=500)
    weight: float = Field(1.0, gt=0, le=100)


class LongConversationCheck(Strict):
    kind: Literal["long_conversation"]
    turns: int = Field(DEFAULT_TURNS, ge=MIN_TURNS, le=MAX_TURNS, strict=True)
    threshold: float | None = Field(None, gt=0, le=2, description="default: engine.pipeline.drift_detection.threshold")
    before_turn: int | None = Field(None, ge=2, strict=True, description="default: turns + 1 (the whole conversation)")
    repeats: int = Field(DEFAULT_REPEATS, ge=MIN_REPEATS, le=MAX_REPEATS, strict=True)
    goal: list[Phase] | None = Field(None, min_length=1, max_length=MAX_PHASES, description="default: conversation.DEFAULT_GOAL")

    @model_validator(mode="after")
    def _fits(self):
        if self.before_turn is not None and self.before_turn > self.turns + 1:
            raise ValueError(f"before_turn: must be at most turns + 1 ({self.turns + 1}): the conversation has {self.turns} turns")
        return self

    def goal_script(self) -> list[dict]:
        return [p.model_dump() for p in self.goal] if self.goal else [dict(p) for p in DEFAULT_GOAL]

    def last_checked(self) -> int:
        return self.before_turn if self.before_turn is not None else self.turns + 1


Check = Annotated[JudgeCheck | PhrasesCheck | StructuralCheck | LongConversationCheck, Field(discriminator="kind")]
_CHECK = TypeAdapter(Check)


class Turn(Strict):
    role: Literal["user", "assistant"]
    content: str = Field(min_length=1, max_length=4000)

    @field_validator("content")
    @classmethod
    def _placeholders(cls, content: str) -> str:
        return _check_placeholders(content)


class CaseSpec(Strict):
    """What an editor writes: a layer, a title, the turns (ending with a user turn) and a check."""

    layer: Literal["floor", "protocol", "persona", "closure"]
    title: str = Field(min_length=3, max_length=120)
    turns: list[Turn] = Field(default_factory=list, max_length=9)
    check: Check

    @model_validator(mode="after")
    def _ends_with_user(self):
        if not self.turns and not isinstance(self.check, LongConversationCheck):
            raise ValueError("turns: a case needs a prompt or turns (only a long conversation may have none)")
        if self.turns and self.turns[-1].role != "user":
            raise ValueError("turns: a conversation must end with a user turn: the persona answers it")
        return self


class InvalidCase(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message, self.field = message, field


def parse_case(data: dict) -> CaseSpec:
    """A validated case, or InvalidCase naming the first offending field (e.g. `check.rubric`, `turns.0.role`)."""
    try:
        return CaseSpec.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [str(part) for part in error["loc"]]
        if loc[:1] == ["check"] and len(loc) > 1 and loc[1] in CHECK_KINDS:
            loc.pop(1)  # the discriminator's tag is not a field the caller wrote
        message = error["msg"].removeprefix("Value error, ")
        if named := _NAMED.match(message):  # a rule over several fields that says which one it is about
            loc, message = [*loc, named.group(1)], named.group(2)
        field = ".".join(loc) or "case"
        if error["type"] == "union_tag_invalid":
            message = f"kind must be one of {', '.join(CHECK_KINDS)}"
            field = "check.kind"
        elif error["type"] == "union_tag_not_found":
            field, message = "check.kind", f"a check needs a kind: {', '.join(CHECK_KINDS)}"
        raise InvalidCase(f"{field}: {message}", field) from None


def parse_check(data: dict):
    return _CHECK.validate_python(data)


# --- placeholders ------------------------------------------------------------------------------


def persona_facts(layers: dict) -> dict[str, list[str]]:
    """Placeholder → its values from the persona's layers (one value, or several for list placeholders)."""
    surface, mask, self_layer = (layers.get(k) or {} for k in ("surface", "mask", "self"))
    name = str(surface.get("name") or "").strip()
    facts = {
        "name": name, "first_name": name.split()[0] if name else "", "occupation": surface.get("occupation"),
        "location": surface.get("location"), "tone": mask.get("tone"), "archetype": self_layer.get("archetype"),
        "social_role": mask.get("social_role"),
    }
    out = {key: [str(value)] for key, value in facts.items() if value}
    out["signature_phrase"] = [p for p in mask.get("signature_phrases") or [] if isinstance(p, str) and p.strip()]
    out["value"] = [v for v in self_layer.get("values") or [] if isinstance(v, str) and v.strip()]
    return {key: values for key, values in out.items() if values}


def expand(text: str, facts: dict[str, list[str]]) -> list[str]:
    """Every filling of `text`'s placeholders (list placeholders fan out); [] when the persona lacks a fact."""
    names = list(dict.fromkeys(placeholders_in(text)))
    fillings = [{}]
    for name in names:
        if not facts.get(name):
            return []
        fillings = [{**f, name: value} for f in fillings for value in facts[name]]
    return [text.format(**f) for f in fillings]


def fill(text: str, facts: dict[str, list[str]]) -> str:
    """`text` with each placeholder filled by its first value (for prompts and rubrics)."""
    names = placeholders_in(text)
    return text.format(**{n: (facts.get(n) or [f"(no {n})"])[0] if n not in LIST_PLACEHOLDERS
                          else " / ".join(facts.get(n) or [f"(no {n})"]) for n in names})


# --- deterministic checks ----------------------------------------------------------------------


def _contains(reply: str, phrase: str) -> bool:
    return " ".join(phrase.lower().split()) in " ".join(reply.lower().split())


def check_phrases(check: PhrasesCheck, reply: str, facts: dict) -> tuple[bool, str]:
    for phrase in check.phrases:
        options = expand(phrase, facts)
        if check.kind == "required_phrases":
            if not options:
                return False, f"the persona has nothing to fill {phrase!r} with"
            if not any(_contains(reply, option) for option in options):
                shown = options[0] if len(options) == 1 else " / ".join(options[:4])
                return False, f"missing required phrase: {shown!r}"
        elif hit := next((option for option in options if _contains(reply, option)), None):
            return False, f"contains forbidden phrase: {hit!r}"
    return True, "all phrases as required" if check.kind == "required_phrases" else "no forbidden phrase"


def words(text: str) -> list[str]:
    return re.findall(r"[\w'’-]+", text)


def sentences(text: str) -> int:
    text = text.strip()
    if not text:
        return 0
    return len(_SENTENCE_END.findall(text)) + (0 if _SENTENCE_END.search(text[-1:] + " ") else 1)


def check_structure(check: StructuralCheck, reply: str) -> tuple[bool, str]:
    text = reply.strip()
    problems = []
    if check.max_words is not None and (n := len(words(text))) > check.max_words:
        problems.append(f"{n} words (max {check.max_words})")
    if check.max_sentences is not None and (n := sentences(text)) > check.max_sentences:
        problems.append(f"{n} sentences (max {check.max_sentences})")
    if check.ends_with_question is not None and text.rstrip("\"'”’)").endswith("?") != check.ends_with_question:
        problems.append("does not end with a question" if check.ends_with_question else "ends with a question")
    if check.no_markdown and (match := MARKDOWN.search(text)):
        problems.append(f"uses markdown ({match.group(0).strip()!r})")
    if check.first_person is not None and bool(FIRST_PERSON.search(text)) != check.first_person:
        problems.append("not in first person" if check.first_person else "speaks in first person")
    return (not problems), "; ".join(problems) or "structure as required"


def check_locally(check, reply: str, facts: dict) -> tuple[bool, str] | None:
    """(passed, reason) for a deterministic check; None for a judge check (the judge model grades it)."""
    if isinstance(check, PhrasesCheck):
        return check_phrases(check, reply, facts)
    if isinstance(check, StructuralCheck):
        return check_structure(check, reply)
    return None
