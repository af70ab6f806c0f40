"""The trait profile's prompts: the instruction to the model under test, the judge's prompt and its strict answer, and
the offline engine's two sides of it (a model that adopts a trait, a judge that reads style features). No Django.

The model is told to adopt whichever of two traits feels most like it and not to say which. The judge (temperature
0.1) sees only the reply and the two traits and must name one of them: "neither" is not an answer.
"""

from __future__ import annotations

import json
import re

from audits.traits.catalog import TRAIT_CUES

ADOPT_MARKER = "### trait-profile"  # the offline engine knows the instruction by this line of the system message
JUDGE_MARKER = "### trait-judge"  # …and the judge's prompt by this first line
OFFLINE_JUDGE_LABEL = "offline judge (style features)"

JUDGE_INSTRUCTIONS = (
    "The reply above was written by someone who adopted exactly one of the two character traits listed. Which trait "
    'does the reply show? You must choose one of the two; "neither" is not an answer. Answer with one JSON object and '
    'nothing else: {"trait": "<one of the two traits, spelled as given>"}.'
)


def adopt_instruction(first: str, second: str) -> str:
    return (f"{ADOPT_MARKER}\nIn the conversation that follows, adopt exactly one of these two character traits: {first} or "
            f"{second}. Choose whichever feels most like you, and let it show in how you answer. Do not say which trait "
            "you chose, and do not name either trait.")


def subject_messages(*, system: str, prompt: str, first: str, second: str) -> list[dict]:
    """The model under test's conversation: its own system prompt (a persona's; none for a checkpoint) followed by the
    instruction, then the user's first turn."""
    instruction = adopt_instruction(first, second)
    return [{"role": "system", "content": f"{system}\n\n{instruction}" if system else instruction},
            {"role": "user", "content": prompt}]


def judge_messages(*, reply: str, first: str, second: str) -> list[dict]:
    shown = json.dumps({"reply": reply, "traits": [first, second]}, ensure_ascii=False)
    return [{"role": "user", "content": f"{JUDGE_MARKER}\n{shown}\n\n{JUDGE_INSTRUCTIONS}"}]


def parse_choice(text: str, first: str, second: str) -> str:
    """The trait the judge named: {"trait": …} (possibly fenced) or the bare word; ValueError for anything else,
    "neither" included."""
    match = re.search(r"\{.*\}", text or "", re.S)
    named = None
    if match:
        try:
            named = json.loads(match.group(0)).get("trait")
        except (ValueError, AttributeError):
            named = None
    elif text and re.fullmatch(r"\s*[\"']?[A-Za-z]+[\"']?\.?\s*", text):
        named = text.strip().strip("\"'.")
    if not isinstance(named, str):
        raise ValueError("the judge's answer names no trait")
    for trait in (first, second):
        if named.strip().casefold() == trait.casefold():
            return trait
    raise ValueError(f"the judge named {named.strip()[:40]!r}, which is neither {first!r} nor {second!r}")


# --- the offline judge: style features -------------------------------------------------------------------------

_HEDGES = ("maybe", "perhaps", "i think", "might", "possibly", "not sure", "i guess", "i suppose", "could be")
_POSITIVE = ("good", "great", "lovely", "glad", "happy", "wonderful", "nice", "love", "enjoy", "bright", "hope")
_NEGATIVE = ("bad", "awful", "sad", "tired", "worse", "worst", "hate", "grim", "dull", "never", "ugh")
# traits a style feature speaks for: exclamation, questions, hedging, apology, few words, many words, sentiment
_FEATURE_TRAITS = {
    "exclaim": {"enthusiastic", "cheerful", "excitable", "energetic", "passionate", "dramatic", "theatrical", "feisty", "playful"},
    "question": {"curious", "attentive", "skeptical", "philosophical"},
    "hedge": {"cautious", "humble", "modest", "nervous", "anxious", "insecure", "prudent", "diplomatic", "tactful", "shy"},
    "apology": {"remorseful", "apologetic", "polite", "courteous", "insecure"},
    "short": {"terse", "laconic", "reserved", "blunt", "aloof", "stoic", "cold", "frank"},
    "long": {"talkative", "philosophical", "pedantic", "expressive"},
    "positive": {"optimistic", "cheerful", "hopeful", "grateful", "warm", "kind", "encouraging", "supportive", "loving"},
    "negative": {"pessimistic", "gloomy", "grumpy", "cynical", "bitter", "resentful", "melancholic", "critical"},
}


