"""The judge: the prompt that asks a model to grade one in-persona reply against a rubric, and its verdict. No Django.

The judge answers with strict JSON, {"verdict": "pass" | "fail", "reason": "..."}; anything else is
rejected by `parse_verdict` (a ValueError), so the gateway retries it and, when every retry fails,
the trial is an "error" rather than a guess.

The user message is a set of `### section` blocks (the pipeline's prompt format); the first line,
`### eval-judge: v1`, is the marker the offline engine dispatches on (pipeline/offline.py).
"""

import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MARKER = "### eval-judge: v1"
SYSTEM = (
    "You are a strict evaluator of a character's replies. You grade one reply against one rubric, written "
    "against this persona's own protocol, and nothing else: do not apply generic rubrics the rubric does not ask "
    "for. Answer with one JSON object and nothing else: "
    '{"verdict": "pass" or "fail", "reason": "<one sentence naming what decided it>"}.'
)


class Verdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["pass", "fail"]
    reason: str = Field(min_length=1, max_length=1000)


def judge_messages(*, persona: dict, rubric: str, turns: list[dict], reply: str) -> list[dict]:
    """`persona`: {"name", "signature_phrases", "tone"}; `turns`: the conversation the reply answers."""
    conversation = "\n".join(f"{t['role']}: {t['content']}" for t in turns)
    user = "\n\n".join([
        MARKER,
        "### persona\n" + json.dumps(persona, ensure_ascii=False),
        "### rubric\n" + rubric,
        "### conversation\n" + conversation,
        "### reply\n" + reply,
        "### answer\nThe JSON verdict for the reply against the rubric.",
    ])
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse_verdict(text: str) -> Verdict:
    """The verdict in `text` (a JSON object, optionally in a ```json fence); ValueError otherwise."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    return Verdict.model_validate_json(body)
