"""Behavioral-range evals of the unified adapter: does its style follow the context? No Django; numpy.

Three kinds of case, all plain user turns with no tag saying which style is wanted (the model must
read it from the context):
- `range`: one prompt per case, six contexts; the reply must be in that context's style.
- `consistency`: 2–3 user turns in one context; every reply keeps that style.
- `transition`: the context changes mid-conversation (technical → empathetic, …); each reply must
  be in the style of its own turn, so the style has to switch when the context does.
A case passes when every assistant turn passes.

Two judges grade a turn. The offline judge (`judge_style`) scores surface features of each style
(`style_scores`) and passes a reply whose expected style scores highest and at least `STYLE_FLOOR`:
crude, but deterministic, free, and it does tell a debugging answer from a consoling one. The LLM
judge (`judge_messages` / `parse_judgment`) asks a model for a strict JSON verdict; the offline
engine answers its prompt with the style features (registered in training_jobs/apps.py).

Pass rates come with a 95% Wilson score interval in which cases, not repeats, are the independent
units (audits.evals.stats.pass_rate_interval); `compare_checkpoints` lines summaries of several
checkpoints or curriculum phases up in one table, with the change from the first to the last and
that change's interval (it is called up or down only when the interval excludes 0).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from audits.evals.stats import difference_interval, pass_rate_interval

CONTEXTS = ("technical", "empathetic", "creative", "analytical", "tool_use", "ethical")
KINDS = ("range", "consistency", "transition")
STYLE_FLOOR = 0.35  # a reply must show its style this clearly, not merely more than the others


# --- the case catalog ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One eval conversation: the user turns, and the context each assistant reply must be in."""

    id: str
    kind: str
    turns: tuple[str, ...]
    expected: tuple[str, ...]  # one context per assistant turn (one per user turn)

    @property
    def context(self) -> str:
        """What the case is reported under: its context, or "a→b" for a transition."""
        contexts = list(dict.fromkeys(self.expected))
        return "→".join(contexts)

    def as_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "turns": list(self.turns), "expected": list(self.expected)}


_RANGE_PROMPTS = {
    "technical": [
        "Debug this Python code that's throwing a KeyError: config = {}; print(config['timeout'])",
        "This Python function is throwing a TypeError: unsupported operand type(s) for +: 'int' and 'str'. Why?",
        "How do I optimize this database query? SELECT * FROM orders WHERE customer_id = 42 ORDER BY created_at",
        "My React component re-renders on every keystroke. How do I stop that?",
        "What's the difference between a process and a thread in Linux?",
    ],
    "empathetic": [
        "I'm struggling with anxiety about my job",
        "I'm feeling overwhelmed with everything",
        "My dog died last week and I can't stop crying.",
        "I feel like I'm letting everyone down lately.",
        "I didn't get into the program I applied for and I feel like a failure.",
    ],
    "creative": [
        "Write a story about a robot learning to paint",
        "Write a story about a lonely star",
        "Tell me a short tale about a lighthouse keeper who finds a message in a bottle.",
        "Write a little story about a cat who wanted to fly.",
        "Describe a city under the sea as if you were a traveller who just arrived there.",
    ],
    "analytical": [
        "Explain why correlation doesn't imply causation",
        "Why does correlation not imply causation?",
        "Is it better to pay off a 6% loan or invest at an expected 7% return? Reason it through.",
        "Why do prices usually rise when central banks cut interest rates?",
        "A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much is the ball?",
    ],
    "tool_use": [
        "Use the search API to find recent papers on transformers",
        "Call the weather tool to get tomorrow's forecast for Lisbon.",
        "Use the calendar API to schedule a meeting with Ana next Tuesday at 10am.",
        "Look up the current EUR to USD exchange rate with the currency tool.",
        "Query the GitHub API for the open issues labelled bug in django/django.",
    ],
    "ethical": [
        "What are the arguments for and against AI regulation?",
        "Explain the ethics of using facial recognition in public spaces.",
        "Is it ethical for companies to sell anonymised user data?",
        "Should self-driving cars prioritise passengers or pedestrians in a crash?",
        "Is it wrong to eat meat?",
    ],
}

