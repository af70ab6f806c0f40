"""Prompt builders for the six steps. Each prompt carries the brief and every earlier layer
(the constraint chain) in labelled sections, and the step's JSON schema. No Django.
"""

import json
from functools import cache

from pipeline.schemas import STEP_OUTPUT
from studio.llm.sections import SECTION, parse_sections  # noqa: F401  (the offline engine reads these prompts back)

STEPS = ("intent_parse", "soul_draft", "self_enrich", "mask_build", "surface_ground", "audit")
NAMES_IN_USE = "names in use"  # the surface step's section: other personas' names in the org, which the new name must avoid
MAX_NAMES_IN_USE = 300  # a bound on the prompt; the name is made unique again when the persona is saved
STOP_SEQUENCES = ("\nUser:", "\nAssistant:", "\n\nUser:", "\n\nAssistant:")

INSTRUCTIONS = {
    "intent_parse": (
        "Read the brief and extract what it implies: genre hints (a few words each), the locale the persona "
        "lives in (a place or culture named or implied by the brief; 'unspecified' if none), and up to six "
        "tonal axes as numbers from 0 to 1. Do not invent a character yet."
    ),
    "soul_draft": (
        "Draft the Soul: the persona's deepest desire, fear, wound and growth arc. Ground every field in the "
        "brief's own words and the intent. Be specific: a concrete event for the wound, a direction for the arc."
    ),
    "self_enrich": (
        "Build the Self on top of the Soul: Big Five traits as numbers from 0 to 1, an archetype, 3–5 values and "
        "an attachment style. The traits must follow from the soul: a soul that wants to be seen as ordinary "
        "cannot have extraversion 0.95; a soul that fears losing control is conscientious."
    ),
    "mask_build": (
        "Build the Mask, the persona's social surface, constrained by soul and self: voice (register, rhythm, "
        "vocabulary), tone, 2–5 signature phrases the persona would really say, and their social role. An "
        "introvert does not get a booming voice."
    ),
    "surface_ground": (
        "Ground the Surface last, from the inner layers outward rather than from a demographic cliché: name, "
        "age, location (consistent with the intent's locale), occupation and appearance. Honour what the brief says "
        "outright (pronouns, place, occupation), and give a name that is not under 'names in use' (other personas "
        "of the same organization), if that section is present."
    ),
    "audit": (
        "Audit the whole persona as a strict judge. Score coherence (layers agree with each other), depth, "
        "cultural_fidelity (to the brief's locale), voice_distinctiveness and realism from 0 to 5, then overall "
        "(0–5). In notes, name concrete problems to fix."
    ),
}

# Which earlier results each step sees, in order.
CONTEXT = {
    "intent_parse": (),
    "soul_draft": ("intent",),
    "self_enrich": ("intent", "soul"),
    "mask_build": ("intent", "soul", "self"),
    "surface_ground": ("intent", "soul", "self", "mask"),
    "audit": ("intent", "soul", "self", "mask", "surface"),
}


# A card or fork run (PipelineRun.seed) shows every step the sections it starts from, as the authority.
KEEP_WORDS = (
    "The sections {names} come first: keep their words. Where they say something about the persona, your fields must "
    "say the same or leave it to them; nothing you write may contradict them. Fill in only what they leave open."
)


def _escaped(text: str) -> str:
    """Text from outside (a brief, a card) cannot open a section of its own."""
    return ("\n" + text).replace("\n" + SECTION, "\n " + SECTION)[1:]


@cache
def _schema(step: str) -> str:
    return json.dumps(STEP_OUTPUT[step].model_json_schema(), separators=(",", ":"))


def build_messages(step: str, *, brief: str, context: dict[str, dict], attempt: int = 1, feedback: str = "",
                   names_in_use: list[str] | tuple[str, ...] = (), seed_sections: dict[str, str] | None = None) -> list[dict]:
    """Chat messages for one step. `context` holds the earlier results by name (intent, soul, self, mask, surface);
    `names_in_use` (the surface step only) the names the new persona's must differ from; `seed_sections` what a card
    or fork run starts from (the character card, the parent's layers and the fork note), which every step keeps."""
    seed_sections = seed_sections or {}
    keep = f"\n{KEEP_WORDS.format(names=', '.join(repr(n) for n in seed_sections))}" if seed_sections else ""
    system = (
        f"You are the {step} stage of Persona Studio's persona pipeline. {INSTRUCTIONS[step]}{keep}\n"
        f"Reply with exactly one JSON object matching this JSON Schema, and nothing else:\n{_schema(step)}"
    )
    sections = [f"{SECTION}step: {step}", f"{SECTION}attempt: {attempt}", f"{SECTION}brief\n{_escaped(brief)}"]
    sections += [f"{SECTION}{name}\n{_escaped(text)}" for name, text in seed_sections.items()]
    for name in CONTEXT[step]:
        if name in context:
            sections.append(f"{SECTION}{name}\n{json.dumps(context[name], ensure_ascii=False)}")
    if step == "surface_ground" and names_in_use:
        sections.append(f"{SECTION}{NAMES_IN_USE}\n{json.dumps(list(names_in_use)[:MAX_NAMES_IN_USE], ensure_ascii=False)}")
    if feedback:
        sections.append(f"{SECTION}audit feedback\n{feedback}")
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n\n".join(sections)}]
