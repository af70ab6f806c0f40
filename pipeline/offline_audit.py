"""The offline demo engine's audit: every score comes from a concrete check of the document.

- coherence: the constraint chain's rules (pipeline.constraints), values that echo the soul, a voice
  whose energy matches extraversion, an archetype that fits the traits;
- depth: length and specificity of the soul's fields, generic stand-ins, grounding in the brief;
- cultural_fidelity: the intent's locale against the surface's location and name;
- voice_distinctiveness: signature phrases (clichés, repeats, overlap, length), vocabulary, register;
- realism: age against occupation, extreme traits, the surface rules.
Brief fidelity cuts across them: what the brief says outright (studio.llm.offline.reading: a temperament such as
"shy" or "apologizes", pronouns, a place, an occupation) contradicted by a layer caps coherence and realism at
FIDELITY_CAP, and a place or name against the brief's place lowers cultural_fidelity; the notes name each
contradiction. With both capped, overall stays below the pipeline's default threshold (3.5), so the draft is
regenerated, or flagged when every round contradicts the brief.
overall = 0.75 × weighted mean + 0.25 × the weakest criterion (one bad criterion should sink a persona).
No Django, no litellm.
"""

import re

from pydantic import ValidationError

from pipeline.constraints import chain_violations, surface_violations
from pipeline.schemas import LAYERS
from studio.llm.offline import reading, vocab
from studio.llm.offline.reading import content_words, voice_energy
from studio.words import clip, plural

FIDELITY_CAP = 2.0  # coherence and realism of a draft that contradicts its brief: overall ≤ 3.24 even if all else is 5
WEIGHTS = {"coherence": 0.3, "depth": 0.2, "cultural_fidelity": 0.15, "voice_distinctiveness": 0.2, "realism": 0.15}
TRAITS = ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism")
_NUMBER_WORDS = (
    "two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty thirty forty fifty sixty seventy eighty"
)
_CONCRETE = re.compile(
    r"\d|\b(" + _NUMBER_WORDS.replace(" ", "|") + r")\b|\b(winter|summer|spring|autumn|night|midnight|morning|"
    r"evening|year|week|sunday|monday|saturday|wedding|funeral|station|fire|flood|letters?|debts?|promise|prize|"
    r"father|mother|brother|sister|grandmother|grandfather|uncle|aunt|mentor|friend|teacher|partner|cousin|"
    r"twin|sibling|stranger|neighbours?|table|door|house|road|song|school|scarf|hands?|faces?|names?|crew|"
    r"kitchen|street|harbou?r|hospital|photograph|knife|ring|key|secret)\b",
    re.I,
)
_DIRECTION = re.compile(r"\bfrom\b.+\bto\b|\blearn|\bbecom|\bstops?\b|\bfinally\b|\bturns?\b", re.I)


def values_echoing(values: list[str], soul_text: str) -> list[str]:
    """The values that something in the soul already points at (their family's cues, or the word itself)."""
    text = vocab.fold(soul_text).lower()
    echoed = []
    for value in values:
        family = vocab.VALUE_FAMILY_OF.get(value.lower())
        cues = vocab.VALUE_FAMILIES[family][1] if family else ()
        stem = vocab.fold(value).lower()[:5]
        if any(cue in text for cue in cues) or (len(stem) >= 4 and stem in text):
            echoed.append(value)
    return echoed


def occupation_age_range(occupation: str) -> tuple[int, int, str] | None:
    text = vocab.fold(occupation).lower() + " "
    for keyword, low, high in vocab.OCCUPATION_AGE_RULES:
        if keyword in text:
            return low, high, keyword.strip()
    return None


def parse_layers(raw: dict[str, dict | None]) -> tuple[dict, list[str]]:
    """Schema-valid layers by name, and a note for each one that is missing or invalid."""
    layers, problems = {}, []
    for name, schema in LAYERS.items():
        data = raw.get(name)
        if data is None:
            problems.append(f"the {name} layer is missing")
            continue
        try:
            layers[name] = schema.model_validate(data)
        except ValidationError:
            problems.append(f"the {name} layer does not match its schema")
    return layers, problems


def _clamp(score: float) -> float:
    return round(min(5.0, max(0.0, score)), 2)


