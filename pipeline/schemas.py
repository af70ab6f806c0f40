"""Each step's output schema (the intent, the four layers, the audit) and strict parsing. No Django."""

import json
import re

from pydantic import BaseModel, Field, ValidationError, field_validator

from personas.layers import LAYERS, Mask, SelfLayer, Short, Soul, Strict, Surface, validate_layer  # noqa: F401

Score = Field(ge=0.0, le=5.0)


class Intent(Strict):
    genre_hints: list[str] = Field(min_length=1, max_length=6)
    locale: str = Short
    tonal_axes: dict[str, float] = Field(min_length=1, max_length=6, description="axis name → 0..1 (e.g. warmth: 0.8)")

    @field_validator("tonal_axes")
    @classmethod
    def _axes_in_unit_range(cls, axes):
        for axis, value in axes.items():
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"tonal axis {axis!r} must be between 0 and 1")
        return axes


AUDIT_CRITERIA = ("coherence", "depth", "cultural_fidelity", "voice_distinctiveness", "realism")


class Audit(Strict):
    coherence: float = Score
    depth: float = Score
    cultural_fidelity: float = Score
    voice_distinctiveness: float = Score
    realism: float = Score
    overall: float = Score
    notes: str = Field(default="", max_length=2000)

    @property
    def scores(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in AUDIT_CRITERIA}


STEP_OUTPUT = {
    "intent_parse": Intent,
    "soul_draft": Soul,
    "self_enrich": SelfLayer,
    "mask_build": Mask,
    "surface_ground": Surface,
    "audit": Audit,
}
STEP_LAYER = {"soul_draft": "soul", "self_enrich": "self", "mask_build": "mask", "surface_ground": "surface"}

_FENCE = re.compile(r"^```(?:json)?\s*(.*?)\s*```$", re.DOTALL)


class InvalidOutput(ValueError):
    """The model's text is not a valid document for its step."""


def parse_json_object(text: str) -> dict:
    """One JSON object, optionally inside a ```json fence; nothing else around it."""
    body = text.strip()
    if match := _FENCE.match(body):
        body = match.group(1)
    try:
        value = json.loads(body)
    except json.JSONDecodeError as exc:
        raise InvalidOutput(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(value, dict):
        raise InvalidOutput(f"expected a JSON object, got {type(value).__name__}")
    return value


def parse_step_output(step: str, text: str) -> BaseModel:
    schema = STEP_OUTPUT[step]
    try:
        return schema.model_validate(parse_json_object(text))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or step}: {e['msg']}" for e in exc.errors()[:6])
        raise InvalidOutput(f"{step} output does not match its schema: {problems}") from None

