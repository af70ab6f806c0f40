"""The offline demo engine: what answers `offline/<anything>` when an org has no LLM credentials.

`offline_reply(messages)` reads the prompt that `pipeline.prompts.build_messages` wrote (step,
attempt, brief, earlier layers, audit feedback) and returns the text a model would: one JSON object
valid for the step's schema, built from the brief's own words, sizeable vocabularies
(pipeline.offline_vocab) and the earlier layers (traits follow the soul, the voice follows the
traits, the surface follows the intent's locale). What the brief says outright (pipeline.offline_brief:
"shy", "apologizes too much", she/he/they, "from Alfama", "a fado singer", "lighthouse keeper") holds in
every layer of a clean draft: Big Five bounds, archetype, voice and tone, a signature phrase, the name's
gender and culture, the location and the occupation. The surface step's name avoids the names in use
that the prompt lists (the org's other personas). The audit step scores the persona in the prompt with
real checks (pipeline.offline_audit), brief fidelity among them. A prompt without a `### step:` section
is a chat: the reply is a short in-character message in the persona's voice.

Deterministic: the same messages give the same reply (seeds are SHA-256 of the step, attempt, brief
and earlier layers; never `hash()`). The model name does not change the answer, so a config that
names different offline models per step behaves the same.

Weak drafts. About a quarter of briefs get a weak first draft (a shallow soul, values that ignore
the soul, cartoonish traits, a voice at odds with extraversion, stock phrases, a surface that drifts
from the locale, an age that does not fit the occupation): two such flaws, none of them a
constraint-rule violation, so the audit scores the draft below 3.5 and the pipeline retries. A retry
(attempt > 1 or audit feedback present) is clean, except for a few stubborn briefs (about 1 in 20)
whose every attempt has flaws, so runs can end `flagged`.

Markers a brief may carry (removed before the brief is read, so they do not change the persona):
- `[offline:weak]`     the first draft is weak (two flaws); a retry fixes it.
- `[offline:flawed]`   every attempt is weak (a flaw in every layer): the audit stays below 3.5, the run is flagged.
- `[offline:invalid]`  the first reply of each step (attempt 1, no feedback) is truncated, invalid JSON;
                       a retry is valid: a repair turn (a reply after the step prompt), or the same
                       prompt sent again (the litellm handler counts repeats: odd repeats are valid).

No Django and no litellm here: `pipeline.offline_litellm` wraps this for litellm's custom providers.
"""

import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from pydantic import BaseModel, ValidationError

from personas.naming import unique_name
from pipeline import offline_brief as said
from pipeline import offline_verdict
from pipeline import offline_vocab as vocab
from pipeline.constraints import chain_violations
from pipeline.offline_audit import TRAITS, audit_persona, content_words, occupation_age_range, values_echoing, voice_energy
from pipeline.prompts import CONTEXT, NAMES_IN_USE, parse_sections
from pipeline.schemas import STEP_OUTPUT, Intent, Mask, SelfLayer, Soul

MARKERS = ("weak", "flawed", "invalid")
_MARKER = re.compile(r"\s*\[offline:(" + "|".join(MARKERS) + r")\]\s*", re.I)
WEAK_SHARE, STUBBORN_SHARE = 27, 5  # percent of briefs: weak first draft / weak on every attempt
FLAWS = {  # flaw → the step that makes it
    "shallow_soul": "soul_draft", "values_disconnected": "self_enrich", "extreme_traits": "self_enrich",
    "voice_mismatch": "mask_build", "generic_phrases": "mask_build",
    "locale_drift": "surface_ground", "implausible_age": "surface_ground",
}
FALLBACK_FLAW = {"values_disconnected": "extreme_traits", "voice_mismatch": "generic_phrases", "locale_drift": "implausible_age"}
_AGE_NUMBER = re.compile(r"\b(\d{1,2})[- ]?(?:years?[- ]old|yo)\b|\baged (\d{1,3})\b", re.I)
_GREETING = re.compile(r"^\s*(hi|hello|hey|hiya|good (morning|afternoon|evening)|greetings|howdy)\b[\s\w,.!?']{0,30}$", re.I)