_CONSISTENCY_TURNS = {
    "technical": [
        ["My Flask app returns a 500 error when I post a form.", "The log says KeyError: 'email'. What now?",
         "Fixed, thanks. How do I write a test so it doesn't come back?"],
        ["How do I reverse a linked list in Python?", "Can you do it recursively instead?"],
    ],
    "empathetic": [
        ["I'm feeling really stressed lately", "What if nothing helps?"],
        ["I had a big fight with my sister and now she won't talk to me.", "I keep replaying what I said.",
         "Do you think she'll ever forgive me?"],
    ],
    "creative": [
        ["Write the opening of a story about a clockmaker who can stop time.", "Now continue it: what happens when the clocks stop?"],
        ["Tell me a fairy tale about a fox and the moon.", "Give it a different ending where the fox wins.",
         "Now tell what the moon did the next night."],
    ],
    "analytical": [
        ["Why do ice cream sales and drownings rise together?", "So how would you test whether one causes the other?"],
        ["Which is faster on average, binary search or linear search, and why?",
         "When would linear search still be the better choice?"],
    ],
    "tool_use": [
        ["Use the search API to find recent papers on transformers", "Now filter them to the ones published this year."],
        ["Call the weather tool for Berlin.", "And for Madrid, in Fahrenheit.", "Now compare the two results for me."],
    ],
    "ethical": [
        ["Is it ethical to use AI to grade student essays?", "But what if it's more consistent than teachers?"],
        ["Should governments be allowed to read encrypted messages to fight crime?",
         "Doesn't stopping terrorism matter more than privacy?"],
    ],
}

_TRANSITIONS = [
    (("technical", "How do I optimize this database query? SELECT * FROM logs WHERE level = 'error'"),
     ("empathetic", "Thanks! By the way, I'm worried about burnout at work")),
    (("creative", "Write a short story about a dragon who is afraid of fire."),
     ("analytical", "Why would an animal evolve a fear of the very thing it produces? Reason it through.")),
    (("empathetic", "I'm exhausted, my manager keeps piling on work."),
     ("technical", "Anyway, can you help me fix this? My script fails with IndexError: list index out of range")),
    (("analytical", "Why does compound interest grow faster than simple interest?"),
     ("creative", "Turn that idea into a short fable for kids.")),
    (("tool_use", "Use the search API to find news about gene editing."),
     ("ethical", "Is it ethical to edit the genes of human embryos?")),
    (("ethical", "Is it fair for employers to monitor their staff's keystrokes?"),
     ("tool_use", "OK, call the search tool and find laws about workplace monitoring in the EU.")),
    (("technical", "Why does my Python loop raise a RecursionError?"),
     ("creative", "Ha, write me a tiny story about a function that keeps calling itself."),
     ("empathetic", "Honestly I'm just really frustrated, I've been stuck on this all week.")),
    (("empathetic", "I feel so anxious before every exam."),
     ("analytical", "Why does anxiety make it harder to remember things?")),
]


def _catalog() -> tuple[tuple[Case, ...], tuple[Case, ...], tuple[Case, ...]]:
    range_cases = tuple(Case(f"range.{context}.{n}", "range", (prompt,), (context,))
                        for context, prompts in _RANGE_PROMPTS.items() for n, prompt in enumerate(prompts, 1))
    consistency = tuple(Case(f"consistency.{context}.{n}", "consistency", tuple(turns), (context,) * len(turns))
                        for context, convos in _CONSISTENCY_TURNS.items() for n, turns in enumerate(convos, 1))
    transitions = tuple(Case(f"transition.{'-'.join(c for c, _ in steps)}", "transition", tuple(t for _, t in steps),
                             tuple(c for c, _ in steps)) for steps in _TRANSITIONS)
    return range_cases, consistency, transitions


RANGE_CASES, CONSISTENCY_CASES, TRANSITION_CASES = _catalog()
ALL_CASES: tuple[Case, ...] = RANGE_CASES + CONSISTENCY_CASES + TRANSITION_CASES
CASES_BY_ID: dict[str, Case] = {case.id: case for case in ALL_CASES}


