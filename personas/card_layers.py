"""Between a character card's fields and a persona's four layers, both ways. No Django.

In (an import): `card_brief` is the brief the pipeline reads; `card_pins` the card's own words that no step may
change (the name on the Surface; lines the character says, as the Mask's signature phrases; all four layers when
the card came from this studio, in `extensions.persona_studio`); `card_sections` what every step is shown as the
authority; `card_fidelity` how much of the card the finished layers kept (the audit's extra score).

Out (an export): `card_fields` writes the standard fields from the layers (a readable description and
personality, a greeting and example messages in the persona's voice, the system prompt) and keeps the four
layers, the constitution and the version in `extensions.persona_studio`, so a studio reading the card back gets
the persona exactly.
"""

import json
import re

from pydantic import ValidationError

from personas.layers import LAYERS, validate_layer

MAX_BRIEF = 4000
MAX_SECTION = 6000
STUDIO_EXTENSION = "persona_studio"
PLACEHOLDER = re.compile(r"\{\{\s*(char|user)\s*\}\}|<\s*(bot|user|char)\s*>", re.I)
_ACTION = re.compile(r"\*[^*]{0,400}\*")  # roleplay narration between asterisks
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]?")
_WORD = re.compile(r"[^\W\d_]{4,}", re.U)
_STOP = frozenset(
    "that this with from have they their there what when where which while would could should about your yours "
    "into just like very more most some such than then them these those were will been being does doing also only "
    "over under after before because always never every other each here char user".split()
)
PHRASES_KEPT = 4


def _named(text: str, name: str) -> str:
    def swap(match: re.Match) -> str:
        who = (match.group(1) or match.group(2) or "").lower()
        return name if who in ("char", "bot") else "you"

    return PLACEHOLDER.sub(swap, text)


def card_name(data: dict) -> str:
    return " ".join((data.get("nickname") or data.get("name") or "").split())[:120]


def card_brief(data: dict) -> str:
    """The brief of an imported persona: the card's own description, personality and scenario, named."""
    name = card_name(data) or "The character"
    parts = [f"{name}."]
    for label, key in (("", "description"), ("Personality: ", "personality"), ("Scenario: ", "scenario")):
        text = " ".join(_named(data.get(key) or "", name).split())
        if text:
            parts.append(f"{label}{text}")
    return " ".join(parts)[:MAX_BRIEF].strip()


def spoken_lines(data: dict) -> list[str]:
    """What the character says in the card (greetings, example messages), sentence by sentence, narration left out."""
    name = card_name(data) or "I"
    said = [data.get("first_mes") or "", *(data.get("alternate_greetings") or [])]
    for line in (data.get("mes_example") or "").splitlines():
        speaker, sep, words = line.partition(":")
        if sep and PLACEHOLDER.fullmatch(speaker.strip()) and speaker.strip().lower().strip("{}<> ") in ("char", "bot"):
            said.append(words)
    sentences = []
    for text in said:
        text = _ACTION.sub(" ", _named(text, name))
        for sentence in _SENTENCE.findall(text):
            sentence = " ".join(sentence.split()).strip("\"“”' ")
            if 3 <= len(sentence.split()) <= 14 and len(sentence) <= 120 and sentence.casefold() not in {s.casefold() for s in sentences}:
                sentences.append(sentence)
    return sentences


def card_pins(data: dict) -> dict[str, dict]:
    """The card's words the pipeline keeps as they are, by layer: {layer: {field: value}} (a whole layer when the
    card carries this studio's layers)."""
    studio = (data.get("extensions") or {}).get(STUDIO_EXTENSION)
    if layers := studio_layers(studio):
        return layers
    pins: dict[str, dict] = {}
    name = card_name(data)
    if len(name) >= 2:
        pins["surface"] = {"name": name}
    phrases = spoken_lines(data)[:PHRASES_KEPT]
    if len(phrases) >= 2:
        pins["mask"] = {"signature_phrases": phrases}
    return pins


def studio_layers(studio) -> dict[str, dict] | None:
    """The four layers this studio exported in a card, validated, or None."""
    layers = studio.get("layers") if isinstance(studio, dict) else None
    if not isinstance(layers, dict) or set(layers) != set(LAYERS):
        return None
    try:
        return {name: validate_layer(name, layers[name]).model_dump() for name in LAYERS}
    except ValidationError:
        return None


def pinned(layer: str, document: dict, pins: dict[str, dict]) -> dict:
    """`document` with the pinned fields of its layer put back as the card says them."""
    keep = pins.get(layer)
    return {**document, **keep} if keep else document