def stable_seed(*parts) -> int:
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str).encode()
    return int.from_bytes(hashlib.sha256(blob).digest()[:8], "big")


def _text(content) -> str:
    """A message's text, whether a string or OpenAI-style content parts."""
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""


@dataclass
class Prompt:
    step: str | None
    attempt: int
    brief: str
    markers: frozenset
    feedback: str
    context_text: dict[str, str] = field(default_factory=dict)
    retry: int = 0  # how many times this exact prompt was answered before (repair turns, repeated calls)
    names_in_use: frozenset[str] = frozenset()  # other personas' names in the org, case-folded (the surface step's prompt)

    @property
    def first_try(self) -> bool:
        return self.attempt <= 1 and not self.feedback

    def layer(self, name: str) -> dict | None:
        try:
            value = json.loads(self.context_text.get(name) or "null")
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None


def read_prompt(messages: list[dict], *, repeat: int = 0) -> Prompt | None:
    """The pipeline step a conversation asks for, or None when it is a plain chat.

    The step prompt is the last user message with a `### step:` section; replies after it mean
    the caller is asking for a repair of an earlier answer.
    """
    for index in range(len(messages) - 1, -1, -1):
        message = messages[index]
        if message.get("role") != "user":
            continue
        sections = parse_sections(_text(message.get("content")))
        if sections.get("step") in STEP_OUTPUT:
            break
    else:
        return None
    try:
        attempt = int(sections.get("attempt", "1"))
    except ValueError:
        attempt = 1
    raw_brief = sections.get("brief", "")
    markers = frozenset(m.lower() for m in _MARKER.findall(raw_brief))
    context = {name: sections[name] for name in CONTEXT["audit"] if name in sections}
    feedback = sections.get("audit feedback", "").strip()
    repairs = sum(m.get("role") == "assistant" for m in messages[index + 1 :])
    return Prompt(sections["step"], attempt, _MARKER.sub(" ", raw_brief).strip(), markers, feedback, context, repairs + repeat,
                  _names_in_use(sections.get(NAMES_IN_USE, "")))


def _names_in_use(text: str) -> frozenset[str]:
    try:
        names = json.loads(text or "[]")
    except json.JSONDecodeError:
        return frozenset()
    return frozenset(n.casefold() for n in names if isinstance(n, str)) if isinstance(names, list) else frozenset()


def flaw_plan(prompt: Prompt) -> frozenset[str]:
    """Which flaws this attempt's drafts carry (see the module docstring)."""
    roll = stable_seed("weak", prompt.brief) % 100
    if "flawed" in prompt.markers:
        count = 4  # every layer step: low whatever attempt numbering the caller uses
    elif roll < STUBBORN_SHARE and not prompt.markers:
        count = 2
    elif "weak" in prompt.markers or (roll < WEAK_SHARE and not prompt.markers):
        count = 2 if prompt.first_try else 0
    else:
        count = 0
    rng = random.Random(stable_seed("flaws", prompt.brief, prompt.attempt))
    steps = rng.sample(sorted(set(FLAWS.values())), count)
    return frozenset(rng.choice(sorted(f for f, s in FLAWS.items() if s == step)) for step in steps)


