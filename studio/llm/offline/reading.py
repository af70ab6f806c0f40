"""What a brief says outright about its persona, for the offline engine to honour and its audit to check.

A brief that calls its persona shy, remorseful or grumpy (vocab.BRIEF_TRAITS), gives pronouns, names a
place or a culture, or an occupation, constrains every layer: the Big Five, the archetype, the voice and
tone, the signature phrases, the name and the location. The persona drafts (pipeline.offline_drafts) read
these to write a draft that follows them; the audit (pipeline.offline_audit) reads the same to name a draft
that contradicts them. One reading for both, so a clean draft never contradicts its own brief. `Brief` is
that reading of one text (its nouns also give the in-character chat its topic).

No Django, no litellm.
"""

import re
from dataclasses import dataclass
from functools import cache, cached_property

from studio.llm.offline import vocab

_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_AGE_NUMBER = re.compile(r"\b(\d{1,2})[- ]?(?:years?[- ]old|yo)\b|\baged (\d{1,3})\b", re.I)
_TOKEN = re.compile(r"[\w'’-]+|[.,;:!?()/]")
_BREAKS = frozenset(". , ; : ! ? ( ) / and but yet or".split())
_CLAUSE_BREAKS = frozenset(". , ; : ! ? ( ) / but yet who that which".split())
# Relations and pets: a trait word before one of these after "with", "whose", "her"… describes someone else.
_RELATIONS = frozenset(
    "daughter son husband wife mother father brother sister aunt uncle cousin friend neighbour neighbor boss partner "
    "lover grandson granddaughter child children kids cat dog parrot twin apprentice landlord landlady".split()
)
_OWNED_BY = vocab.TRAIT_OWNERS | {"with", "of"}
_GENDERED_NOUNS = (vocab.FEMALE_CUES | vocab.MALE_CUES) - {"she", "her", "hers", "he", "him", "his"}
_MALE_MAN_WORDS = ("fisherman", "watchman", "policeman", "postman", "nobleman", "craftsman", "salesman", "ferryman",
                   "boatman", "doorman", "milkman", "handyman", "businessman", "chairman", "fireman", "lineman")
_PRONOUN_DECLARED = re.compile(r"\b(she|he|they)\s*/\s*(?:her|him|them|hers|his|theirs)\b|\bpronouns?\s*:?\s*(she|he|they)\b")
_UNKNOWN_PLACE = re.compile(r"\b(?:in|from|near|outside|of)\s+((?:[A-Z][\w'’-]+)(?:\s+[A-Z][\w'’-]+)?)")
_NOT_PLACES = frozenset("The A An I My Our Their His Her Its This That Monday Sunday January December English".split())
RUNS_A_PLACE = re.compile(
    r"\b(?:runs|owns|keeps|manages|running|owning)\s+(?:a|an|the|her|his|their)\s+(?:(?:tiny|small|little|old|busy|"
    r"family|new|late-night|struggling|quiet)\s+)*((?:[a-z-]+\s+)?(?:shop|cafe|café|bakery|bar|pub|restaurant|stall|"
    r"bookshop|bookstore|inn|hotel|garage|salon|studio|farm|clinic|diner|kiosk|laundromat|boarding house|tea house|"
    r"teahouse|gallery|florist|nursery|workshop|pharmacy|butchery|vineyard|izakaya|trattoria|taverna|bistro))\b",
    re.I,
)
# Forms of "they" the soul templates use, for a persona the brief calls she or he: (pattern, she-form, he-form).
_PRONOUN_FORMS = (
    (r"they themselves (\w+)", "she herself {0}s", "he himself {0}s"),
    (r"they are", "she is", "he is"), (r"they were", "she was", "he was"), (r"they have", "she has", "he has"),
    (r"they do", "she does", "he does"), (r"they go", "she goes", "he goes"),
    (r"they (help|love|need|want|hide|keep|know|say|feel)", "she {0}s", "he {0}s"),
    (r"they still (help|love|need|want|hide|keep|know|say|feel)", "she still {0}s", "he still {0}s"),
    (r"themselves", "herself", "himself"), (r"theirs", "hers", "his"),
    (r"they", "she", "he"), (r"them", "her", "him"), (r"their", "her", "his"),
)
# Where "they/their" in a template means someone else as well ("the last night they spoke"): left as written.
_KEEP_PLURAL = ("lose their grip", "the last night they spoke")
AMBIGUOUS_WORDS = frozenset(word for rule in vocab.BRIEF_TRAITS.values() for word in rule.get("ambiguous", ()))
TRAIT_TOLERANCE = 0.1  # how far past a trait's bound the audit lets a value go before calling it a contradiction
ARCHETYPE_TOLERANCE = 0.2


@dataclass(frozen=True)
class Trait:
    key: str  # the BRIEF_TRAITS entry
    word: str  # the brief's own word for it ("apologizes", "shy", "says sorry")

    @property
    def rule(self) -> dict:
        return vocab.BRIEF_TRAITS[self.key]