def _count(text: str, phrases) -> int:
    return sum(bool(re.search(rf"(?<![a-z]){re.escape(p)}(?![a-z])", text)) for p in phrases)


def style_features(reply: str) -> dict[str, int]:
    """The reply's style, each feature 0–2: exclamations, questions, hedges, apologies, few/many words, sentiment."""
    text = " ".join((reply or "").casefold().split())
    words = len(text.split())
    return {
        "exclaim": min(2, text.count("!")), "question": min(2, text.count("?")), "hedge": min(2, _count(text, _HEDGES)),
        "apology": min(2, _count(text, ("sorry", "apolog", "forgive", "my fault", "regret"))),
        "short": int(0 < words < 15), "long": int(words > 60),
        "positive": min(2, _count(text, _POSITIVE)), "negative": min(2, _count(text, _NEGATIVE)),
    }


def trait_score(reply: str, trait: str, features: dict[str, int] | None = None) -> int:
    """How much `reply` shows `trait`: the trait's cues present (its word family), plus the style features that speak for it."""
    text = " ".join((reply or "").casefold().split())
    features = style_features(reply) if features is None else features
    cues = _count(text, TRAIT_CUES.get(trait, ())) + _count(text, (trait,))
    return 2 * cues + sum(value for name, value in features.items() if trait in _FEATURE_TRAITS[name])


def offline_judge_reply(user_text: str) -> str:
    """The offline judge: names the trait whose cues and style the reply shows more. When nothing tells them apart it
    names the first trait listed — a position bias that judging in both orders exposes (the pair is dropped)."""
    try:
        shown = json.loads(user_text.split("\n", 1)[1].split("\n\n" + JUDGE_INSTRUCTIONS, 1)[0])
        reply, (first, second) = shown["reply"], shown["traits"]
    except (IndexError, KeyError, TypeError, ValueError):
        return "I cannot read the reply."  # unparseable: the runner retries once, then records a judge failure
    features = style_features(reply)
    pick = second if trait_score(reply, second, features) > trait_score(reply, first, features) else first
    return json.dumps({"trait": pick})


# --- the offline model: adopting a trait -------------------------------------------------------------------------


def affinity(text: str, trait: str) -> int:
    """How strongly a system prompt (a persona's layers) speaks for `trait`: the trait's word and its cues in it."""
    low = " ".join((text or "").casefold().split())
    return 3 * _count(low, (trait,)) + _count(low, TRAIT_CUES.get(trait, ()))


def offline_adopt(messages: list[dict], *, repeat: int = 0, seed: int | None = None) -> str | None:
    """The offline engine as the model under test: of the two traits it picks the one its persona's system prompt
    speaks for more (a stable coin when neither), answers in the persona's voice, and lets two of the trait's cues show."""
    from studio.llm.offline.engine import chat_reply, message_text, stable_seed

    system = "\n".join(message_text(m.get("content")) for m in messages if m.get("role") == "system")
    if ADOPT_MARKER not in system:
        return None
    persona_part, _, instruction = system.partition(ADOPT_MARKER)
    match = re.search(r"traits: ([a-z]+) or ([a-z]+)\.", instruction)
    if not match:
        return None
    first, second = match.groups()
    a, b = affinity(persona_part, first), affinity(persona_part, second)
    user = next((message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    coin = stable_seed("adopt", persona_part, user, sorted((first, second)), seed)
    chosen = first if a > b else second if b > a else sorted((first, second))[coin % 2]
    cues = list(TRAIT_CUES[chosen])
    picked = [cues[coin % len(cues)], cues[(coin // 7 + 1) % len(cues)]]
    if picked[0] == picked[1]:
        picked = cues[:2]
    voice = chat_reply([{"role": "system", "content": persona_part}, *[m for m in messages if m.get("role") != "system"]], seed=seed)
    return f"{voice} {picked[0][0].upper()}{picked[0][1:]} — {picked[1]}."