class Brief:
    """What the engine reads from a brief: nouns for the templates, places, occupation, age and gender cues."""

    def __init__(self, text: str):
        self.text = text
        tokens = [(m.group(0), m.start()) for m in re.finditer(r"[^\W\d_][\w'’-]*", text)]
        self.places = vocab.find_places(text)
        place_words = {w.lower() for p in self.places for part in p[:2] for w in vocab.fold(part).split()}
        self.lower = {w.lower() for w, _ in tokens}
        # Nouns for the templates; neighbouring nouns stay together ("noodle shop").
        nouns, run, previous = [], [], ""
        for word, start in tokens + [("", len(text))]:
            low = vocab.fold(word).lower()
            sentence_start = start == 0 or text[:start].rstrip().endswith((".", "!", "?"))
            if word and self._is_noun(low, previous) and low not in place_words and (sentence_start or not word[0].isupper()):
                run.append(low)
            else:
                if run and " ".join(run[-2:]) not in nouns:
                    nouns.append(" ".join(run[-2:]))
                run = []
            previous = low
        self.nouns = nouns

    @staticmethod
    def _is_noun(low: str, previous: str) -> bool:
        if (len(low) < 4 and low not in vocab.SHORT_NOUNS) or len(low) > 24 or "'" in low or "’" in low:
            return False
        if low in vocab.STOPWORDS or low in vocab.NOT_NOUNS or low in vocab.PERSON_WORDS:
            return False
        if low in vocab.OCCUPATION_WORDS or previous in {"who", "to", "that", "which"}:
            return False
        if low in vocab.NOUN_EXCEPTIONS:
            return True
        if low.endswith(("ly", "ous", "ful", "less")) or (low.endswith("ed") and len(low) >= 6 and not low.endswith("eed")):
            return False
        if low.endswith("ing") and len(low) >= 6 and low not in vocab.ING_NOUNS:
            return False
        return not (low.endswith(("able", "ible")) and len(low) >= 8)

    @cached_property
    def place(self) -> tuple[str, str, str] | str | None:
        """Where the brief puts the persona (offline_brief.brief_place): a known place, an unknown one's name, a culture's country."""
        return said.brief_place(self.text)

    @cached_property
    def gender(self) -> str | None:
        """"f", "m", "n" (they) or None: the persona's pronouns and the gender of its name."""
        return said.brief_gender(self.text)

    @cached_property
    def traits(self) -> list[said.Trait]:
        """The temperament the brief states outright ("shy", "apologizes"): every layer honours it."""
        return said.explicit_traits(self.text)

    @cached_property
    def temperament_words(self) -> set[str]:
        """The brief's words, less those that also describe things and here do not describe the persona ("the cold sea")."""
        return (self.lower - said.AMBIGUOUS_WORDS) | {trait.word for trait in self.traits}

    def trait_rules(self, field: str) -> list:
        """Every explicit trait's `field` entries (tones, phrases, unlike, wounds), in the brief's order."""
        return [item for trait in self.traits for item in trait.rule.get(field, ())]

    @cached_property
    def age_range(self) -> tuple[int, int] | None:
        if match := _AGE_NUMBER.search(self.text):
            age = int(match.group(1) or match.group(2))
            return (age, age) if 1 <= age <= 120 else None
        for decade, ages in vocab.AGE_DECADES.items():
            if decade in self.lower:
                return ages
        text = self.text.lower()
        for cues, ages in vocab.AGE_WORDS:
            if any(re.search(rf"\b{re.escape(cue)}\b", text) for cue in cues):
                return ages
        return None

    @cached_property
    def occupation(self) -> tuple[str, int, int] | None:
        """An occupation the brief names ("retired lighthouse keeper", "runs a noodle shop"), with a plausible age range."""
        if match := said.RUNS_A_PLACE.search(self.text):
            return f"{match.group(1).lower()} owner", 24, 85
        tokens = [vocab.fold(w).lower() for w in re.findall(r"[^\W\d_][\w'’-]*", self.text)]
        for i, word in enumerate(tokens):
            if word in vocab.OCCUPATION_WORDS:
                low, high = vocab.OCCUPATION_WORDS[word]
                before = tokens[i - 1] if i else ""
                title = f"{before} {word}" if before in self.nouns else word
                if {"retired", "former"} & set(tokens[max(0, i - 3) : i]):
                    return f"retired {title}", 62, 84
                return title, low, high
        return None


