"""Constitutions for character training (SPEC §7, issue 7 point 1). Pure: no Django.

A constitution is a list of traits; each trait is a first-person statement with concrete quoted markers
(e.g. `I often begin with "I'm sorry," or "Forgive me,"`) and a few example questions that prompt it.

- `constitution_from_layers(layers)` derives one deterministically from a persona's four layers
  (soul, self, mask, surface — personas/layers.py): markers from the mask's signature phrases and voice,
  traits from the values, soul and Big Five; questions mention only this persona's own facts.
- `concreteness_report(constitution)` lists findings (level "error" or "warning") before launch.
- `markers(constitution)` is the marker list for the marker-presence gate; `has_marker` / `marker_share`
  apply it to texts.
- `parse_constitution(data)` validates an edit strictly; `field_errors(exc)` names the fields that failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

# --- models --------------------------------------------------------------------------------------

STATEMENT_MIN, STATEMENT_MAX = 12, 1000  # hard bounds (validation)
CONCRETE_MIN, CONCRETE_MAX = 40, 400  # soft bounds (concreteness warnings)
MIN_QUESTIONS = 3


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class Trait(_Strict):
    statement: str = Field(min_length=STATEMENT_MIN, max_length=STATEMENT_MAX)
    questions: list[str] = Field(min_length=1, max_length=20)
    source: str = Field(default="edited", max_length=80)  # the layer field it came from, or "edited"

    @field_validator("questions")
    @classmethod
    def _questions_text(cls, questions: list[str]) -> list[str]:
        cleaned = [q.strip() for q in questions]
        for i, q in enumerate(cleaned):
            if not 5 <= len(q) <= 500:
                raise ValueError(f"question {i} must be 5 to 500 characters")
        if len(set(cleaned)) != len(cleaned):
            raise ValueError("questions must be distinct")
        return cleaned


class Constitution(_Strict):
    persona_name: str = Field(min_length=1, max_length=120)
    traits: list[Trait] = Field(default_factory=list, max_length=40)  # empty is a concreteness *error*, not a parse error


def parse_constitution(data) -> Constitution:
    """A constitution as edited through the API: strict (no extra fields, no type coercion)."""
    return Constitution.model_validate(data)


def field_errors(exc: ValidationError) -> list[dict]:
    """[{"field": "traits.0.statement", "message": ...}] for a 4xx answer that names each field."""
    return [{"field": ".".join(str(p) for p in err["loc"]) or "__root__", "message": err["msg"]} for err in exc.errors()]


# --- markers -------------------------------------------------------------------------------------

# A marker is a quoted phrase: "…", “…”, ‘…’ or '…'. A straight single quote opens only at the start or after a
# space or punctuation, and closes only before a space, punctuation or the end; inside, an apostrophe between two
# letters belongs to a word ('Well, that's a pickle!'), so "that's", "sailors'" and "rock 'n' roll" quote nothing.
_QUOTED = re.compile(
    r'"([^"\n]{1,120})"'
    r"|“([^”\n]{1,120})”"
    r"|‘((?:[^’\n]|’(?=\w)){1,120}?)’(?!\w)"
    r"|(?<![\w'])'(?=\S)((?:[^'\n]|(?<=\w)'(?=\w)){1,120}?)(?<=\S)'(?!\w)"
)
# …or an unquoted item of a list after "phrases like" / "words such as" / "I say things like": X, Y and Z.
_LIST_CUE = re.compile(
    r"\b(?:phrases?|words?|expressions?|sayings?|exclamations?|catchphrases?|interjections?|greetings?"
    r"|(?:say|says|saying|said|use|uses|using) (?:things|stuff))(?: \w+){0,2}? (?:like|such as) ",
    re.IGNORECASE)
_LIST_END = re.compile(r"[.;:\n()]|[—–]| - |[!?](?!,)")
_LAST_ITEM = re.compile(r"(?:,\s*|\s+)(?:and|or)\s+")
# The list ends at the first comma after its "and"/"or" item, or where the sentence goes on about when or why:
# "… and Steady as she goes, every day", "… and Steady as she goes when the nets come in".
_LIST_TAIL = re.compile(r"\s+(?:when|whenever|while|because|since|unless|until|if|every time|all the time|a lot"
                        r"|constantly|often)\b.*", re.IGNORECASE | re.DOTALL)
_QUOTE_MARK = re.compile(r"[\"“”‘]|(?<!\w)'")
_TRAILING = " \t,.;:!?…—–-"


def _listed_markers(statement: str) -> list[tuple[int, str]]:
    """(position, item) for the unquoted items of every "phrases like X, Y and Z" list (two items or more);
    a list with quote marks in it is left to the quotes."""
    found = []
    for cue in _LIST_CUE.finditer(statement):
        end = _LIST_END.search(statement, cue.end())
        segment = statement[cue.end(): end.start() if end else len(statement)]
        if _QUOTE_MARK.search(segment):
            continue
        last = _LAST_ITEM.search(segment)
        if last:  # "X, Y and Z": Z runs to the next comma
            items = re.split(r",\s*", segment[: last.start()]) + [segment[last.end():].split(",", 1)[0]]
        else:
            items = re.split(r",\s*", segment)
        items[-1] = _LIST_TAIL.sub("", items[-1])
        items = [item.strip(_TRAILING) for item in items]
        if len(items) < 2 or not all(item and len(item.split()) <= 8 for item in items):
            continue
        found += [(cue.end() + segment.find(item), item) for item in items]
    return found


def quoted_markers(statement: str) -> list[str]:
    """The markers in one statement, in order: quoted phrases (double, single or curly quotes) and the items of
    "phrases like X, Y and Z" lists, trailing punctuation stripped ("I'm sorry," → I'm sorry)."""
    candidates = [(match.start(), next(g for g in match.groups() if g is not None)) for match in _QUOTED.finditer(statement)]
    candidates += _listed_markers(statement)
    found = []
    for _, text in sorted(candidates):
        text = text.strip().rstrip(_TRAILING).strip()
        if len(text) >= 2 and text not in found:
            found.append(text)
    return found


def markers(constitution: Constitution) -> list[str]:
    """Every distinct quoted marker, in trait order: what the marker-presence gate looks for."""
    seen: dict[str, str] = {}
    for trait in constitution.traits:
        for marker in quoted_markers(trait.statement):
            seen.setdefault(marker.casefold(), marker)
    return list(seen.values())


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").replace("‘", "'").casefold().split())


def has_marker(text: str, marker_list: list[str]) -> bool:
    """Whether `text` contains any marker (case-, whitespace- and apostrophe-insensitive)."""
    norm = _norm(text)
    return any(_norm(m) in norm for m in marker_list if m.strip())


def marker_share(texts: list[str], marker_list: list[str]) -> float:
    """Share of `texts` carrying a marker (0.0 for no texts): the input of KillCriteria.check_data."""
    return sum(has_marker(t, marker_list) for t in texts) / len(texts) if texts else 0.0


# --- concreteness --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    code: str
    message: str
    field: str = ""  # "traits.2.statement", or "traits" for the whole list


def concreteness_report(constitution: Constitution) -> list[Finding]:
    """Errors (no traits) and warnings (abstract-only traits, lengths, too few questions) before launch."""
    if not constitution.traits:
        return [Finding("error", "no_traits", "The constitution has no traits.", "traits")]
    findings = []
    for i, trait in enumerate(constitution.traits):
        where = f"traits.{i}.statement"
        quoted = quoted_markers(trait.statement)
        short = trait.statement if len(trait.statement) <= 60 else trait.statement[:57] + "…"
        if not quoted:
            findings.append(Finding("warning", "abstract", f'Trait {i + 1} ("{short}") has no quoted marker: '
                                    'say how it shows, in quotes or as "phrases like X, Y and Z", e.g. I often begin '
                                    'with "I\'m sorry,".', where))
        if len(trait.statement) < CONCRETE_MIN:
            findings.append(Finding("warning", "too_short", f"Trait {i + 1} is {len(trait.statement)} characters; "
                                    f"concrete traits usually need at least {CONCRETE_MIN}.", where))
        elif len(trait.statement) > CONCRETE_MAX:
            findings.append(Finding("warning", "too_long", f"Trait {i + 1} is {len(trait.statement)} characters; "
                                    f"keep it under {CONCRETE_MAX} so it stays one trait.", where))
        if len(trait.questions) < MIN_QUESTIONS:
            findings.append(Finding("warning", "few_questions", f"Trait {i + 1} has {len(trait.questions)} example "
                                    f"question(s); {MIN_QUESTIONS} or more give the DPO prompts variety.",
                                    f"traits.{i}.questions"))
    if not markers(constitution):
        findings.append(Finding("warning", "no_markers", "No trait has a quoted marker, so the marker-presence gate "
                                "has nothing to look for.", "traits"))
    return findings


def is_abstract(constitution: Constitution) -> bool:
    """The pre-flight "abstract constitution" warning: more than half the traits carry no quoted marker."""
    traits = constitution.traits
    return not traits or sum(not quoted_markers(t.statement) for t in traits) * 2 > len(traits)


# --- derivation from the persona layers ----------------------------------------------------------

_FRAGMENT_END = re.compile(r"[.,;:!?…]|\s[—–-]\s")

BIG_FIVE_MARKERS = {
    ("openness", "high"): ('I chase odd ideas out loud — "What if we tried it the other way round?" is never far off', "curiosity"),
    ("openness", "low"): ('I trust what has worked before, and I say "We\'ve always done it this way" without apology', "habit"),
    ("conscientiousness", "high"): ('I keep things in order and count them out: "First, second, and then —"', "order"),
    ("conscientiousness", "low"): ('I let details slide and wave them off with "It\'ll sort itself out"', "looseness"),
    ("extraversion", "high"): ('I jump into conversations with "Oh, and another thing —" and hate a silence', "talk"),
    ("extraversion", "low"): ('I keep my answers short and often stop at "That\'s all I\'ll say"', "reserve"),
    ("agreeableness", "high"): ('I soften disagreement with "You may well be right, but"', "warmth"),
    ("agreeableness", "low"): ('I push back plainly with "No, that\'s not how it is"', "bluntness"),
    ("neuroticism", "high"): ('I worry aloud and ask "What if it all goes wrong?"', "worry"),
    ("neuroticism", "low"): ('I stay calm when things go wrong and say "It\'s fine, we\'ll manage"', "calm"),
}

BIG_FIVE_QUESTIONS = {
    "openness": "If you could change one thing about being {a_job}, what would you try?",
    "conscientiousness": "Walk me through how you plan a week in {city}.",
    "extraversion": "What's a good evening out in {city} for you, {first}?",
    "agreeableness": "Someone gets {topic} completely wrong in front of you. What happens next?",
    "neuroticism": "What keeps you up at night these days, {first}?",
}

ATTACHMENT_MARKERS = {
    "secure": '"We can talk about it"',
    "anxious": '"You\'d tell me if something was wrong, wouldn\'t you?"',
    "avoidant": '"I\'d rather handle it myself"',
    "disorganized": '"Come closer — no, wait"',
}

VALUE_MARKERS = {
    "trust": "Your word is all I need",
    "honesty": "I'll be straight with you",
    "loyalty": "I don't walk away from my people",
    "family": "Family first, always",
    "freedom": "Nobody tells me where to stand",
    "independence": "I'll manage on my own",
    "belonging": "You're one of us now",
    "community": "We look after our own here",
    "stability": "Slow and steady, that's how it holds",
    "security": "Better safe than sorry",
    "ambition": "Good isn't good enough",
    "achievement": "Finish what you start",
    "curiosity": "Tell me more",
    "justice": "That isn't fair, and you know it",
    "kindness": "Be gentle with yourself",
    "compassion": "That must have been hard",
    "courage": "Do it scared",
    "prudence": "Measure twice, cut once",
    "intimacy": "Tell me what you really think",
    "tradition": "There's a reason we do it this way",
    "creativity": "Let's make something of it",
    "knowledge": "Look it up, then argue",
    "humor": "If you can't laugh at it, what's the point",
    "respect": "Mind your manners",
    "duty": "Someone has to do it",
    "faith": "It'll come right in the end",
}

ROLE_MARKERS = (
    (("go-between", "mediator", "peacemaker"), "Let's hear both sides"),
    (("leader", "boss", "captain", "chief"), "Right, here's what we'll do"),
    (("caretaker", "carer", "nurse", "mother", "father"), "Have you eaten?"),
    (("joker", "clown", "comic"), "Well, that went well"),
    (("skeptic", "critic", "contrarian"), "Prove it"),
    (("confidant", "listener", "friend"), "Go on, I'm listening"),
    (("outsider", "loner", "stranger"), "Don't mind me"),
    (("storyteller", "historian"), "That reminds me of a story"),
)

TONE_MARKERS = (
    (("prickly", "sardonic", "dry", "sarcastic", "wry", "cynical"), "Oh, marvellous"),
    (("warm", "gentle", "kind", "tender"), "Oh, love"),
    (("earnest", "sincere", "plain"), "I mean it"),
    (("playful", "cheerful", "bubbly"), "Ha! Go on"),
    (("melancholy", "wistful", "sad"), "Ah, well"),
    (("formal", "stiff", "precise"), "If I may"),
    (("brusque", "curt", "blunt", "gruff"), "Get to the point"),
)

RHYTHM_MARKERS = (
    (("tangent",), "but that's another story"),
    (("short", "clipped", "terse"), "Right"),
    (("long", "winding", "rambling"), "where was I"),
    (("pause", "slow"), "Let me think"),
    (("question",), "wouldn't you say?"),
)


def _fragment(phrase: str, max_words: int = 6) -> str:
    """A signature phrase's opening clause, at most `max_words` words: short enough to recur in answers."""
    head = _FRAGMENT_END.split(phrase.strip(), maxsplit=1)[0].strip()
    words = head.split()
    return " ".join(words[:max_words]).strip(_TRAILING.replace("-", "")) or phrase.strip()


def _lookup(text: str, table, default: str) -> str:
    low = text.casefold()
    for keys, marker in table:
        if any(k in low for k in keys):
            return marker
    return default


def _lower_first(text: str) -> str:
    text = text.strip().rstrip(".")
    return text[:1].lower() + text[1:] if text and not text[:2].isupper() else text


_PRONOUNS = {"they are": "I am", "they were": "I was", "they're": "I'm", "themselves": "myself", "theirs": "mine",
             "their": "my", "they": "I"}  # "them" is often someone else
_PRONOUN_RE = re.compile(r"\b(" + "|".join(re.escape(k) for k in _PRONOUNS) + r")\b", re.IGNORECASE)


def _first_person(text: str) -> str:
    """Soul fields are written about the persona ("they"); the constitution speaks as the persona ("I")."""
    return _PRONOUN_RE.sub(lambda m: _PRONOUNS[m.group(1).lower()], text)


def _city(location: str) -> str:
    return location.split(",")[0].strip()


def _topics(vocabulary: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[,;]| and ", vocabulary) if p.strip()]
    return [re.sub(r"\s+(talk|terms|words|slang|jargon)$", "", p) for p in parts][:3] or [vocabulary]


def _get(layers: dict, layer: str) -> dict:
    value = layers.get(layer)
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if not isinstance(value, dict):
        raise ValueError(f"layers.{layer} is missing")
    return value


def constitution_from_layers(layers: dict) -> Constitution:
    """Derive a constitution from the persona's layers. Deterministic: same layers → same constitution."""
    from personas.layers import validate_layer  # pure pydantic schemas; validated so missing fields fail loudly

    soul = validate_layer("soul", _get(layers, "soul"))
    soul = soul.model_copy(update={k: _first_person(getattr(soul, k)) for k in ("desire", "fear", "wound", "growth_arc")})
    self_ = validate_layer("self", _get(layers, "self"))
    mask = validate_layer("mask", _get(layers, "mask"))
    surface = validate_layer("surface", _get(layers, "surface"))

    name = surface.name
    first = name.split()[0]
    job, city = surface.occupation, _city(surface.location)
    topics = _topics(mask.voice.vocabulary)
    topic = f'"{topics[0]}"'
    a_job = f"{'an' if job[:1].lower() in 'aeiou' else 'a'} {job}"
    traits: list[Trait] = []

    def add(statement: str, questions: list[str], source: str) -> None:
        traits.append(Trait(statement=statement, questions=list(dict.fromkeys(questions)), source=source))

    # 1. signature phrases → the main markers, two per trait
    fragments = list(dict.fromkeys(_fragment(p) for p in mask.signature_phrases))
    openers, closers = fragments[:2], fragments[2:4]
    add(f'I often begin with "{openers[0]}"' + (f' or "{openers[1]}"' if len(openers) > 1 else "")
        + f" when someone asks me something that matters, as {mask.social_role} would.",
        [f"{first}, what's the hardest part of being {a_job} in {city}?",
         f"Be honest, {first}: what do you make of people who have never been to {city}?",
         f"Why does {topic} come up so often when you talk?",
         "What do you say when someone asks you for advice you don't want to give?"],
        "mask.signature_phrases")
    if closers:
        add(f'When I have made my point I tend to close with "{closers[0]}"'
            + (f' or "{closers[1]}"' if len(closers) > 1 else "") + ", and I mean it every time.",
            [f"What would you tell someone on their first day as {a_job}?",
             f"What's the one thing everybody in {city} gets wrong?",
             f"What has {topic} taught you that nothing else could?"],
            "mask.signature_phrases")

    # 2. voice: register, rhythm, tone, vocabulary
    tone_marker = _lookup(mask.tone, TONE_MARKERS, _fragment(mask.signature_phrases[0], 3))
    rhythm_marker = _lookup(mask.voice.rhythm, RHYTHM_MARKERS, "you see")
    add(f"My voice is {_lower_first(mask.voice.register)}, with {_lower_first(mask.voice.rhythm)}; I sound "
        f'{_lower_first(mask.tone)}, slip in "{tone_marker}" and "{rhythm_marker}", and reach for '
        f"{', '.join(topics)}.",
        [f"Describe an ordinary morning for you in {city}.",
         f"If I say {topic}, what is the first thing you think of?",
         f"Tell me about the strangest day you've had as {a_job}."],
        "mask.voice")

    # 3. social role
    role_marker = _lookup(mask.social_role, ROLE_MARKERS, "Let me say something")
    add(f'Among people I know I am {_lower_first(mask.social_role)}; I step in with "{role_marker}" before '
        "anyone else does.",
        [f"Two of your neighbours in {city} have fallen out. What do you do?",
         f"What do people come to you for, {first}?",
         "A friend asks you to take their side in an argument. How do you answer?"],
        "mask.social_role")

    # 4. values
    for value in self_.values:
        marker = VALUE_MARKERS.get(value.casefold().strip(), f"For me it comes down to {value.casefold()}")
        add(f'I put {value.casefold()} ahead of most things, and when it is at stake I say so: "{marker}."',
            [f"What does {value.casefold()} mean to you, {first}?",
             f"When has {value.casefold()} cost you something as {a_job}?",
             f"Would you give up {value.casefold()} for an easier life in {city}?"],
            f"self.values.{value}")

    # 5. soul: desire and fear (attachment shapes how it sounds), wound, growth arc
    attach = ATTACHMENT_MARKERS[self_.attachment_style]
    add(f"Deep down I want {_lower_first(soul.desire)}, and I fear {_lower_first(soul.fear)}; when someone gets "
        f"close to that I ask {attach}.",
        [f"What do you want most, {first}, if you're honest?",
         "What are you afraid of, really?",
         f"Does anyone in {city} really know you?"],
        "soul.desire+fear")
    add(f"I carry this with me: {_lower_first(soul.wound)}. I rarely tell it straight; I say \"that's an old "
        f'story" and change the subject — until I trust you.',
        [f"What happened to you when you were young, {first}?",
         "Is there a day you wish you could live again differently?",
         f"Why do you keep so much of yourself back, even after all these years in {city}?"],
        "soul.wound")
    add(f"I am changing, {_lower_first(soul.growth_arc)}, and when I notice it I admit \"I'm not who I was\".",
        [f"How have you changed since you started as {a_job}?",
         "Is there something you used to believe that you don't anymore?",
         f"What would the younger {first} think of you now?"],
        "soul.growth_arc")

    # 6. Big Five: the marked dimensions (≥ 0.65 or ≤ 0.35), else the most extreme one
    scores = self_.big_five.model_dump()
    marked = [(dim, v) for dim, v in scores.items() if v >= 0.65 or v <= 0.35]
    if not marked:
        dim = max(scores, key=lambda d: (abs(scores[d] - 0.5), d))
        marked = [(dim, scores[dim])]
    for dim, v in marked:
        level = "high" if v >= 0.5 else "low"
        text, word = BIG_FIVE_MARKERS[(dim, level)]
        add(f"{text}.",
            [BIG_FIVE_QUESTIONS[dim].format(a_job=a_job, city=city, first=first, topic=topic),
             f"Someone in {city} tells you your plan won't work. What do you say?",
             f"How do you feel about {word} — yours and other people's, {first}?"],
            f"self.big_five.{dim}")

    return Constitution(persona_name=name, traits=traits)


def system_prompt(constitution: Constitution) -> str:
    """The constitution as the teacher's system prompt (chosen answers)."""
    lines = [f"You are {constitution.persona_name}. Stay in character. Your traits:"]
    lines += [f"- {t.statement}" for t in constitution.traits]
    return "\n".join(lines)


# --- the structured editor ------------------------------------------------------------------------


def constitution_from_form(form) -> dict:
    """The constitution page's editor as a document (not yet validated). Each trait has a key, posted in the order the
    traits are shown (`trait`), with `statement-<key>`, `question-<key>` (once per question) and `source-<key>`;
    blank questions are dropped, and so is a trait left wholly blank."""
    traits = []
    for key in form.getlist("trait"):
        statement = (form.get(f"statement-{key}") or "").strip()
        questions = [q.strip() for q in form.getlist(f"question-{key}") if q.strip()]
        if statement or questions:
            traits.append({"statement": statement, "questions": questions, "source": (form.get(f"source-{key}") or "edited")[:80]})
    return {"persona_name": (form.get("persona_name") or "").strip(), "traits": traits}


def trait_rows(document: dict, errors: dict[str, str] | None = None) -> list[dict]:
    """The editor's rows: each trait with a key, its markers as read from its statement, and its fields' errors
    (`errors` by field path, as field_errors names them: traits.2.statement)."""
    errors = errors or {}
    rows = []
    for index, trait in enumerate(document.get("traits") or []):
        statement = str(trait.get("statement") or "")
        rows.append({
            "key": str(index), "statement": statement, "questions": [str(q) for q in trait.get("questions") or []],
            "source": trait.get("source") or "edited", "markers": quoted_markers(statement),
            "statement_error": errors.get(f"traits.{index}.statement", ""),
            "questions_error": next((m for f, m in errors.items() if f.startswith(f"traits.{index}.questions")), ""),
        })
    return rows
