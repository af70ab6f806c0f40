"""The offline demo engine: what answers `offline/<anything>` when an org has no LLM credentials.

Deterministic: the same messages give the same reply (seeds are SHA-256 of the conversation; never
`hash()`), and the model name does not change the answer. Out of the box it answers every prompt as a
chat: a short in-character line in the voice of the persona that the system message describes. The apps
teach it their own prompts (`register_offline_judge`, `register_offline_responder`): the pipeline's step
prompts (pipeline.offline_drafts), the judges of provocations, eval suites and reviews. It embeds with
hashed character n-grams (`offline_embedding`).

No Django and no litellm here: `studio.llm.offline.provider` wraps this for litellm's custom providers.
"""

import hashlib
import json
import random
import re
from typing import Callable, Protocol

from studio.llm.offline import vocab
from studio.llm.offline.reading import Brief, content_words, voice_energy

_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|greetings|howdy)\b[\s\w,.!?']{0,30}$", re.I)


class Responder(Protocol):
    def __call__(self, messages: list[dict], *, repeat: int, seed: int | None) -> str | None: ...


def stable_seed(*parts) -> int:
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big")


def message_text(content) -> str:
    """A message's text, whether a string or OpenAI-style content parts."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


# --- chat ------------------------------------------------------------------------------------------


def _json_objects(text: str):
    decoder, i = json.JSONDecoder(), text.find("{")
    while i != -1:
        try:
            value, end = decoder.raw_decode(text, i)
        except json.JSONDecodeError:
            i = text.find("{", i + 1)
            continue
        if isinstance(value, dict):
            yield value
        i = text.find("{", end)


def _find_key(value, key: str):
    if isinstance(value, dict):
        if key in value:
            return value[key]
        for item in value.values():
            if (found := _find_key(item, key)) is not None:
                return found
    return None


def persona_from_system(system: str) -> dict:
    """Name, signature phrases, tone and extraversion from a system prompt (layer JSON or plain words)."""
    persona = {"name": None, "phrases": [], "tone": "", "extraversion": None, "openers": [], "closers": []}
    for obj in _json_objects(system):
        if isinstance(name := _find_key(obj, "name"), str) and not persona["name"]:
            persona["name"] = name
        phrases = _find_key(obj, "signature_phrases")
        if isinstance(phrases, list) and not persona["phrases"]:
            persona["phrases"] = [p for p in phrases if isinstance(p, str)]
        tone = _find_key(obj, "tone")
        persona["tone"] = persona["tone"] or (tone if isinstance(tone, str) else "")
        extraversion = _find_key(obj, "extraversion")
        if isinstance(extraversion, (int, float)) and persona["extraversion"] is None:
            persona["extraversion"] = float(extraversion)
    if not persona["name"] and (match := re.search(r"\bYou are ([A-Z][\w'’-]+(?: [A-Z][\w'’-]+)?)", system)):
        persona["name"] = match.group(1)
    if not persona["phrases"]:  # a plain-text prompt (a constitution) quotes its markers: I often say "Right then,"
        quoted = ("".join(m).strip().rstrip(" ,.;:!?") for m in _QUOTED_PHRASE.findall(system))
        persona["phrases"] = list(dict.fromkeys(q for q in quoted if len(q) >= 2))
        # …and may say where some go: I often begin with "Tea first" or "Right then"; I close with "Mind how you go"
        for key, cue in (("openers", _OPENER_CUE), ("closers", _CLOSER_CUE)):
            for match in cue.finditer(system):
                persona[key] += [q.strip().rstrip(" ,.;:!?") for q in match.groups() if q and q.strip()]
    return persona


_QUOTED_PHRASE = re.compile(r'"([^"\n]{2,80})"|“([^”\n]{2,80})”')
_PLACED = r'\s+"([^"\n]{2,80})"(?:,?\s+or\s+"([^"\n]{2,80})")?'
_OPENER_CUE = re.compile(r"\b(?:begin|start|open)s? with" + _PLACED, re.IGNORECASE)
_CLOSER_CUE = re.compile(r"\b(?:close|end|finish)s? with" + _PLACED, re.IGNORECASE)
# How often a reply follows a constitution's "I often begin with …" / "I tend to close with …" (not always: "often").
OPENER_SHARE, CLOSER_SHARE = 0.8, 0.6


def chat_reply(messages: list[dict], seed: int | None = None) -> str:
    """An in-character line; the same messages give the same reply unless the caller's sampling seed differs."""
    system = "\n".join(message_text(m.get("content")) for m in messages if m.get("role") == "system")
    user = next((message_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    persona = persona_from_system(system)
    rng = random.Random(stable_seed("chat", [(m.get("role"), message_text(m.get("content"))) for m in messages], *([seed] if seed is not None else [])))
    energy = persona["extraversion"]
    if energy is None:
        energy = voice_energy(persona["tone"])[0]
    words = Brief(user).nouns or content_words(user)
    phrases = list(persona["phrases"])
    rng.shuffle(phrases)
    if persona["openers"] and rng.random() < OPENER_SHARE:  # where the character says it begins
        opener = rng.choice(persona["openers"])
        phrases = [p for p in phrases if p != opener]
    else:
        opener = phrases.pop() if phrases else rng.choice(vocab.CHAT_OPENERS)
    parts = [opener]
    greeting = bool(_GREETING.match(user))
    if greeting:
        parts.append(rng.choice(vocab.CHAT_GREETINGS))
    elif words:
        word = rng.choice(words[-3:])  # the last things said are usually what it is about
        parts.append(rng.choice(vocab.CHAT_ECHOES).format(w=word, W=word[0].upper() + word[1:]))
    else:
        parts.append("I'm listening.")
    closers = [c for c in persona["closers"] if c != opener]
    if closers and not greeting and rng.random() < CLOSER_SHARE:  # and how it closes
        parts.append(rng.choice(closers))
    elif energy >= 0.35 and not greeting:
        parts.append(phrases.pop() if phrases and rng.random() < 0.5 else rng.choice(vocab.CHAT_QUESTIONS))
    if persona["name"] and sum(m.get("role") == "assistant" for m in messages) == 0:
        parts.insert(0, f"{persona['name'].split()[0]} here.")
    reply = " ".join(parts)
    if "<think>" in system:  # asked to think first (training reflections): a short private trace, then the answer
        topic = f"about {words[-1]}" if words else "this"
        reply = (f"<think>{persona['name'] or 'I'} is asked {topic}. I should answer as myself, in my own voice, "
                 f"and say what I really think.</think>\n{reply}")
    return reply


# --- entry points ----------------------------------------------------------------------------------

# The apps teach the engine their prompts from their AppConfig.ready(), so it answers them without
# importing any app (dependencies point one way). A judge is known by the prefix its prompt starts
# with; one registered `with_persona` also gets the persona its system message describes
# (persona_from_system). A responder reads the whole conversation and answers it, or returns None
# (the pipeline's step prompts). Judges are asked first, then responders in registration order; a
# conversation nobody claims is a chat.
_JUDGES: dict[str, tuple[Callable[..., str], bool]] = {}
_RESPONDERS: dict[str, Responder] = {}


def register_offline_judge(prefix: str, reply: Callable[..., str], *, with_persona: bool = False) -> None:
    _JUDGES[prefix] = (reply, with_persona)


def register_offline_responder(name: str, reply: Responder) -> None:
    """`reply(messages, *, repeat, seed)` -> text, or None when the conversation is not its kind.
    Registering a name again replaces that responder in its place."""
    _RESPONDERS[name] = reply


def offline_reply(messages: list[dict], model: str = "offline/studio", *, repeat: int = 0, seed: int | None = None) -> str:
    """The offline engine's reply to chat messages: a judge's verdict, a responder's document, or an in-character line.

    `repeat` is how many times the caller has already sent these exact messages (the litellm handler
    counts them), so a responder can tell a retry from the first call.
    """
    user = message_text(messages[-1].get("content")) if messages else ""
    for prefix, (judge, with_persona) in _JUDGES.items():
        if user.startswith(prefix):
            if not with_persona:
                return judge(user)
            system = "\n".join(message_text(m.get("content")) for m in messages if m.get("role") == "system")
            return judge(user, persona_from_system(system))
    for responder in _RESPONDERS.values():
        if (reply := responder(messages, repeat=repeat, seed=seed)) is not None:
            return reply
    return chat_reply(messages, seed=seed)


def offline_embedding(text: str, dimensions: int = 512) -> list[float]:
    """A deterministic local embedding: hashed character 2- and 3-grams, unit length.

    Character n-grams capture a voice (its recurring words, names and phrases, its punctuation) more
    than its topic, which is what drift needs: measured on offline personas, an in-character reply
    lies 0.18–0.22 (cosine distance) from the persona's 50-answer fingerprint and an out-of-character
    one ("As an AI language model…", code, a pirate) 0.39–0.44, either side of the 0.30 default.
    """
    vector = [0.0] * dimensions
    padded = " " + " ".join(text.lower().split()) + " "
    for n in (2, 3):
        for i in range(len(padded) - n + 1):
            digest = hashlib.blake2b(padded[i:i + n].encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "big") % dimensions] += 1.0
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [v / norm for v in vector]


def estimate_tokens(text: str) -> int:
    return max(1, round(len(text) / 4))