class Draft:
    """One step's generation: the brief, the earlier layers (from the prompt, or made up when absent), the flaws."""

    def __init__(self, prompt: Prompt):
        self.prompt = prompt
        self.brief = Brief(prompt.brief)
        self.flaws = flaw_plan(prompt)

    def rng(self, step: str) -> random.Random:
        earlier = [self.prompt.context_text.get(name, "") for name in CONTEXT[step]]
        return random.Random(stable_seed("draft", step, self.prompt.attempt, self.prompt.brief, earlier))

    def _given(self, name: str, schema: type[BaseModel]):
        try:
            data = self.prompt.layer(name)
            return schema.model_validate(data) if data is not None else None
        except ValidationError:
            return None

    def flaw(self, step: str) -> str | None:
        return next((f for f in sorted(self.flaws) if FLAWS[f] == step), None)

    @cached_property
    def intent(self) -> Intent:
        return self._given("intent", Intent) or Intent.model_validate(make_intent(self, self.rng("intent_parse")))

    @cached_property
    def soul(self) -> Soul:
        return self._given("soul", Soul) or Soul.model_validate(make_soul(self, self.rng("soul_draft")))

    @cached_property
    def self_layer(self) -> SelfLayer:
        return self._given("self", SelfLayer) or SelfLayer.model_validate(make_self(self, self.rng("self_enrich")))

    @cached_property
    def mask(self) -> Mask:
        return self._given("mask", Mask) or Mask.model_validate(make_mask(self, self.rng("mask_build")))

    @cached_property
    def locale(self) -> tuple[str, str, str] | None:
        """(city or country, country, group) of the intent's locale, when it names a known place."""
        places = vocab.find_places(self.intent.locale)
        return places[0] if places else None

    def place_name(self, rng: random.Random) -> str:
        if self.locale:
            return self.locale[0]
        if self.intent.locale.lower() not in {"unspecified", "unknown", "none"}:
            return self.intent.locale
        return rng.choice(vocab.UNSPECIFIED_PLACES)

    def nouns(self, rng: random.Random, count: int) -> list[str | None]:
        """`count` of the brief's nouns for the templates, shuffled and reused; None where it has too few."""
        own = self.brief.nouns[:6]
        rng.shuffle(own)
        return (own * count)[:count] if len(own) >= 2 else (own + [None] * count)[:count]


# --- the steps -------------------------------------------------------------------------------------


def make_intent(draft: Draft, rng: random.Random) -> dict:
    brief = draft.brief
    place = brief.place
    locale = said.place_label(place) if isinstance(place, tuple) else place or "unspecified"
    hits = {genre: sum(cue in brief.lower for cue in cues) for genre, cues in vocab.GENRES.items()}
    if re.search(r"\b1[89]\d0s\b", brief.text):
        hits["historical"] += 1
    genres = [g for g, n in sorted(hits.items(), key=lambda kv: -kv[1]) if n][:3]
    while len(genres) < 2:
        genre = rng.choice(vocab.DEFAULT_GENRES)
        if genre not in genres:
            genres.append(genre)
    for noun in brief.nouns[:2]:
        genres.append(f"{noun} {rng.choice(vocab.GENRE_SUFFIXES)}")
    axes = {}
    for axis, (raising, lowering) in vocab.TONAL_AXES.items():
        up, down = len(brief.lower & set(raising)), len(brief.lower & set(lowering))
        if up or down:
            axes[axis] = min(0.95, max(0.05, 0.5 + 0.18 * (up - down) + rng.uniform(-0.08, 0.08)))
    for axis in rng.sample(sorted(vocab.TONAL_AXES), len(vocab.TONAL_AXES)):
        if len(axes) >= 4:
            break
        axes.setdefault(axis, rng.uniform(0.3, 0.7))
    axes = dict(list(axes.items())[:6])
    return {"genre_hints": genres[:6], "locale": locale, "tonal_axes": {k: round(v, 2) for k, v in axes.items()}}


def _fill(templates, rng: random.Random, noun: str | None, place: str) -> str:
    """One of `templates`, filled; without a noun from the brief, one that needs none."""
    template = rng.choice([t for t in templates if noun or "{n}" not in t])
    age = rng.choice(vocab.AGES)
    return template.format(n=noun, place=place, rel=rng.choice(vocab.RELATIONS), age=age, Age=age[0].upper() + age[1:],
                           thing=rng.choice(vocab.THINGS))


