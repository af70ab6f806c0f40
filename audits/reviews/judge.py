"""The LLM judge for paired outputs: its prompt, its strict verdict schema, and the two-order rule. No Django.

The judge sees one pair twice, once in each order. A verdict that follows the position rather
than the text (A both times, or B both times) is position bias: it counts as a tie.
"""

import json
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

JUDGE_MARKER = "### paired-judge"  # the offline engine recognises the judge's prompt by this first line

INSTRUCTIONS = (
    "You compare two replies written in the persona described in the system message, to the same prompt. "
    "Prefer the reply that stays in character, follows the persona's protocol and closes the exchange well. "
    'Answer with one JSON object and nothing else: {"winner": "A" | "B" | "tie", "reason": "<one sentence>"}.'
)


class PairVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    winner: Literal["A", "B", "tie"]
    reason: str = Field("", max_length=2000)


def judge_messages(*, persona_system: str, prompt: str, first: str, second: str) -> list[dict]:
    pair = json.dumps({"prompt": prompt, "A": first, "B": second}, ensure_ascii=False)
    return [
        {"role": "system", "content": persona_system},
        {"role": "user", "content": f"{JUDGE_MARKER}\n{pair}\n\n{INSTRUCTIONS}"},
    ]


def parse_verdict(text: str) -> PairVerdict:
    """The verdict in a reply (a JSON object, possibly fenced); ValueError for anything else."""
    match = re.search(r"\{.*\}", text or "", re.S)
    if not match:
        raise ValueError("the judge's reply holds no JSON object")
    return PairVerdict.model_validate_json(match.group(0))


def combine(forward: str, backward: str) -> str:
    """The comparison-frame choice ("a", "b", "tie") from the verdicts with text_a shown first, then second."""
    first = {"A": "a", "B": "b"}.get(forward, "tie")
    second = {"A": "b", "B": "a"}.get(backward, "tie")
    return first if first == second else "tie"


def _richness(text: str) -> int:
    return len({word for word in re.findall(r"[^\W\d_]{3,}", text.lower())})


def _fold(text: str) -> str:
    return " ".join(text.lower().split())


def in_character(text: str, persona: dict | None) -> int:
    """The offline judge's reading of "stays in character": how many of the persona's own markers the reply
    shows — each signature phrase it uses, an opener it begins with, a closer it ends with, its name."""
    persona = persona or {}
    folded = _fold(text)
    head, tail = folded[:80], folded[-80:]
    found = lambda phrases, where: [p for p in map(_fold, phrases or []) if p and p in where]  # noqa: E731
    score = len(found(persona.get("phrases"), folded))
    score += bool(found(persona.get("openers"), head)) + bool(found(persona.get("closers"), tail))
    name = (persona.get("name") or "").split(" ")[0].lower()
    return score + bool(name and re.search(rf"\b{re.escape(name)}\b", folded))


def offline_verdict(user_text: str, persona: dict | None = None) -> str:
    """The offline engine's judge: prefers the reply that shows more of the persona's markers (`persona`, read
    from the system message), then the one with more distinct words; both orders agree, so no position bias."""
    try:
        pair = json.loads(user_text.split("\n", 1)[1].split("\n\n" + INSTRUCTIONS, 1)[0])
        first = (in_character(pair["A"], persona), _richness(pair["A"]))
        second = (in_character(pair["B"], persona), _richness(pair["B"]))
    except (IndexError, KeyError, TypeError, ValueError):
        return json.dumps({"winner": "tie", "reason": "could not read the pair"})
    winner = "A" if first > second else "B" if second > first else "tie"
    if winner == "tie":
        return json.dumps({"winner": "tie", "reason": "equally in character and equally full"})
    won, lost = (first, second) if winner == "A" else (second, first)
    why = ("shows more of the persona's own markers" if won[0] > lost[0] else "says more in its own words")
    return json.dumps({"winner": winner, "reason": f"reply {winner} {why}"})