def tokens_of(text: str) -> list[str]:
    return [t.strip("'’") for t in _TOKEN.findall(vocab.fold(text).lower()) if t.strip("'’")]


@cache
def _cue(key: str) -> re.Pattern:
    return re.compile(f"(?:{vocab.BRIEF_TRAITS[key]['cues']})")


def _person_word(token: str) -> bool:
    return token in vocab.PERSON_WORDS or token in vocab.OCCUPATION_WORDS or token in _OCCUPATION_HEADS


_OCCUPATION_HEADS = frozenset(title.split()[-1] for title, _, _ in vocab.OCCUPATIONS) | {"owner", "artist", "singer"}


def _describes_persona(tokens: list[str], i: int) -> bool:
    """Whether an ambiguous word ("cold", "warm") at i is said of a person rather than a thing ("a cold sea")."""
    if i and tokens[i - 1] in vocab.TRAIT_PREDICATES:
        return True
    if i + 1 >= len(tokens) or tokens[i + 1] in _BREAKS:
        return True
    for token in tokens[i + 1 : i + 4]:
        if token in _BREAKS or token in vocab.STOPWORDS:
            return False
        if _person_word(token):
            return True
    return False


def _owned(tokens: list[str], i: int) -> bool:
    """Whether the word at i follows "whose", "her", "with"… in the same clause ("with a son and a grumpy cat")."""
    for token in reversed(tokens[max(0, i - 6) : i]):
        if token in _CLAUSE_BREAKS:
            return False
        if token in _OWNED_BY:
            return True
    return False


def _someone_elses(tokens: list[str], i: int) -> bool:
    """"her shy daughter", "with a grumpy cat": the trait word belongs to a relation, not the persona."""
    return _owned(tokens, i) and any(t in _RELATIONS for t in tokens[i + 1 : i + 3])


def explicit_traits(text: str) -> list[Trait]:
    """The temperament words a brief says of its persona, one per trait, in the brief's order."""
    tokens = tokens_of(text)
    found: dict[str, Trait] = {}
    for i, token in enumerate(tokens):
        pair = f"{tokens[i - 1]} {token}" if i else token
        for key, rule in vocab.BRIEF_TRAITS.items():
            if key in found:
                continue
            cue = _cue(key)
            word = token if cue.fullmatch(token) else pair if cue.fullmatch(pair) else None
            if word is None:
                continue
            if set(tokens[max(0, i - 2) : i]) & vocab.TRAIT_NEGATIONS or _someone_elses(tokens, i):
                continue
            if token in rule.get("ambiguous", ()) and not _describes_persona(tokens, i):
                continue
            found[key] = Trait(key, word)
    return list(found.values())


def bounds(traits: list[Trait], field: str) -> dict[str, tuple[float, float]]:
    """Every trait's bounds on `field` ("big_five": per dimension; "energy", "warmth": one range), intersected.

    A dimension two traits pull apart ("shy" and "loud") is left free: the brief contradicts itself there.
    """
    merged: dict[str, tuple[float, float]] = {}
    for trait in traits:
        value = trait.rule.get(field)
        ranges = value if isinstance(value, dict) else {field: value} if value else {}
        for dimension, (low, high) in ranges.items():
            old_low, old_high = merged.get(dimension, (0.0, 1.0))
            merged[dimension] = (max(low, old_low), min(high, old_high))
    return {dimension: (low, high) for dimension, (low, high) in merged.items() if low <= high}


def within(value: float, limits: tuple[float, float] | None, slack: float = 0.0) -> bool:
    return limits is None or limits[0] - slack <= value <= limits[1] + slack


def clashes(trait: Trait, text: str) -> list[str]:
    """The trait's clashing voice words that `text` (a register, rhythm or tone) uses."""
    low = vocab.fold(text).lower()
    return [word for word in trait.rule.get("clashes", ()) if word in low]


def says_it(trait: Trait, phrases: list[str]) -> bool:
    """Whether a signature phrase carries the trait (an apology for "apologizes"); True for traits that need none."""
    stems = trait.rule.get("must_say")
    return not stems or any(stem in vocab.fold(p).lower() for p in phrases for stem in stems)


# --- pronouns ------------------------------------------------------------------------------------


def brief_gender(text: str) -> str | None:
    """"f", "m" or "n" (they) from the brief: declared pronouns, else the first gendered noun that is the
    persona's own ("a widower", not "whose wife"), else the pronouns it uses. None when it does not say."""
    low = vocab.fold(text).lower()
    if declared := _PRONOUN_DECLARED.search(low):
        return {"she": "f", "he": "m", "they": "n"}[declared.group(1) or declared.group(2)]
    tokens = tokens_of(text)
    for i, token in enumerate(tokens):
        if _owned(tokens, i):  # "whose wife", "with a shy daughter": someone else
            continue
        if token in _GENDERED_NOUNS or token.endswith("woman") or token in _MALE_MAN_WORDS:
            return "f" if token in vocab.FEMALE_CUES or token.endswith("woman") else "m"
    for female, male in (({"she"}, {"he"}), ({"her", "hers", "herself"}, {"him", "his", "himself"})):
        she, he = sum(t in female for t in tokens), sum(t in male for t in tokens)
        if she != he:
            return "f" if she > he else "m"
    return None