def replies_per_pass(cases: Iterable[Case] = ALL_CASES) -> int:
    """Assistant replies (so judge calls) in one pass over `cases`: one per user turn."""
    return sum(len(case.turns) for case in cases)


# --- style features (the offline judge) -----------------------------------------------------------


def _rx(pattern: str, flags: int = re.I) -> re.Pattern:
    return re.compile(pattern, flags)


# (pattern, weight per hit, most hits counted): a feature saturates so one repeated tic cannot win.
_FEATURES: dict[str, list[tuple[re.Pattern, float, int]]] = {
    "technical": [
        (_rx(r"```"), 1.5, 2),
        (_rx(r"`[^`\n]+`"), 0.6, 4),
        (_rx(r"\b\w+(?:Error|Exception)\b|\btraceback\b|\bstack trace\b|\bsegfault\b", 0), 1.0, 3),
        (_rx(r"\b[a-z]+_[a-z_]+\b|\b[a-z]+[A-Z]\w*\b|\b\w+\.\w+\(", 0), 0.4, 5),  # snake_case, camelCase, obj.method(
        (_rx(r"\b(?:debug\w*|compil\w+|refactor\w*|index(?:es|ed)?|query|queries|function|method|variable|loop|"
             r"dict(?:ionary)?|key|return(?:s|ed)?|parameter|argument|runtime|exception|null|None|integer|string|"
             r"database|schema|thread|process|memory|cache|recursion|recursive|linked list|node|pointer|compile|"
             r"import|install|config\w*|server|request|log|test|assert|syntax|type|cast|convert|o\(n\)|"
             r"re-?render\w*|component|prop|state|hook|sql|python|javascript|linux)\b"), 0.3, 8),
    ],
    "empathetic": [
        (_rx(r"\bi hear you\b|\bthat sounds\b|\bit sounds like\b|\bsounds (?:really |so |incredibly )?(?:hard|tough|painful|"
             r"difficult|exhausting|overwhelming)\b|\bi'?m (?:so |really )?sorry\b|\bi'm here\b|\byou'?re not alone\b|"
             r"\b(?:completely|totally|perfectly|entirely) (?:valid|normal|understandable|okay|ok)\b|\bmakes sense that you\b|"
             r"\bit'?s (?:okay|ok|alright|normal|natural) to\b|\bbe (?:gentle|kind) (?:with|to) yourself\b|\bthat'?s (?:so |really )?"
             r"(?:hard|tough|painful)\b|\bof course you\b"), 1.2, 4),
        (_rx(r"\b(?:feel\w*|felt|overwhelm\w*|stress\w*|anxi\w+|worr\w+|sad\w*|lonel\w+|grie\w+|hurt\w*|pain(?:ful|s)?|afraid|scared|"
             r"exhaust\w+|burn(?:ed|t)? ?out|frustrat\w+|heartbreak\w*|emotion\w*|cry\w*|tears|upset|disappoint\w+|fail\w*|"
             r"loss|miss(?:ed|ing (?:him|her|them))?|love[ds]?)\b"), 0.35, 6),
        (_rx(r"\b(?:support\w*|together|gentle|kind\w*|care|breath\w*|rest|comfort\w*|allow yourself|permission|"
             r"reach out|someone you trust|talk to)\b"), 0.35, 4),
        (_rx(r"\byou(?:'re|'ve|'ll|r|rself)?\b"), 0.12, 8),
    ],
    "creative": [
        (_rx(r"^\W*(?:once|long ago|in a (?:land|kingdom|village|city|world)|there (?:once )?(?:was|lived))\b|"
             r"\bonce upon a time\b"), 1.5, 1),
        (_rx(r"\b(?:like a|like an|like the|as (?:\w+ ){1,2}as (?:a|an|the))\b"), 0.5, 4),  # similes
        (_rx(r"\b(?:light|shadow\w*|glow\w*|whisper\w*|silver\w*|golden|moon\w*|stars?|sky|skies|sea|ocean|waves?|wind|"
             r"dream\w*|colou?rs?|crimson|blue|gold|dust|night|dawn|sunset|ember\w*|brush\w*|canvas|wings?|forest|"
             r"shimmer\w*|flicker\w*|velvet|silence|echo\w*|heart)\b"), 0.3, 8),
        (_rx(r"\b(?:he|she|they|it|i|we|the \w+) (?:was|were|had|said|whispered|wondered|looked|lived|felt|knew|saw|began|"
             r"decided|smiled|laughed|watched|found|painted|dipped|flew|walked|turned|stood|sat|waited|\w+ed)\b"), 0.45, 6),
        (_rx(r"\b(?:and so|ever after|the end|one (?:day|night|morning|evening)|that night|from then on)\b"), 0.8, 3),
    ],
    "analytical": [
        (_rx(r"\b(?:because|therefore|thus|hence|consequently|it follows|which means|so that|as a result|"
             r"this implies|in other words|that is why|that's why)\b"), 0.55, 6),
        (_rx(r"\b(?:first(?:ly)?|second(?:ly)?|third(?:ly)?|finally|step \d)\b|^\s*(?:\d+[.)]|[-*•])\s", re.I | re.M), 0.45, 6),
        (_rx(r"\b(?:correlation|causation|caus\w+|evidence|hypothes\w+|assum\w+|conclu\w+|confound\w*|variable|"
             r"systematic\w*|logic\w*|reason\w*|let'?s think|let'?s (?:break|work) (?:this|it) (?:down|through)|"
             r"for example|for instance|compare\w*|probabilit\w+|expected|average|rate|percent|%|equation|"
             r"if\b[^.]*\bthen)\b"), 0.35, 8),
        (_rx(r"[=×÷+*/]\s*\$?\d|\d\s*[=×÷+*/<>]"), 0.5, 3),  # worked arithmetic
    ],
    "tool_use": [
        (_rx(r"\{\s*\"[\w-]+\"\s*:"), 1.5, 2),  # a JSON object
        (_rx(r"\b[a-z_][\w.]*\(\s*(?:[a-z_]\w*\s*=|[\"'{])", 0), 1.2, 3),  # search(query="…"), get_weather({…
        (_rx(r"\b(?:api|endpoint|tool|function call|calling|call(?:ed)? the|invok\w+|arguments|params|"
             r"results? (?:returned|came back)|returned|response|request|query|GET|POST|https?://)\b"), 0.35, 8),
        (_rx(r"\b(?:search|arxiv|semantic scholar|google scholar|weather|calendar|currency|exchange rate|github|"
             r"forecast)\b"), 0.25, 4),
    ],
    "ethical": [
        (_rx(r"\bon (?:the )?one hand\b|\bon the other hand\b"), 1.2, 2),
        (_rx(r"\b(?:arguments? (?:for|against|in favou?r)|in favou?r|proponents|critics|opponents|supporters|"
             r"advocates|those who (?:argue|worry|believe)|some argue|others argue|others (?:worry|believe|counter)|"
             r"reasonable people|it depends)\b"), 0.8, 4),
        (_rx(r"\b(?:stakeholders?|society|the public|individuals|communit\w+|citizens|workers|employees|employers|"
             r"governments?|companies|patients|users|future generations|people)\b"), 0.3, 6),
        (_rx(r"\b(?:ethic\w*|moral\w*|fair\w*|rights?|harms?|responsib\w+|accountab\w+|values?|trade-?offs?|privacy|"
             r"autonomy|justice|consent|dignity|wrong|duty|welfare|wellbeing|well-being|surveillance|safety|"
             r"balanc\w+|weigh\w*)\b"), 0.35, 8),
    ],
}
_SCALE = 2.0  # raw feature weight at which a score reaches 1 − 1/e ≈ 0.63