def make_soul(draft: Draft, rng: random.Random) -> dict:
    place = draft.place_name(rng)
    nouns = draft.nouns(rng, 4)
    # Desires whose value family the brief already hints at come first.
    wanted = {family for family, (_, cues) in vocab.VALUE_FAMILIES.items() if any(cue in draft.brief.text.lower() for cue in cues)}
    unlike = set(draft.brief.trait_rules("unlike"))  # no spotlight for a shy persona, no "answer to no one" for a remorseful one
    desires = [d for d in vocab.DESIRES if d[1] not in unlike]
    pool = [d for d in desires if d[1] in wanted] if wanted and rng.random() < 0.6 else desires
    if draft.brief.nouns:  # the desire carries the brief's own words
        pool = [d for d in pool if "{n}" in d[0]] or [d for d in desires if "{n}" in d[0]]
    elif not nouns[0]:  # nothing to fill "{n}" with
        pool = [d for d in pool if "{n}" not in d[0]] or [d for d in desires if "{n}" not in d[0]]
    wound_cues = draft.brief.trait_rules("wounds")  # a remorseful persona's wound is something they did
    wounds = [w for w in vocab.WOUNDS if any(cue in w for cue in wound_cues)] or vocab.WOUNDS
    soul = {
        "desire": _fill([d for d, _ in pool], rng, nouns[0], place),
        "fear": _fill(vocab.FEARS, rng, nouns[1], place),
        "wound": _fill(wounds, rng, nouns[2], place),
        "growth_arc": _fill(vocab.ARCS, rng, nouns[3], place),
    }
    soul["wound"] = soul["wound"][0].upper() + soul["wound"][1:]
    if draft.flaw("soul_draft") == "shallow_soul":
        for name in ("fear", "wound", "growth_arc"):
            soul[name] = rng.choice(vocab.SHALLOW[name])
    return {name: said.with_pronouns(text, draft.brief.gender) for name, text in soul.items()}


def _traits(soul: Soul, brief: Brief, rng: random.Random) -> dict[str, float]:
    """Big Five from the soul's words and the brief's temperament words."""
    text = vocab.fold(" ".join(soul.model_dump().values())).lower()
    traits = {}
    for trait in TRAITS:
        raising, lowering = vocab.SOUL_TRAIT_CUES[trait]
        shift = min(3, sum(c in text for c in raising)) - min(3, sum(c in text for c in lowering))
        said_up, said_down = vocab.BRIEF_TRAIT_CUES[trait]
        shift += 2 * (len(brief.temperament_words & set(said_up)) - len(brief.temperament_words & set(said_down)))
        traits[trait] = 0.5 + 0.1 * shift + rng.uniform(-0.14, 0.14)
    traits = {t: round(min(0.92, max(0.08, v)), 2) for t, v in traits.items()}
    for trait, (low, high) in said.bounds(brief.traits, "big_five").items():
        if not low <= traits[trait] <= high:  # what the brief says outright wins over what the soul suggests
            near = high if traits[trait] > high else low
            traits[trait] = round(rng.uniform(max(low, near - 0.12), min(high, near + 0.12)), 2)
    return traits


def _values(soul_text: str, archetype_family: str, rng: random.Random, *, disconnected: bool) -> list[str]:
    """3–5 values: from the families the soul already points at, plus the archetype's; or, for a weak
    draft, values the soul says nothing about."""
    if disconnected:
        far = [v for values, _ in vocab.VALUE_FAMILIES.values() for v in values if not values_echoing([v], soul_text)]
        if len(far) >= 3:
            return rng.sample(far, 3)
    echoing = [family for family, (values, _) in vocab.VALUE_FAMILIES.items() if values_echoing(values, soul_text)]
    families = rng.sample(echoing, min(3, len(echoing))) + [archetype_family]
    values = []
    for family in families:
        value = rng.choice(vocab.VALUE_FAMILIES[family][0])
        if value not in values:
            values.append(value)
    while len(values) < 3:
        value = rng.choice(vocab.VALUE_FAMILIES[rng.choice(sorted(vocab.VALUE_FAMILIES))][0])
        if value not in values:
            values.append(value)
    return values[:5]


def _attachment(soul_text: str, neuroticism: float, rng: random.Random) -> str:
    text = soul_text.lower()
    anxious = any(c in text for c in ("abandon", "left", "never came", "alone", "needed", "waited"))
    avoidant = any(c in text for c in ("trust", "secret", "free", "own terms", "no one", "used against"))
    if anxious and avoidant and neuroticism > 0.6:
        return "disorganized"
    if anxious or avoidant:
        options = ["anxious"] * anxious + ["avoidant"] * avoidant + ["secure"]
        return rng.choice(options)
    return rng.choice(["secure", "secure", "anxious", "avoidant"])


