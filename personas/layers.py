"""The four persona layers (Soul, Self, Mask, Surface): pydantic schemas, parsed strictly. No Django."""

import warnings
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Text = Field(min_length=3, max_length=800)
Short = Field(min_length=2, max_length=120)
Unit = Field(ge=0.0, le=1.0)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Soul(Strict):
    desire: str = Text
    fear: str = Text
    wound: str = Text
    growth_arc: str = Text


class BigFive(Strict):
    openness: float = Unit
    conscientiousness: float = Unit
    extraversion: float = Unit
    agreeableness: float = Unit
    neuroticism: float = Unit


class SelfLayer(Strict):
    big_five: BigFive
    archetype: str = Short
    values: list[str] = Field(min_length=2, max_length=7)
    attachment_style: Literal["secure", "anxious", "avoidant", "disorganized"]


# "register" is the domain word; shadowing BaseModel's ABC register() is harmless here.
warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)


class Voice(Strict):
    register: str = Short
    rhythm: str = Short
    vocabulary: str = Field(min_length=2, max_length=300)


class Mask(Strict):
    voice: Voice
    tone: str = Short
    signature_phrases: list[str] = Field(min_length=2, max_length=6)
    social_role: str = Short


class Surface(Strict):
    name: str = Short
    age: int = Field(ge=1, le=120)
    location: str = Short
    occupation: str = Short
    appearance: str = Text


LAYERS = {"soul": Soul, "self": SelfLayer, "mask": Mask, "surface": Surface}


def validate_layer(layer: str, data) -> BaseModel:
    """A layer as generated or edited by a person: the same schema either way."""
    return LAYERS[layer].model_validate(data)