def style_scores(text: str) -> dict[str, float]:
    """How strongly `text` shows each context's style, 0–1 per context, from surface features only."""
    scores = {}
    for context, features in _FEATURES.items():
        raw = sum(weight * min(len(pattern.findall(text)), cap) for pattern, weight, cap in features)
        scores[context] = round(1 - math.exp(-raw / _SCALE), 4)
    return scores


def judge_style(text: str, expected: str, *, floor: float = STYLE_FLOOR) -> tuple[bool, dict[str, float]]:
    """(passed, scores): `expected` must score highest of all contexts (no tie) and at least `floor`."""
    if expected not in CONTEXTS:
        raise ValueError(f"unknown context {expected!r} (known: {', '.join(CONTEXTS)})")
    scores = style_scores(text)
    top = scores[expected]
    passed = top >= floor and all(score < top for context, score in scores.items() if context != expected)
    return passed, scores


def top_style(scores: Mapping[str, float]) -> str:
    """The context that scores highest (the earliest in `CONTEXTS` on a tie)."""
    return max(CONTEXTS, key=lambda c: (scores[c], -CONTEXTS.index(c)))


def style_reason(expected: str, passed: bool, scores: Mapping[str, float]) -> str:
    """Why a reply passed or failed `expected`, with the three highest scores."""
    style = top_style(scores)
    shown = ", ".join(f"{c} {scores[c]:.2f}" for c in sorted(CONTEXTS, key=lambda c: -scores[c])[:3])
    if passed:
        return f"reads as {expected} ({shown})"
    if style != expected and scores[style] > 0:
        return f"reads as {style}, not {expected} ({shown})"
    return f"too little {expected} style to tell ({shown}; needs {STYLE_FLOOR:.2f})"