def card_sections(data: dict) -> dict[str, str]:
    """What each pipeline step sees of the card: its words, which no field may contradict."""
    fields = {key: data.get(key) for key in ("name", "nickname", "description", "personality", "scenario", "first_mes",
                                             "mes_example", "alternate_greetings", "creator_notes") if data.get(key)}
    return {"character card": json.dumps(fields, ensure_ascii=False)[:MAX_SECTION]}


def content_words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)} - _STOP


def card_fidelity(data: dict, layers: dict) -> dict:
    """How faithful the layers are to the card, 0–5: the mean of three shares — the name kept, the card's spoken
    lines kept among the signature phrases, and the card's 20 most frequent content words (description and
    personality) found somewhere in the layers. A share with nothing to check counts as kept."""
    name = card_name(data)
    surface = layers.get("surface") or {}
    name_kept = 1.0 if not name or len(name) < 2 else float(surface.get("name", "").casefold() == name.casefold())
    lines = spoken_lines(data)[:PHRASES_KEPT]
    phrases = {p.casefold() for p in (layers.get("mask") or {}).get("signature_phrases", [])}
    lines_kept = sum(line.casefold() in phrases for line in lines) / len(lines) if len(lines) >= 2 else 1.0
    text = _named(f"{data.get('description', '')} {data.get('personality', '')}", name or "char")
    counts: dict[str, int] = {}
    for word in _WORD.findall(text):
        word = word.casefold()
        if word not in _STOP:
            counts[word] = counts.get(word, 0) + 1
    top = sorted(counts, key=lambda w: (-counts[w], w))[:20]
    layer_words = content_words(json.dumps(layers, ensure_ascii=False))
    words_kept = sum(w in layer_words for w in top) / len(top) if top else 1.0
    score = round(5 * (name_kept + lines_kept + words_kept) / 3, 2)
    missing = [w for w in top if w not in layer_words]
    return {"score": score, "name": name_kept, "lines": round(lines_kept, 4), "words": round(words_kept, 4), "missing_words": missing}


# --- out -----------------------------------------------------------------------------------------


def _level(value: float, low: str, high: str) -> str | None:
    if value >= 0.7:
        return high
    if value <= 0.3:
        return low
    return None


TRAIT_WORDS = {
    "openness": ("conventional", "curious"), "conscientiousness": ("spontaneous", "disciplined"),
    "extraversion": ("reserved", "outgoing"), "agreeableness": ("blunt", "warm"), "neuroticism": ("steady", "anxious"),
}


def card_fields(layers: dict, *, system_prompt: str) -> dict:
    """The standard fields of a card written from the layers."""
    soul, self_layer, mask, surface = (layers.get(k) or {} for k in ("soul", "self", "mask", "surface"))
    name = surface.get("name", "")
    voice = mask.get("voice") or {}
    description = (
        f"{name}, {surface.get('age')}, {surface.get('occupation')} in {surface.get('location')}. {surface.get('appearance', '')}\n\n"
        f"What {name} wants most: {soul.get('desire', '')}\nWhat {name} fears: {soul.get('fear', '')}\n"
        f"The wound: {soul.get('wound', '')}\nWhere {name} is heading: {soul.get('growth_arc', '')}"
    )
    big_five = self_layer.get("big_five") or {}
    traits = [word for trait, (low, high) in TRAIT_WORDS.items() if (word := _level(float(big_five.get(trait, 0.5)), low, high))]
    personality = ", ".join([self_layer.get("archetype", ""), *traits]).strip(", ")
    personality += (f". Values: {', '.join(self_layer.get('values', []))}. Attachment: {self_layer.get('attachment_style', '')}. "
                    f"Voice: {voice.get('register', '')} register, {voice.get('rhythm', '')} rhythm; {voice.get('vocabulary', '')}. "
                    f"Tone: {mask.get('tone', '')}.")
    phrases = mask.get("signature_phrases") or []
    first = phrases[0] if phrases else "Hello."
    first_mes = f"{first} I'm {name}." if name else first
    examples = "\n".join(f"<START>\n{{{{user}}}}: {question}\n{{{{char}}}}: {phrase}"
                         for question, phrase in zip(EXAMPLE_QUESTIONS, phrases[1:] or phrases))
    return {
        "name": name, "description": description, "personality": personality, "scenario": "",
        "first_mes": first_mes, "mes_example": examples, "system_prompt": system_prompt,
        "alternate_greetings": [f"{phrase}" for phrase in phrases[1:3]],
    }


EXAMPLE_QUESTIONS = ("How are you today?", "What matters to you?", "What would you never do?", "Tell me something true.",
                     "What are you working on?")


def studio_extension(*, layers: dict, version: int, constitution: str | None, persona_id: str, url: str) -> dict:
    return {"format": 1, "persona_id": persona_id, "url": url, "version": version,
            "layers": {name: layers[name] for name in LAYERS}, "constitution": constitution}