def score_coherence(layers: dict) -> tuple[float, list[str]]:
    soul, self_layer, mask = layers.get("soul"), layers.get("self"), layers.get("mask")
    score, notes = 5.0, []
    for problem in chain_violations(layers):
        score -= 1.5
        notes.append(problem)
    if soul and self_layer:
        soul_text = " ".join(soul.model_dump().values())
        echoed = values_echoing(self_layer.values, soul_text)
        if not echoed:
            score -= 2.3
            notes.append(f"values ({', '.join(self_layer.values)}) do not echo anything the soul wants or fears (desire: {clip(soul.desire, 80)!r})")
        elif len(echoed) * 2 < len(self_layer.values):
            score -= 0.6
            notes.append(f"only {', '.join(echoed)} of the values follow from the soul")
        profile = vocab.ARCHETYPE_PROFILE.get(self_layer.archetype.lower())
        if profile:
            traits = self_layer.big_five.model_dump()
            distance = sum(abs(traits[t] - p) for t, p in zip(TRAITS, profile)) / 5
            if distance > 0.28:
                score -= 0.6
                notes.append(f"the archetype {self_layer.archetype!r} does not fit the Big Five (mean distance {distance:.2f})")
    if self_layer and mask:
        voice = f"{mask.voice.register} {mask.voice.rhythm} {mask.tone}"
        energy, cues = voice_energy(voice)
        extraversion = self_layer.big_five.extraversion
        if cues >= 2 and abs(energy - extraversion) > 0.4:
            score -= 2.2
            reads = "high-energy" if energy > extraversion else "subdued"
            notes.append(f"the voice ({voice!r}) reads {reads} but extraversion is {extraversion:.2f}")
    return _clamp(score), notes


def _field_depth(name: str, text: str, brief_words: set[str]) -> tuple[float, str | None]:
    words = len(text.split())
    generic = vocab.fold(text).lower().strip(" .") in {s for options in vocab.SHALLOW.values() for s in options}
    if generic or words <= 4:
        return 0.5, f"the {name.replace('_', ' ')} ({text!r}) is generic: {plural(words, 'word')}, nothing concrete"
    score = 1.6 + 2.2 * min(words, 16) / 16
    concrete = bool(_CONCRETE.search(text))
    grounded = bool(brief_words & set(content_words(text)))
    score += 0.6 * concrete + 0.6 * grounded
    if name == "growth_arc":
        if not _DIRECTION.search(text):
            return score - 0.8, "the growth arc has no direction (from what, to what)"
        score += 0.3
    if words < 9 and not concrete:
        return score, f"the {name.replace('_', ' ')} is thin ({plural(words, 'word')}, no concrete detail)"
    return score, None


def score_depth(layers: dict, brief: str) -> tuple[float, list[str]]:
    soul = layers.get("soul")
    if not soul:
        return 1.0, ["no soul to judge"]
    brief_words = set(content_words(brief))
    scores, notes = [], []
    for name, text in soul.model_dump().items():
        score, note = _field_depth(name, text, brief_words)
        scores.append(score)
        if note:
            notes.append(note)
    if brief_words and not brief_words & set(content_words(" ".join(soul.model_dump().values()))):
        notes.append("the soul uses none of the brief's own words")
        scores.append(2.0)
    return _clamp(sum(scores) / len(scores)), notes


def score_cultural_fidelity(intent: dict | None, layers: dict, brief: str) -> tuple[float, list[str]]:
    surface = layers.get("surface")
    if not surface:
        return 1.0, ["no surface to check against the locale"]
    locale = str((intent or {}).get("locale") or "unspecified")
    brief_places = vocab.find_places(brief)
    score, notes = 4.3, []
    first_name = surface.name.split()[0] if surface.name.split() else ""
    name_group = vocab.FIRST_NAME_GROUP.get(first_name)
    wanted = vocab.find_places(locale)
    if locale.lower() in {"", "unspecified", "none", "unknown"}:
        if brief_places:
            score -= 1.2
            notes.append(f"the intent's locale is unspecified although the brief names {brief_places[0][0]}")
        location_places = vocab.find_places(surface.location)
        if name_group and location_places and location_places[0][2] != name_group:
            score -= 0.6
            notes.append(f"the name {surface.name!r} and the location {surface.location!r} pull in different directions")
        return _clamp(score), notes
    location = vocab.fold(surface.location).lower()
    tokens = {vocab.fold(t).lower() for t in re.split(r"[,;/]", locale) if t.strip()}
    tokens |= {vocab.fold(part).lower() for city, country, _ in wanted for part in (city, country)}
    if any(token.strip() and token.strip() in location for token in tokens):
        score += 0.4
    elif wanted and any(place[1] == w[1] for place in vocab.find_places(surface.location) for w in wanted):
        score += 0.1  # same country, another city
    else:
        score -= 2.6
        notes.append(f"the location {surface.location!r} ignores the intent's locale {locale!r}")
    groups = {group for _, _, group in wanted}
    if name_group and groups:
        if name_group in groups:
            score += 0.3
        else:
            score -= 1.0
            notes.append(f"the name {surface.name!r} does not reflect the locale {locale!r}")
    return _clamp(score), notes