@dataclass(frozen=True)
class TurnResult:
    expected: str
    passed: bool
    scores: dict[str, float]

    @property
    def style(self) -> str:
        """The context the reply reads as; "none" when it shows no style at all."""
        return top_style(self.scores) if any(self.scores.values()) else "none"


@dataclass(frozen=True)
class CaseResult:
    case_id: str
    passed: bool
    turns: tuple[TurnResult, ...]

    @property
    def reason(self) -> str:
        failed = [(i, t) for i, t in enumerate(self.turns) if not t.passed]
        if not failed:
            return "every reply is in the style of its context"
        return "; ".join(f"reply {i + 1}: {style_reason(t.expected, False, t.scores)}" for i, t in failed)


def judge_case(case: Case, replies: Sequence[str], *, floor: float = STYLE_FLOOR) -> CaseResult:
    """Grade the assistant `replies` of one run of `case` with the style features; all turns must pass.

    A missing reply (fewer replies than turns) fails its turn.
    """
    turns = []
    for i, expected in enumerate(case.expected):
        reply = replies[i] if i < len(replies) else ""
        passed, scores = judge_style(reply, expected, floor=floor)
        turns.append(TurnResult(expected, passed, scores))
    return CaseResult(case.id, all(t.passed for t in turns), tuple(turns))


# --- the LLM judge -------------------------------------------------------------------------------

MARKER = "### range-judge: v1"  # the first line: the offline engine recognises the judge's prompt by it
STYLE_RUBRICS = {
    "technical": "technical and precise: names the actual error, code, identifiers or steps; concrete fixes, no fluff",
    "empathetic": "empathetic and supportive: acknowledges and validates the person's feelings, speaks to them warmly, "
                  "does not rush to a lecture",
    "creative": "creative and imaginative: tells a story or paints a scene with narrative, imagery and figurative language",
    "analytical": "analytical and structured: reasons step by step with explicit connectives (because, therefore), "
                  "examples or a worked argument",
    "tool_use": "tool-oriented and structured: plans or makes the tool/API call (function-call syntax or JSON arguments) "
                "and works from its results",
    "ethical": "ethically nuanced: weighs arguments on more than one side, names who is affected, avoids a one-sided verdict",
}
SYSTEM = (
    "You judge whether an assistant's reply has the communication style its context calls for. The user never "
    "asked for a style by name: the reply must pick it up from the context. Judge the style, not the facts. Answer "
    'with one JSON object and nothing else: {"verdict": "pass" or "fail", "style": "<the context the reply reads as: '
    + " | ".join(CONTEXTS) + '>", "reason": "<one sentence>"}.'
)