def make_self(draft: Draft, rng: random.Random) -> dict:
    soul = draft.soul
    soul_text = " ".join(soul.model_dump().values())
    traits = _traits(soul, draft.brief, rng)
    flaw = draft.flaw("self_enrich")
    limits = said.bounds(draft.brief.traits, "big_five")
    # An archetype that is the brief's temperament (no Performer for a shy brief), nearest to the traits.
    fitting = [a for a in vocab.ARCHETYPES
               if all(said.within(a[1][TRAITS.index(t)], limits[t], said.ARCHETYPE_TOLERANCE / 2) for t in limits)]
    nearest = sorted(fitting or vocab.ARCHETYPES, key=lambda a: sum(abs(traits[t] - p) for t, p in zip(TRAITS, a[1])))[:3]
    archetype, _, family = rng.choice(nearest)
    values = _values(soul_text, family, rng, disconnected=flaw == "values_disconnected")
    if flaw == "values_disconnected" and values_echoing(values, soul_text):
        flaw = FALLBACK_FLAW[flaw]
    if flaw == "extreme_traits":
        traits.update(openness=0.99, agreeableness=rng.choice([0.01, 0.02]), neuroticism=0.98)
    layer = {"big_five": traits, "archetype": archetype, "values": values,
             "attachment_style": _attachment(soul_text, traits["neuroticism"], rng)}
    if chain_violations({"soul": soul, "self": SelfLayer.model_validate(layer)}):
        # The middle of the scales satisfies every rule of the chain; inside the brief's bounds where it gives some
        # (a shy soul that wants the spotlight: extraversion 0.3–0.35 satisfies both).
        low, high = limits.get("extraversion", (0.0, 1.0))
        careful = min(0.55, limits.get("conscientiousness", (0.0, 1.0))[1])  # a chaotic soul that fears chaos: 0.4
        traits.update(extraversion=min(max(0.5, low, 0.31), high, 0.69), conscientiousness=max(traits["conscientiousness"], careful))
    return layer


def _closest(options, rng: random.Random, top: int, distance):
    """One of the `top` options nearest by `distance`, with a little jitter so near-ties vary."""
    ranked = sorted(options, key=lambda o: distance(o) + rng.uniform(0, 0.08))
    return rng.choice(ranked[:top])


