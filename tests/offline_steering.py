"""Markers a test puts in a brief to steer the offline engine's persona drafts (pipeline.offline_drafts).

The markers are removed before the brief is read, so they do not change the persona:
- `[offline:weak]`     the first draft is weak (two flaws); a retry fixes it.
- `[offline:flawed]`   every attempt is weak (a flaw in every layer): the audit stays below 3.5, the run is flagged.
- `[offline:invalid]`  the first reply of each step (attempt 1, no feedback) is truncated, invalid JSON;
                       a retry is valid: a repair turn (a reply after the step prompt), or the same
                       prompt sent again (the litellm handler counts repeats: odd repeats are valid).
A brief with a marker gets no weak draft by chance. `install()` (from conftest) puts `steered_reply` in
the place of the engine's persona-steps responder; a brief without markers is answered as in production.
"""

import re
from dataclasses import replace

from pipeline.apps import PERSONA_STEPS
from pipeline.offline_drafts import Prompt, answer, flaw_plan, read_prompt
from studio.llm.offline.engine import register_offline_responder

MARKERS = ("weak", "flawed", "invalid")
_MARKER = re.compile(r"\s*\[offline:(" + "|".join(MARKERS) + r")\]\s*", re.I)


def read_markers(brief: str) -> tuple[str, frozenset[str]]:
    """(the brief without its markers, the markers)."""
    return _MARKER.sub(" ", brief).strip(), frozenset(m.lower() for m in _MARKER.findall(brief))


def steered_flaws(prompt: Prompt, markers: frozenset[str]) -> frozenset[str]:
    if "flawed" in markers:
        count = 4  # every layer step: low whatever attempt numbering the caller uses
    elif "weak" in markers:
        count = 2 if prompt.first_try else 0
    else:
        count = 0
    return flaw_plan(prompt, count)


def steered_reply(messages: list[dict], *, repeat: int = 0, seed: int | None = None) -> str | None:
    prompt = read_prompt(messages, repeat=repeat)
    if prompt is None:
        return None
    brief, markers = read_markers(prompt.brief)
    if not markers:
        return answer(prompt)
    prompt = replace(prompt, brief=brief)
    text = answer(prompt, steered_flaws(prompt, markers))
    if "invalid" in markers and prompt.first_try and prompt.retry % 2 == 0:
        return text[: len(text) * 2 // 3]  # cut off mid-document, as a model hitting its token limit would
    return text


def install() -> None:
    register_offline_responder(PERSONA_STEPS, steered_reply)