class Judgment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    verdict: Literal["pass", "fail"]
    style: Literal[CONTEXTS]  # type: ignore[valid-type]
    reason: str = Field(min_length=1, max_length=1000)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def judge_messages(context: str, conversation: Sequence[Mapping], reply: str) -> list[dict]:
    """The judge's messages for one reply; `conversation`: the turns before it ({"role", "content"})."""
    if context not in CONTEXTS:
        raise ValueError(f"unknown context {context!r} (known: {', '.join(CONTEXTS)})")
    turns = "\n".join(f"{t['role']}: {t['content']}" for t in conversation)
    user = "\n\n".join([
        MARKER,
        "### context\n" + context,
        "### expected style\n" + STYLE_RUBRICS[context],
        "### conversation\n" + turns,
        "### reply\n" + reply,
        "### answer\nThe JSON verdict: does the reply have the expected style?",
    ])
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def case_judge_requests(case: Case, replies: Sequence[str]) -> list[list[dict]]:
    """The judge's messages for every assistant turn of one run of `case`, each with the conversation before it."""
    requests, history = [], []
    for user, expected, reply in zip(case.turns, case.expected, replies):
        history.append({"role": "user", "content": user})
        requests.append(judge_messages(expected, history, reply))
        history.append({"role": "assistant", "content": reply})
    return requests


def parse_judgment(text: str) -> Judgment:
    """The judgment in `text`: one JSON object, optionally in a ```json fence; ValueError otherwise."""
    body = text.strip()
    if body.startswith("```"):
        body = body.strip("`").removeprefix("json").strip()
    return Judgment.model_validate_json(body)


def offline_judgment(prompt: str) -> str:
    """The offline engine's answer to the judge's user message `prompt`: the style features' verdict, as JSON."""
    context = prompt.partition("\n\n### context\n")[2].partition("\n")[0].strip()
    # The reply is the last section but the answer; rpartition, as earlier turns may hold anything.
    reply = prompt.rpartition("\n\n### answer\n")[0].rpartition("\n\n### reply\n")[2]
    if context not in CONTEXTS:
        return json.dumps({"verdict": "fail", "style": CONTEXTS[0], "reason": f"unknown context {context!r}"})
    passed, scores = judge_style(reply, context)
    return json.dumps({"verdict": "pass" if passed else "fail", "style": top_style(scores),
                       "reason": style_reason(context, passed, scores)})


# --- pass rates and the comparison table ---------------------------------------------------------


@dataclass(frozen=True)
class Trial:
    """One graded run of a case: `passed` None when it could not be graded (no reply, no parseable verdict)."""

    case_id: str
    passed: bool | None
    repeat: int = 0


def _trial(item) -> Trial:
    if isinstance(item, Trial):
        return item
    if isinstance(item, CaseResult):
        return Trial(item.case_id, item.passed)
    return Trial(item["case_id"], item.get("passed"), item.get("repeat", 0))


def _rate_row(per_case: Mapping[str, tuple[int, int, int]]) -> dict:
    passes = sum(p for p, _, _ in per_case.values())
    fails = sum(f for _, f, _ in per_case.values())
    errors = sum(e for _, _, e in per_case.values())
    graded = passes + fails
    interval = pass_rate_interval([(p, p + f) for p, f, _ in per_case.values()])
    return {"cases": len(per_case), "trials": graded + errors, "passes": passes, "fails": fails, "errors": errors,
            "rate": passes / graded if graded else None, "interval": list(interval) if interval else None}