def _forms(match: re.Match, form: str) -> str:
    text = form.format(*match.groups())
    return text[0].upper() + text[1:] if match.group(0)[0].isupper() else text


def with_pronouns(text: str, gender: str | None) -> str:
    """`text` (written with they/them/their for the persona) with the persona's own pronouns."""
    if gender not in ("f", "m"):
        return text
    kept = {f"\x00{i}\x00": phrase for i, phrase in enumerate(_KEEP_PLURAL)}
    for marker, phrase in kept.items():
        text = text.replace(phrase, marker)
    for pattern, she, he in _PRONOUN_FORMS:
        form = she if gender == "f" else he
        text = re.sub(rf"\b{pattern}\b", lambda m, form=form: _forms(m, form), text, flags=re.I)
    for marker, phrase in kept.items():
        text = text.replace(marker, phrase)
    return text


def pronoun_word(gender: str) -> str:
    return {"f": "she", "m": "he", "n": "they"}.get(gender, "")


def name_fits_gender(first_name: str, gender: str | None) -> bool:
    known = vocab.FIRST_NAME_GENDER.get(first_name)
    return gender not in ("f", "m") or known is None or known == gender


# --- place and occupation ----------------------------------------------------------------------


def unknown_place(text: str) -> str | None:
    """A capitalised place the vocabulary does not know ("in Tbilisi")."""
    for match in _UNKNOWN_PLACE.finditer(text):
        name = match.group(1)
        if name.split()[0] not in _NOT_PLACES and len(name) <= 60:
            return name
    return None


def culture_place(text: str) -> tuple[str, str, str] | None:
    """A country the brief's culture words point at ("a fado singer" → Portugal), as (country, country, group)."""
    for token in tokens_of(text):
        if key := vocab.CULTURE_CUES.get(token):
            country, group, _ = vocab.COUNTRIES[key]
            return country, country, group
    return None


def brief_place(text: str) -> tuple[str, str, str] | str | None:
    """Where the brief puts its persona: a known place (city or country, country, group), an unknown place's
    name, or a culture's country; None when it says nothing."""
    places = vocab.find_places(text)
    return places[0] if places else unknown_place(text) or culture_place(text)


def place_label(place: tuple[str, str, str]) -> str:
    """"Alfama, Lisbon, Portugal", "Lisbon, Portugal" or "Portugal"."""
    city, country, _ = place
    if city == country:
        return country
    if within_city := vocab.NEIGHBOURHOOD_CITY.get(city):
        return f"{city}, {within_city}, {country}"
    return f"{city}, {country}"


def group_label(group: str, *, article: bool = False) -> str:
    """"portuguese" → "Portuguese"; with `article`, "a Portuguese" / "an Irish"."""
    label = group.replace("_", " ").title()
    return f"{'an' if label[0] in 'AEIOU' else 'a'} {label}" if article else label


def name_in_group(first_name: str, group: str) -> bool:
    female, male, _ = vocab.NAMES[group]
    return first_name in female or first_name in male


def occupation_head(text: str) -> str | None:
    """The word naming the brief's occupation ("keeper", "singer", "bakery" for "runs a bakery"), or None."""
    if match := RUNS_A_PLACE.search(text):
        return vocab.fold(match.group(1)).lower().split()[-1]
    return next((token for token in tokens_of(text) if token in vocab.OCCUPATION_WORDS), None)


def content_words(text: str) -> list[str]:
    """The words of four letters or more that are not stopwords, lower-cased, accents off."""
    words = (m.group(0).lower().strip("'’-") for m in _WORD.finditer(vocab.fold(text)))
    return [w for w in words if len(w) >= 4 and re.split(r"['’]", w)[0] not in vocab.STOPWORDS]


def voice_energy(text: str) -> tuple[float, int]:
    """How energetic a voice description reads (0..1), and how many cue words that judgement rests on."""
    text = vocab.fold(text).lower()
    high = sum(cue in text for cue in vocab.HIGH_ENERGY)
    low = sum(cue in text for cue in vocab.LOW_ENERGY)
    return min(1.0, max(0.0, 0.5 + 0.2 * (high - low))), high + low


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
        """Where the brief puts the persona (brief_place): a known place, an unknown one's name, a culture's country."""
        return brief_place(self.text)

    @cached_property
    def gender(self) -> str | None:
        """"f", "m", "n" (they) or None: the persona's pronouns and the gender of its name."""
        return brief_gender(self.text)

    @cached_property
    def traits(self) -> list[Trait]:
        """The temperament the brief states outright ("shy", "apologizes"): every layer honours it."""
        return explicit_traits(self.text)

    @cached_property
    def temperament_words(self) -> set[str]:
        """The brief's words, less those that also describe things and here do not describe the persona ("the cold sea")."""
        return (self.lower - AMBIGUOUS_WORDS) | {trait.word for trait in self.traits}

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
        if match := RUNS_A_PLACE.search(self.text):
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
