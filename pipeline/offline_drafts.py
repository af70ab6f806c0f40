"""The pipeline's step prompts as the offline engine (studio.llm.offline) answers them, registered from
PipelineConfig.ready() as the engine's "persona steps" responder.

`draft_reply(messages)` reads the prompt that `pipeline.prompts.build_messages` wrote (step, attempt,
brief, earlier layers, audit feedback) and returns the text a model would: one JSON object valid for
the step's schema, built from the brief's own words, sizeable vocabularies (studio.llm.offline.vocab)
and the earlier layers (traits follow the soul, the voice follows the traits, the surface follows the
intent's locale). What the brief says outright (studio.llm.offline.reading: "shy", "apologizes too
much", she/he/they, "from Alfama", "a fado singer", "lighthouse keeper") holds in every layer of a clean
draft: Big Five bounds, archetype, voice and tone, a signature phrase, the name's gender and culture,
the location and the occupation. The surface step's name avoids the names in use that the prompt lists
(the org's other personas). The audit step scores the persona in the prompt with real checks
(pipeline.offline_audit), brief fidelity among them. A prompt without a `### step:` section is not
this responder's: the engine answers it as a chat.

Deterministic: the same messages give the same reply (seeds are SHA-256 of the step, attempt, brief
and earlier layers; never `hash()`). The model name does not change the answer, so a config that
names different offline models per step behaves the same.

Weak drafts. About a quarter of briefs get a weak first draft (a shallow soul, values that ignore
the soul, cartoonish traits, a voice at odds with extraversion, stock phrases, a surface that drifts
from the locale, an age that does not fit the occupation): two such flaws, none of them a
constraint-rule violation, so the audit scores the draft below 3.5 and the pipeline retries. A retry
(attempt > 1 or audit feedback present) is clean, except for a few stubborn briefs (about 1 in 20)
whose every attempt has flaws, so runs can end `flagged`. `answer(prompt, flaws=...)` writes a draft
with the flaws a caller chooses.

No Django and no litellm here.
"""

import json
import random
import re
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import BaseModel, ValidationError

from personas.naming import unique_name
from pipeline.constraints import chain_violations
from pipeline.offline_audit import TRAITS, audit_persona, occupation_age_range, values_echoing
from pipeline.prompts import CONTEXT, NAMES_IN_USE, parse_sections
from pipeline.schemas import STEP_OUTPUT, Intent, Mask, SelfLayer, Soul
from studio.llm.offline import reading, vocab
from studio.llm.offline.engine import message_text, stable_seed
from studio.llm.offline.reading import Brief

WEAK_SHARE, STUBBORN_SHARE = 27, 5  # percent of briefs: weak first draft / weak on every attempt
FLAWS = {  # flaw → the step that makes it
    "shallow_soul": "soul_draft", "values_disconnected": "self_enrich", "extreme_traits": "self_enrich",
    "voice_mismatch": "mask_build", "generic_phrases": "mask_build",
    "locale_drift": "surface_ground", "implausible_age": "surface_ground",
}
FALLBACK_FLAW = {"values_disconnected": "extreme_traits", "voice_mismatch": "generic_phrases", "locale_drift": "implausible_age"}


@dataclass
class Prompt:
    step: str | None
    attempt: int
    brief: str
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
        sections = parse_sections(message_text(message.get("content")))
        if sections.get("step") in STEP_OUTPUT:
            break
    else:
        return None
    try:
        attempt = int(sections.get("attempt", "1"))
    except ValueError:
        attempt = 1
    context = {name: sections[name] for name in CONTEXT["audit"] if name in sections}
    feedback = sections.get("audit feedback", "").strip()
    repairs = sum(m.get("role") == "assistant" for m in messages[index + 1 :])
    return Prompt(sections["step"], attempt, sections.get("brief", "").strip(), feedback, context, repairs + repeat,
                  _names_in_use(sections.get(NAMES_IN_USE, "")))


def _names_in_use(text: str) -> frozenset[str]:
    try:
        names = json.loads(text or "[]")
    except json.JSONDecodeError:
        return frozenset()
    return frozenset(n.casefold() for n in names if isinstance(n, str)) if isinstance(names, list) else frozenset()


def flaw_count(prompt: Prompt) -> int:
    """How many flaws this attempt's drafts carry (see the module docstring)."""
    roll = stable_seed("weak", prompt.brief) % 100
    if roll < STUBBORN_SHARE:
        return 2
    if roll < WEAK_SHARE:
        return 2 if prompt.first_try else 0
    return 0


def flaw_plan(prompt: Prompt, count: int | None = None) -> frozenset[str]:
    """Which flaws this attempt's drafts carry: `count` of them (flaw_count's when None), in seeded steps."""
    count = flaw_count(prompt) if count is None else count
    rng = random.Random(stable_seed("flaws", prompt.brief, prompt.attempt))
    steps = rng.sample(sorted(set(FLAWS.values())), count)
    return frozenset(rng.choice(sorted(f for f, s in FLAWS.items() if s == step)) for step in steps)


class Draft:
    """One step's generation: the brief, the earlier layers (from the prompt, or made up when absent), the flaws."""

    def __init__(self, prompt: Prompt, flaws: frozenset[str] | None = None):
        self.prompt = prompt
        self.brief = Brief(prompt.brief)
        self.flaws = flaw_plan(prompt) if flaws is None else flaws

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
    locale = reading.place_label(place) if isinstance(place, tuple) else place or "unspecified"
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
    return {name: reading.with_pronouns(text, draft.brief.gender) for name, text in soul.items()}


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
    for trait, (low, high) in reading.bounds(brief.traits, "big_five").items():
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
    limits = reading.bounds(draft.brief.traits, "big_five")
    # An archetype that is the brief's temperament (no Performer for a shy brief), nearest to the traits.
    fitting = [a for a in vocab.ARCHETYPES
               if all(reading.within(a[1][TRAITS.index(t)], limits[t], reading.ARCHETYPE_TOLERANCE / 2) for t in limits)]
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
    energy_limits = reading.bounds(temperament, "energy").get("energy")
    warmth_limits = reading.bounds(temperament, "warmth").get("warmth")
    if energy_limits:
        energy = min(max(energy, energy_limits[0]), energy_limits[1])

    def fits(text: str, part_energy: float, warmth: float | None = None) -> bool:
        return (reading.within(part_energy, energy_limits, 0.05) and (warmth is None or reading.within(warmth, warmth_limits, 0.05))
                and not any(reading.clashes(trait, text) for trait in temperament))

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
    vocabulary = reading.with_pronouns(vocabulary, draft.brief.gender)
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
        return reading.place_label(draft.locale), group
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


def answer(prompt: Prompt, flaws: frozenset[str] | None = None) -> str:
    """The step's JSON document for `prompt`, with `flaws` (flaw_plan's when None)."""
    draft = Draft(prompt, flaws)
    return json.dumps(MAKERS[prompt.step](draft, draft.rng(prompt.step)), ensure_ascii=False)


def draft_reply(messages: list[dict], *, repeat: int = 0, seed: int | None = None) -> str | None:
    """The engine's responder: a step prompt's document, or None when the conversation is no step prompt."""
    prompt = read_prompt(messages, repeat=repeat)
    return None if prompt is None else answer(prompt)