def _overlap(a: str, b: str) -> float:
    wa, wb = set(content_words(a)), set(content_words(b))
    return len(wa & wb) / len(wa | wb) if wa and wb else 0.0


def score_voice(layers: dict) -> tuple[float, list[str]]:
    mask = layers.get("mask")
    if not mask:
        return 1.0, ["no mask to judge"]
    score, notes = 4.7, []
    phrases = mask.signature_phrases
    cliches = [p for p in phrases if vocab.fold(p).lower().strip(" .!?") in vocab.GENERIC_PHRASES]
    if cliches:
        score -= 1.1 * len(cliches)
        notes.append(f"signature phrases are stock clichés: {', '.join(repr(p) for p in cliches)}")
    short = [p for p in phrases if len(p.split()) < 2]
    if short:
        score -= 0.4 * len(short)
        notes.append(f"signature phrases too short to carry a voice: {', '.join(repr(p) for p in short)}")
    if any(_overlap(a, b) > 0.5 for i, a in enumerate(phrases) for b in phrases[i + 1 :]):
        score -= 0.6
        notes.append("signature phrases repeat each other")
    if len(set(content_words(mask.voice.vocabulary))) < 3:
        score -= 0.8
        notes.append(f"the vocabulary ({mask.voice.vocabulary!r}) is too thin to recognise")
    generic = [part for part in (mask.voice.register, mask.tone) if vocab.fold(part).lower().strip() in vocab.GENERIC_VOICE]
    if generic:
        score -= 0.6 * len(generic)
        notes.append(f"generic voice description: {', '.join(generic)}")
    return _clamp(score), notes


def score_realism(layers: dict) -> tuple[float, list[str]]:
    self_layer, surface = layers.get("self"), layers.get("surface")
    score, notes = 4.7, []
    if self_layer:
        extremes = [f"{t} {v:.2f}" for t, v in self_layer.big_five.model_dump().items() if v < 0.05 or v > 0.95]
        if extremes:
            score -= 1.3 * len(extremes)
            notes.append(f"cartoonish traits: {', '.join(extremes)}")
    if surface:
        if rule := occupation_age_range(surface.occupation):
            low, high, keyword = rule
            if not low <= surface.age <= high:
                score -= 3.0
                notes.append(f"age {surface.age} is implausible for {surface.occupation!r} ({keyword}: usually {low}–{high})")
        if surface.age < 12 or surface.age > 100:
            score -= 1.0
            notes.append(f"age {surface.age} is extreme for a persona")
        if len(surface.appearance.split()) < 6:
            score -= 0.5
            notes.append("the appearance is a sketch, not a person")
        if self_layer and layers.get("soul") and layers.get("mask"):
            problems = surface_violations(layers["soul"], self_layer, layers["mask"], surface)
            score -= 0.5 * len(problems)
    return _clamp(score), notes


def _temperament_contradictions(trait: reading.Trait, layers: dict, free: set[str]) -> list[str]:
    """How the self and mask layers contradict one temperament word of the brief; `free`: dimensions left free
    because the brief pulls them both ways."""
    said_it = f"the brief says {trait.word!r}"
    self_layer, mask = layers.get("self"), layers.get("mask")
    found = []
    limits = {dim: bound for dim, bound in trait.rule.get("big_five", {}).items() if dim not in free}
    if self_layer:
        values = self_layer.big_five.model_dump()
        for dim, (low, high) in limits.items():
            if not reading.within(values[dim], (low, high), reading.TRAIT_TOLERANCE):
                edge = f"at most {high:.2f}" if values[dim] > high else f"at least {low:.2f}"
                found.append(f"{said_it} but {dim} is {values[dim]:.2f} ({edge})")
        profile = vocab.ARCHETYPE_PROFILE.get(self_layer.archetype.lower())
        for dim, bound in limits.items() if profile else ():
            typical = profile[TRAITS.index(dim)]
            if not reading.within(typical, bound, reading.ARCHETYPE_TOLERANCE):
                found.append(f"{said_it} but the archetype {self_layer.archetype!r} is a type with {dim} {typical:.2f}")
                break
    if mask and not free & set(trait.rule.get("big_five", {})):  # a trait the brief itself contradicts has no voice to check
        voice = f"{mask.voice.register}; {mask.voice.rhythm}; {mask.tone}"
        if clashing := reading.clashes(trait, voice):
            found.append(f"{said_it} but the voice reads {', '.join(repr(w) for w in clashing)} ({voice!r})")
        if not reading.says_it(trait, mask.signature_phrases):
            stems = trait.rule["must_say"]
            found.append(f"{said_it} but no signature phrase shows it (none has {', '.join(repr(s) for s in stems[:3])})")
    return found


