"""The schema module alone: pure Python, no database."""

import uuid

import pytest

from studio.config import schema


def no_models(name, mode):
    return None


def test_form_text_reads_back_as_the_keys_type():
    assert schema.require("engine.pipeline.audit.max_retries").parse_text("4") == 4
    assert schema.require("engine.pipeline.audit.min_overall_score").parse_text("3.75") == 3.75
    assert schema.require("engine.pipeline.audit.enabled").parse_text("false") is False
    assert schema.require("engine.pipeline.audit.fallbacks").parse_text("a/b, c/d ,") == ["a/b", "c/d"]
    weights = schema.require("reviews.axis_weights").parse_text('{"in_character": 1, "protocol_adherent": 0, "closure_complete": 0}')
    assert weights["in_character"] == 1


def test_text_that_is_not_a_number_names_the_key():
    with pytest.raises(schema.SchemaError, match="engine.pipeline.audit.max_retries"):
        schema.require("engine.pipeline.audit.max_retries").parse_text("many")


def test_bounds_read_as_people_write_them():
    assert schema.require("engine.pipeline.soul_draft.temperature").bounds == "0–2"
    assert schema.require("engine.pipeline.soul_draft.max_tokens").bounds == "1–200000"
    assert schema.require("training.defaults.top_p").bounds == "> 0 and ≤ 1"
    assert schema.require("engine.pipeline.soul_draft.model").bounds == ""


def test_integers_stay_integers_and_numbers_become_floats():
    assert schema.validate("engine.pipeline.audit.min_overall_score", 4, no_models) == 4.0
    with pytest.raises(schema.SchemaError, match="integer"):
        schema.validate("engine.pipeline.audit.max_retries", 2.0, no_models)
    with pytest.raises(schema.SchemaError, match="finite"):
        schema.validate("engine.pipeline.audit.min_overall_score", float("nan"), no_models)


def test_per_persona_keys_exist_only_for_a_canonical_uuid():
    persona = uuid.uuid4()
    spec = schema.lookup(schema.persona_weights_key(persona))
    assert spec is not None and spec.inherits == "reviews.axis_weights"
    assert schema.lookup(f"reviews.persona.{str(persona).upper()}.axis_weights") is None
    assert schema.lookup("x" * 300) is None


def test_the_model_check_decides_model_names():
    def only_offline(name, mode):
        return None if name.startswith("offline/") else f"unknown model '{name}'"

    assert schema.validate("engine.pipeline.audit.fallbacks", ["offline/a"], only_offline) == ["offline/a"]
    with pytest.raises(schema.SchemaError, match="unknown model 'x/y'"):
        schema.validate("engine.pipeline.audit.fallbacks", ["offline/a", "x/y"], only_offline)