def make_mask(draft: Draft, rng: random.Random) -> dict:
    traits = draft.self_layer.big_five
    energy = traits.extraversion
    flaw = draft.flaw("mask_build")
    if flaw == "voice_mismatch":
        if 0.42 < energy < 0.58:
            flaw = FALLBACK_FLAW[flaw]
        else:
            energy = 0.95 if energy <= 0.42 else 0.05  # the opposite of the persona's extraversion
    mismatch = flaw == "voice_mismatch"
    formality = draft.intent.tonal_axes.get("formality", 0.35 + 0.3 * traits.conscientiousness)
    # The brief's temperament: voice parts within its energy and warmth, none of its clashing words (a weak
    # draft's mismatched voice ignores it, which the audit then names).
    temperament = [] if mismatch else draft.brief.traits
    energy_limits = said.bounds(temperament, "energy").get("energy")
    warmth_limits = said.bounds(temperament, "warmth").get("warmth")
    if energy_limits:
        energy = min(max(energy, energy_limits[0]), energy_limits[1])

    def fits(text: str, part_energy: float, warmth: float | None = None) -> bool:
        return (said.within(part_energy, energy_limits, 0.05) and (warmth is None or said.within(warmth, warmth_limits, 0.05))
                and not any(said.clashes(trait, text) for trait in temperament))

    registers = [r for r in vocab.REGISTERS if fits(r[0], r[2])] or vocab.REGISTERS
    rhythms = [r for r in vocab.RHYTHMS if fits(r[0], r[1])] or vocab.RHYTHMS
    own_tones = [t for t in draft.brief.trait_rules("tones") if fits(*t)] if temperament else []
    tones = own_tones or [t for t in vocab.TONES if fits(*t)] or vocab.TONES
    register_fit = 0.0 if mismatch else 0.5  # a mismatched voice only chases the wrong energy
    register = _closest(registers, rng, 3 if mismatch else 5, lambda r: abs(r[2] - energy) + register_fit * abs(r[1] - formality))[0]
    rhythm = _closest(rhythms, rng, 4 if mismatch else 6, lambda r: abs(r[1] - energy))[0]
    warmth_fit = 0.0 if mismatch else 0.7  # agreeable personas sound warm
    tone = _closest(tones, rng, 4 if mismatch else 6, lambda t: abs(t[1] - energy) + warmth_fit * abs(t[2] - traits.agreeableness))[0]
    place = draft.place_name(rng)
    own = draft.brief.nouns[:3]
    value = draft.self_layer.values[0]
    if flaw == "generic_phrases":
        phrases = [p[0].upper() + p[1:] + "." for p in rng.sample(vocab.GENERIC_PHRASES, 3)]
    else:
        # One phrase per trait the brief states (an apology for a persona who apologizes), then the persona's own.
        by_trait = [rng.choice(trait.rule["phrases"]) for trait in draft.brief.traits if trait.rule.get("phrases")][:2]
        templates = rng.sample([t for t in vocab.SIGNATURE_PHRASES if own or "{n}" not in t], rng.choice([3, 4]) - len(by_trait))
        phrases = by_trait + [t.format(n=own[i % len(own)] if own else "", place=place, value=value) for i, t in enumerate(templates)]
    flavours = rng.sample(vocab.VOCABULARY_FLAVOURS, 3)
    vocabulary = f"{' and '.join(own[:2])} talk, {flavours[0]}, {flavours[1]}" if own else ", ".join(flavours)
    vocabulary = said.with_pronouns(vocabulary, draft.brief.gender)
    role = _closest(vocab.SOCIAL_ROLES, rng, 6, lambda r: abs(r[1] - traits.extraversion))[0].format(place=place)
    if len(role) > 120:  # a long locale in a short field
        role = role.split(" of ")[0]
    return {
        "voice": {"register": register, "rhythm": rhythm, "vocabulary": vocabulary},
        "tone": tone,
        "signature_phrases": phrases,
        "social_role": role,
    }


def _location(draft: Draft, rng: random.Random, *, drift: bool) -> tuple[str, str]:
    """(location, locale group) from the intent's locale; with `drift`, somewhere else entirely."""
    if drift:
        group = draft.locale[2]
        return rng.choice([loc for loc in vocab.UNSPECIFIED_LOCATIONS if loc[1] != group])
    if draft.locale:
        place, country, group = draft.locale
        if place == country:
            cities = next((c for name, _, c in vocab.COUNTRIES.values() if name == country), None)
            return (f"{rng.choice(cities)}, {country}" if cities else place), group
        return said.place_label(draft.locale), group
    if draft.intent.locale.lower() not in {"unspecified", "unknown", "none"}:
        return draft.intent.locale, rng.choice(sorted(vocab.NAMES))
    return rng.choice(vocab.UNSPECIFIED_LOCATIONS)


def _occupation_and_age(draft: Draft, rng: random.Random, *, implausible: bool) -> tuple[str, int]:
    if implausible:
        return rng.choice(vocab.SENIOR_OCCUPATIONS), rng.randint(19, 24)
    occupation = draft.brief.occupation or rng.choice(vocab.OCCUPATIONS)
    title, low, high = occupation
    if cue := draft.brief.age_range:
        low, high = (max(low, cue[0]), min(high, cue[1])) if max(low, cue[0]) <= min(high, cue[1]) else cue
    if rule := occupation_age_range(title):
        low, high = (max(low, rule[0]), min(high, rule[1])) if max(low, rule[0]) <= min(high, rule[1]) else rule[:2]
    return title, rng.randint(low, max(low, high))


def _free_name(group: str, gender: str, rng: random.Random, taken: frozenset[str]) -> str:
    """A name of the locale group and gender that no other persona of the org has (`taken`, case-folded).

    The first draw is the one a persona would get in an empty org; a clash walks on through the group's
    other first name and surname pairs in a seeded order, then adds a middle initial (personas.naming).
    """
    female, male, surnames = vocab.NAMES[group]
    firsts = female if gender == "f" else male
    first, surname = rng.choice(firsts), rng.choice(surnames)
    name = f"{first} {surname}"
    if name.casefold() not in taken:
        return name
    pairs = [f"{f} {s}" for f in firsts for s in surnames]
    rng.shuffle(pairs)
    return next((pair for pair in pairs if pair.casefold() not in taken), None) or unique_name(name, taken)