def brief_contradictions(brief: str, layers: dict) -> tuple[list[str], list[str]]:
    """What the layers contradict of what the brief says outright: (temperament, pronoun and occupation notes,
    place notes). Empty for a draft that follows its brief."""
    traits = reading.explicit_traits(brief)
    mentioned = {dim for trait in traits for dim in trait.rule.get("big_five", {})}
    pulled = mentioned - set(reading.bounds(traits, "big_five"))  # "shy" and "loud" in one brief: extraversion is free
    notes = [note for trait in traits for note in _temperament_contradictions(trait, layers, pulled)]
    place_notes = []
    surface = layers.get("surface")
    if surface:
        first_name = surface.name.split()[0] if surface.name.split() else ""
        gender = reading.brief_gender(brief)
        if not reading.name_fits_gender(first_name, gender):
            kind = "man's" if gender == "f" else "woman's"
            notes.append(f"the brief says {reading.pronoun_word(gender)!r} but {surface.name!r} is a {kind} name")
        if (head := reading.occupation_head(brief)) and head not in vocab.fold(surface.occupation).lower():
            notes.append(f"the brief makes them a {head} but the occupation is {surface.occupation!r}")
        place = reading.brief_place(brief)
        if isinstance(place, tuple):
            city, country, group = place
            location = vocab.fold(surface.location).lower()
            if vocab.fold(country).lower() not in location and vocab.fold(city).lower() not in location:
                place_notes.append(f"the brief places them in {reading.place_label(place)} but the location is {surface.location!r}")
            if first_name in vocab.FIRST_NAME_GROUP and not reading.name_in_group(first_name, group):
                place_notes.append(f"the brief places them in {city} but {surface.name!r} is not {reading.group_label(group, article=True)} name")
    return notes, place_notes


def audit_persona(*, brief: str, intent: dict | None, raw_layers: dict[str, dict | None]) -> dict:
    """The Audit document (as a dict) for the persona in a prompt: scores and notes from real checks."""
    layers, missing = parse_layers(raw_layers)
    results = {
        "coherence": score_coherence(layers),
        "depth": score_depth(layers, brief),
        "cultural_fidelity": score_cultural_fidelity(intent, layers, brief),
        "voice_distinctiveness": score_voice(layers),
        "realism": score_realism(layers),
    }
    scores = {name: score for name, (score, _) in results.items()}
    contradictions, misplaced = brief_contradictions(brief, layers)
    if contradictions or misplaced:
        count = len(contradictions) + len(misplaced)
        scores["coherence"] = min(scores["coherence"] - 1.5 * count, FIDELITY_CAP)
        scores["realism"] = min(scores["realism"] - 1.0 * count, FIDELITY_CAP)
        scores["cultural_fidelity"] -= 1.5 * len(misplaced)
    if missing:
        scores = {name: max(0.0, score - 1.0 * len(missing)) for name, score in scores.items()}
    mean = sum(WEIGHTS[name] * score for name, score in scores.items())
    overall = _clamp(0.75 * mean + 0.25 * min(scores.values()))
    notes = [f"{problem}" for problem in missing]
    notes += [f"brief fidelity: {note}" for note in contradictions + misplaced]
    notes += [f"{name}: {note}" for name, (_, found) in results.items() for note in found]
    text = "; ".join(notes) if notes else "No concrete problems found: the layers agree, the soul is specific and the voice is distinct."
    return {**{name: _clamp(score) for name, score in scores.items()}, "overall": overall, "notes": clip(text, 2000)}
