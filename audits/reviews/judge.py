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


# --- can the judge be trusted: order agreement and model family -----------------------------------


def order_choices(forward: str, backward: str) -> tuple[str, str]:
    """The comparison-frame choice ("a", "b", "tie") each order gave: forward showed text_a first, backward second."""
    return {"A": "a", "B": "b"}.get(forward, "tie"), {"A": "b", "B": "a"}.get(backward, "tie")


def orders_disagree(forward: str, backward: str) -> bool:
    """The two orders named different things (a win and the other side's win, or a win and a tie): the vote is a tie."""
    first, second = order_choices(forward, backward)
    return first != second


def order_disagreement(verdicts) -> list[dict]:
    """Per judge model, from (model, forward winner, backward winner): pairs judged in both orders, pairs whose orders
    disagreed, and the rate (null without pairs). Sorted by model."""
    counts: dict[str, list[int]] = {}
    for model, forward, backward in verdicts:
        tally = counts.setdefault(model or "?", [0, 0])
        tally[0] += 1
        tally[1] += orders_disagree(forward, backward)
    return [{"judge_model": model, "pairs": n, "disagreed": d, "rate": d / n if n else None}
            for model, (n, d) in sorted(counts.items())]


def stored_verdicts(rows) -> list[tuple[str, str, str]]:
    """(model, forward winner, backward winner) from stored (judge_model, judge_detail) rows, one per panel member on a
    panel's vote; rows without both orders (a judge vote stored before details were kept) are left out."""
    out = []
    for model, detail in rows:
        detail = detail or {}
        # a panel's vote keeps each of its judges' two orders: each judge's disagreement is its own
        for member, one in [(m.get("model"), m) for m in detail.get("panel") or []] or [(model, detail)]:
            forward, backward = (one.get(side) or {} for side in ("forward", "backward"))
            if "winner" in forward and "winner" in backward:
                out.append((member, forward["winner"], backward["winner"]))
    return out


# The maker a model name's first word points to, whatever gateway prefix it is reached through.
FAMILY_OF_NAME = {"claude": "anthropic", "gpt": "openai", "o": "openai", "chatgpt": "openai", "gemini": "google",
                  "gemma": "google", "llama": "meta", "mistral": "mistral", "mixtral": "mistral", "qwen": "qwen",
                  "deepseek": "deepseek", "grok": "xai", "command": "cohere", "smollm": "huggingface"}
LOCAL_PROVIDERS = ("offline", "local")  # the studio's own engines: one family each


def model_family(model: str) -> str:
    """The family of a model name: "anthropic/claude-opus-4-7" and "claude-sonnet-4-6" → anthropic, "openai/gpt-4o" and
    "o3-mini" → openai, "offline/…" → offline; an unknown name → its provider prefix, else its first word."""
    model = (model or "").strip().lower()
    provider = model.split("/", 1)[0] if "/" in model else ""
    if provider in LOCAL_PROVIDERS:
        return provider
    name = model.rsplit("/", 1)[-1]
    word = re.match(r"[a-z]+", name)
    word = word.group(0) if word else name
    return FAMILY_OF_NAME.get(word, provider or word)


def same_family_warning(judge_model: str, teacher_model: str) -> str | None:
    """A note when the judge shares the teacher's family (judges tend to prefer their own family's writing), else None."""
    family = model_family(judge_model)
    if not family or family != model_family(teacher_model):
        return None
    return (f"the judge ({judge_model}) and the teacher ({teacher_model}) are both {family} models: a judge tends to prefer "
            "replies in its own family's style, so read its verdict with that in mind or have people review the pairs")