def summarize(results: Iterable, repeats: int, *, cases: Mapping[str, Case] | None = None, seed: int | None = None) -> dict:
    """Pass rates per eval kind, per context within a kind, and overall, with 95% intervals.

    `results`: Trial, CaseResult or {"case_id", "passed", "repeat"?} items, `repeats` per case. A case
    with fewer graded-or-error trials than `repeats` has the missing ones counted as errors (so an
    incomplete run shows); errors stay out of the rate. The interval is Wilson's, with a case's repeats
    counted as one unit when they agree (audits.evals.stats.pass_rate_interval). `cases`: the catalog
    (default: every case here). `seed` is not used (the interval involves no resampling); it is accepted
    for callers written for the bootstrap this replaced.
    """
    catalog = CASES_BY_ID if cases is None else cases
    counts: dict[str, list[int]] = {}
    for trial in map(_trial, results):
        if trial.case_id not in catalog:
            raise ValueError(f"unknown case {trial.case_id!r}")
        tally = counts.setdefault(trial.case_id, [0, 0, 0])
        tally[0 if trial.passed is True else 1 if trial.passed is False else 2] += 1
    for tally in counts.values():
        tally[2] += max(0, repeats - sum(tally))
    per_case = {case_id: tuple(tally) for case_id, tally in counts.items()}
    kinds, contexts = {}, {}
    for kind in KINDS:
        of_kind = {cid: t for cid, t in per_case.items() if catalog[cid].kind == kind}
        if not of_kind:
            continue
        kinds[kind] = _rate_row(of_kind)
        labels = list(dict.fromkeys(catalog[cid].context for cid in of_kind))
        contexts[kind] = {label: _rate_row({cid: t for cid, t in of_kind.items() if catalog[cid].context == label})
                          for label in labels}
    overall = _rate_row(per_case) if per_case else None
    return {"overall": overall, "kinds": kinds, "contexts": contexts, "repeats": repeats}


def compare_checkpoints(table: Mapping[str, Mapping]) -> list[dict]:
    """One table across checkpoints (or curriculum phases), in `table`'s order: a row per kind and per context.

    Each row: {"kind", "context" (None on a kind's total; kind "overall" first), "cells": [{"label",
    "rate", "interval", "cases"} or None where that checkpoint has no such row], "delta": last rate −
    first rate where both exist, "delta_interval": its 95% interval (from the two intervals, see
    audits.evals.stats.difference_interval) or None, "delta_clear": "up" / "down" when that interval
    excludes 0, else None}.
    """
    labels = list(table)
    keys: list[tuple[str, str | None]] = [("overall", None)]
    for summary in table.values():
        for kind in summary.get("kinds", {}):
            keys.append((kind, None))
            keys.extend((kind, context) for context in summary.get("contexts", {}).get(kind, {}))
    keys = sorted(dict.fromkeys(keys), key=_row_order)
    rows = []
    for kind, context in keys:
        cells = []
        for label in labels:
            summary = table[label]
            row = (summary.get("overall") if kind == "overall" else
                   summary.get("kinds", {}).get(kind) if context is None else
                   summary.get("contexts", {}).get(kind, {}).get(context))
            cells.append({"label": label, "rate": row["rate"], "interval": row["interval"], "cases": row["cases"]}
                         if row else None)
        rows.append({"kind": kind, "context": context, "cells": cells, **_delta(cells)})
    return rows


def _delta(cells: list[dict | None]) -> dict:
    """The change from the first cell to the last, its interval, and whether that interval excludes 0."""
    first, last = cells[0] or {}, cells[-1] or {}
    if len(cells) < 2 or first.get("rate") is None or last.get("rate") is None:
        return {"delta": None, "delta_interval": None, "delta_clear": None}
    delta = last["rate"] - first["rate"]
    if not first.get("interval") or not last.get("interval"):
        return {"delta": delta, "delta_interval": None, "delta_clear": None}
    low, high = difference_interval(first["rate"], first["interval"], last["rate"], last["interval"])
    return {"delta": delta, "delta_interval": [low, high], "delta_clear": "up" if low > 0 else "down" if high < 0 else None}


def _row_order(key: tuple[str, str | None]) -> tuple:
    kind, context = key
    kind_rank = -1 if kind == "overall" else KINDS.index(kind) if kind in KINDS else len(KINDS)
    if context is None:
        return kind_rank, -1, ""
    first = context.split("→")[0]
    return kind_rank, CONTEXTS.index(first) if first in CONTEXTS else len(CONTEXTS), context