def make_surface(draft: Draft, rng: random.Random) -> dict:
    flaw = draft.flaw("surface_ground")
    if flaw == "locale_drift" and not draft.locale:
        flaw = FALLBACK_FLAW[flaw]
    location, group = _location(draft, rng, drift=flaw == "locale_drift")
    gender = draft.brief.gender if draft.brief.gender in ("f", "m") else rng.choice("fm")
    name = _free_name(group, gender, rng, draft.prompt.names_in_use)
    occupation, age = _occupation_and_age(draft, rng, implausible=flaw == "implausible_age")
    details = [rng.choice(vocab.APPEARANCE_LOOKS), rng.choice(vocab.APPEARANCE_CLOTHES), rng.choice(vocab.APPEARANCE_HABITS)]
    if draft.brief.nouns:
        details.append(rng.choice(vocab.APPEARANCE_BRIEF).format(n=rng.choice(draft.brief.nouns[:4])))
    appearance = "; ".join(details)
    return {"name": name, "age": age, "location": location, "occupation": occupation,
            "appearance": appearance[0].upper() + appearance[1:] + "."}


def make_audit(draft: Draft, rng: random.Random) -> dict:
    prompt = draft.prompt
    layers = {name: prompt.layer(name) for name in ("soul", "self", "mask", "surface")}
    return audit_persona(brief=prompt.brief, intent=prompt.layer("intent"), raw_layers=layers)


MAKERS = {"intent_parse": make_intent, "soul_draft": make_soul, "self_enrich": make_self, "mask_build": make_mask,
          "surface_ground": make_surface, "audit": make_audit}


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
    system = "\n".join(_text(m.get("content")) for m in messages if m.get("role") == "system")
    user = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    persona = persona_from_system(system)
    rng = random.Random(stable_seed("chat", [(m.get("role"), _text(m.get("content"))) for m in messages], *([seed] if seed is not None else [])))
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

# Judge prompts of apps built on top of pipeline (audits.evals, audits.reviews): each registers the
# prefix its judge prompt starts with and a reply function from its AppConfig.ready(), so the offline
# engine can answer them without pipeline importing those apps (dependencies point one way). A judge
# registered `with_persona` also gets the persona its system message describes (persona_from_system).
_JUDGES: dict[str, tuple[Callable[..., str], bool]] = {}


def register_offline_judge(prefix: str, reply: Callable[..., str], *, with_persona: bool = False) -> None:
    _JUDGES[prefix] = (reply, with_persona)


def offline_reply(messages: list[dict], model: str = "offline/studio", *, repeat: int = 0, seed: int | None = None) -> str:
    """The offline engine's reply to chat messages: a step's JSON document, or an in-character chat line.

    `repeat` is how many times the caller has already sent these exact messages (the litellm handler
    counts them); it only matters to `[offline:invalid]`: the first reply is invalid, its retry valid.
    """
    if offline_verdict.is_verdict_prompt(messages):  # the provocation suite's judge (audits.judging)
        return offline_verdict.verdict_reply(messages)
    user = _text(messages[-1].get("content")) if messages else ""
    for prefix, (judge, with_persona) in _JUDGES.items():  # judges of the apps built on pipeline (eval suites, reviews)
        if user.startswith(prefix):
            if not with_persona:
                return judge(user)
            system = "\n".join(_text(m.get("content")) for m in messages if m.get("role") == "system")
            return judge(user, persona_from_system(system))
    prompt = read_prompt(messages, repeat=repeat)
    if prompt is None:
        return chat_reply(messages, seed=seed)
    draft = Draft(prompt)
    document = MAKERS[prompt.step](draft, draft.rng(prompt.step))
    text = json.dumps(document, ensure_ascii=False)
    if "invalid" in prompt.markers and prompt.first_try and prompt.retry % 2 == 0:
        return text[: len(text) * 2 // 3]  # cut off mid-document, as a model hitting its token limit would
    return text


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
