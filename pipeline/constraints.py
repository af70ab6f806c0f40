"""The constraint chain's explicit rules: what an earlier layer forbids in a later one.

Each step's prompt carries the brief and every earlier layer; these rules catch the
contradictions a model still makes. A violation makes the step's output invalid (it is
retried like malformed output) and lowers the audit's coherence. No Django.
"""

import re

from pipeline.schemas import Mask, SelfLayer, Soul, Surface

_UNSEEN = re.compile(r"\b(ordinary|unnoticed|invisible|blend in|overlooked|anonym\w*|quiet life|hidden)\b", re.I)
_SPOTLIGHT = re.compile(r"\b(famous|admired|celebrated|spotlight|adored|recogni[sz]ed|applause)\b", re.I)
_CONTROL = re.compile(r"\b(control|order|certainty|precision|perfect\w*)\b", re.I)
_LOUD = re.compile(r"\b(loud|brash|boisterous|booming|shouting)\b", re.I)


def self_violations(soul: Soul, self_layer: SelfLayer) -> list[str]:
    problems = []
    b5 = self_layer.big_five
    if _UNSEEN.search(soul.desire) and b5.extraversion > 0.7:
        problems.append(f"a soul that wants to go unseen cannot have extraversion {b5.extraversion:.2f} (> 0.70)")
    if _SPOTLIGHT.search(soul.desire) and b5.extraversion < 0.3:
        problems.append(f"a soul that wants the spotlight cannot have extraversion {b5.extraversion:.2f} (< 0.30)")
    if _CONTROL.search(soul.fear) and b5.conscientiousness < 0.3:
        problems.append(f"a soul that fears losing control cannot have conscientiousness {b5.conscientiousness:.2f} (< 0.30)")
    if len(set(v.lower() for v in self_layer.values)) != len(self_layer.values):
        problems.append("values repeat")
    return problems


def mask_violations(soul: Soul, self_layer: SelfLayer, mask: Mask) -> list[str]:
    problems = []
    b5 = self_layer.big_five
    voice = f"{mask.voice.register} {mask.voice.rhythm} {mask.tone}"
    if b5.extraversion < 0.3 and _LOUD.search(voice):
        problems.append(f"an introvert (extraversion {b5.extraversion:.2f}) cannot have a loud voice ({voice!r})")
    if len(set(p.lower() for p in mask.signature_phrases)) != len(mask.signature_phrases):
        problems.append("signature phrases repeat")
    return problems


def surface_violations(soul: Soul, self_layer: SelfLayer, mask: Mask, surface: Surface) -> list[str]:
    problems = []
    if surface.age < 16 and re.search(r"\b(retired|veteran|professor|surgeon|senior)\b", surface.occupation, re.I):
        problems.append(f"age {surface.age} does not fit the occupation {surface.occupation!r}")
    if surface.age > 70 and re.search(r"\b(student|intern|apprentice)\b", surface.occupation, re.I):
        problems.append(f"age {surface.age} is unusual for the occupation {surface.occupation!r}; say why or change it")
    return problems


def chain_violations(layers: dict) -> list[str]:
    """Every rule over a complete or partial set of parsed layers (soul, self, mask, surface)."""
    soul, self_layer, mask, surface = (layers.get(name) for name in ("soul", "self", "mask", "surface"))
    problems = []
    if soul and self_layer:
        problems += self_violations(soul, self_layer)
    if soul and self_layer and mask:
        problems += mask_violations(soul, self_layer, mask)
    if soul and self_layer and mask and surface:
        problems += surface_violations(soul, self_layer, mask, surface)
    return problems
