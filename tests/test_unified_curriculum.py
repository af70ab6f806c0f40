"""The unified adapter's curriculum (training_jobs.curriculum): phases, their validation, and the rows each trains on."""

import pytest

from training_jobs.backends.trl_backend import TRLConfig
from training_jobs.categories import CATEGORIES
from training_jobs.composition import DEFAULT_COMPOSITION, sample_mix
from training_jobs.curriculum import (
    DEFAULT_PHASES, UNIFIED_DEFAULTS, Phase, coverage_warnings, empty_phases, parse_curriculum, phase_rows,
)


def phase(**overrides) -> dict:
    return {"name": "foundation", "categories": ["technical"], "learning_rate": 2e-5, "epochs": 1} | overrides


def mix_ids() -> dict[str, list[int]]:
    data = {c: list(range(CATEGORIES.index(c) * 1000, CATEGORIES.index(c) * 1000 + 500)) for c in CATEGORIES}
    return sample_mix(data, DEFAULT_COMPOSITION, 400, seed=1).ids_by_category()


# --- defaults ------------------------------------------------------------------------------------


def test_the_default_curriculum_is_the_issue_s_five_phases():
    assert [(p.name, p.categories, p.learning_rate, p.epochs) for p in DEFAULT_PHASES] == [
        ("foundation", ("technical", "instructional", "factual"), 2e-5, 1),
        ("analytical", ("analytical", "tool", "ethical"), 1.5e-5, 1),
        ("empathic+creative", ("empathetic", "creative", "conversational"), 1e-5, 1),
        ("mixed", ("all",), 5e-6, 1),
        ("fine-tuning", ("all",), 3e-6, 1),
    ]


def test_the_learning_rate_falls_phase_by_phase():
    rates = [p.learning_rate for p in DEFAULT_PHASES]
    assert rates == sorted(rates, reverse=True) and len(set(rates)) == len(rates)


def test_every_default_category_of_the_mix_is_trained_in_a_named_phase():
    named = {c for p in DEFAULT_PHASES if not p.covers_all for c in p.categories}
    assert named == set(DEFAULT_COMPOSITION.active)


def test_the_shared_hyperparameters_are_the_issue_s():
    assert UNIFIED_DEFAULTS == {
        "lr_scheduler": "cosine", "warmup_ratio": 0.03, "max_grad_norm": 1.0, "lora_r": 32, "lora_alpha": 64,
        "lora_dropout": 0.05, "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
        "batch_size": 4, "grad_accum": 8,
    }


def test_a_phase_config_is_a_valid_trl_backend_config():
    config = TRLConfig.from_mapping(DEFAULT_PHASES[1].config({"output_dir": "/tmp/x"}))
    assert (config.learning_rate, config.epochs, config.lora_r, config.grad_accum, config.lr_scheduler) == (
        1.5e-5, 1, 32, 8, "cosine")


# --- parse_curriculum ----------------------------------------------------------------------------


def test_the_default_curriculum_round_trips():
    data = {"phases": [p.as_dict() for p in DEFAULT_PHASES]}
    assert parse_curriculum(data) == list(DEFAULT_PHASES)


def test_a_bare_list_of_phases_is_accepted_and_epochs_default_to_one():
    phases = parse_curriculum([{"name": "all at once", "categories": "all", "learning_rate": 1e-4}])
    assert phases == [Phase("all at once", ("all",), 1e-4, 1)]
    assert phases[0].covers_all and phases[0].category_set() == CATEGORIES


def test_categories_are_kept_in_the_order_given_but_trained_in_taxonomy_order():
    (parsed,) = parse_curriculum([phase(categories=["factual", "technical"])])
    assert parsed.categories == ("factual", "technical")
    assert parsed.category_set() == ("technical", "factual")


@pytest.mark.parametrize("data, message", [
    ({"phases": []}, "curriculum.phases: 1 to 10 phases, got 0"),
    ({"phases": [phase(name=f"p{i}") for i in range(11)]}, "curriculum.phases: 1 to 10 phases, got 11"),
    ({"phases": "foundation"}, "curriculum.phases: expected a list"),
    ({}, "curriculum.phases: expected a list"),
    ({"phases": [phase(), phase()]}, "curriculum.phases.1.name: 'foundation' is already the name of phase 0"),
    ({"phases": [phase(), phase(name="Foundation")]}, "curriculum.phases.1.name: 'Foundation' is already"),
    ({"phases": [phase(name="")]}, "curriculum.phases.0.name: 1 to 40 letters"),
    ({"phases": [phase(name="../etc")]}, "curriculum.phases.0.name: 1 to 40 letters"),
    ({"phases": [phase(name=7)]}, "curriculum.phases.0.name: 1 to 40 letters"),
    ({"phases": [phase(categories=[])]}, "curriculum.phases.0.categories: a non-empty list"),
    ({"phases": [phase(categories="technical")]}, "curriculum.phases.0.categories: a non-empty list"),
    ({"phases": [phase(categories=["cooking"])]}, "curriculum.phases.0.categories: unknown category 'cooking'"),
    ({"phases": [phase(categories=["all", "technical"])]}, "curriculum.phases.0.categories: \"all\" stands alone"),
    ({"phases": [phase(categories=["technical", "technical"])]}, "curriculum.phases.0.categories: a category is listed twice"),
    ({"phases": [phase(learning_rate=0)]}, "curriculum.phases.0.learning_rate: must be above 0"),
    ({"phases": [phase(learning_rate=-1e-5)]}, "curriculum.phases.0.learning_rate: must be above 0"),
    ({"phases": [phase(learning_rate=0.02)]}, "curriculum.phases.0.learning_rate: must be above 0 and at most 0.01"),
    ({"phases": [phase(learning_rate="fast")]}, "curriculum.phases.0.learning_rate: must be a number"),
    ({"phases": [phase(learning_rate=True)]}, "curriculum.phases.0.learning_rate: must be a number"),
    ({"phases": [phase(learning_rate=float("inf"))]}, "curriculum.phases.0.learning_rate: must be a number"),
    ({"phases": [phase(epochs=0)]}, "curriculum.phases.0.epochs: a whole number from 1 to 20"),
    ({"phases": [phase(epochs=21)]}, "curriculum.phases.0.epochs: a whole number from 1 to 20"),
    ({"phases": [phase(epochs=1.5)]}, "curriculum.phases.0.epochs: a whole number from 1 to 20"),
    ({"phases": [phase(epochs=True)]}, "curriculum.phases.0.epochs: a whole number from 1 to 20"),
    ({"phases": [phase(), phase(name="x", lr=1e-5)]}, "curriculum.phases.1.lr: unknown field"),
    ({"phases": [{"name": "x", "categories": ["technical"]}]}, "curriculum.phases.0.learning_rate: required"),
    ({"phases": ["foundation"]}, "curriculum.phases.0: expected an object"),
])
def test_an_invalid_curriculum_is_refused_naming_the_phase_and_field(data, message):
    with pytest.raises(ValueError) as error:
        parse_curriculum(data)
    assert str(error.value).startswith(message)


def test_the_bounds_themselves_are_allowed():
    phases = parse_curriculum([phase(name=f"p{i}", learning_rate=1e-2, epochs=20) for i in range(10)])
    assert len(phases) == 10 and phases[0].learning_rate == 1e-2 and phases[0].epochs == 20


# --- phase_rows ----------------------------------------------------------------------------------


def test_a_phase_trains_on_exactly_the_mix_rows_of_its_categories():
    ids = mix_ids()
    rows = phase_rows(DEFAULT_PHASES, ids, seed=0)
    assert len(rows) == len(DEFAULT_PHASES)
    foundation = {i for c in ("technical", "instructional", "factual") for i in ids[c]}
    assert sorted(rows[0]) == sorted(foundation)
    assert sorted(rows[2]) == sorted(i for c in ("empathetic", "creative", "conversational") for i in ids[c])


def test_an_all_phase_trains_on_every_mix_row_shuffled():
    ids = mix_ids()
    every = sorted(i for rows in ids.values() for i in rows)
    rows = phase_rows(DEFAULT_PHASES, ids, seed=0)
    assert sorted(rows[3]) == sorted(rows[4]) == every
    assert rows[3] != every and rows[3] != rows[4]  # shuffled, and not in one repeated order


def test_phase_rows_are_deterministic_for_a_seed():
    ids = mix_ids()
    assert phase_rows(DEFAULT_PHASES, ids, seed=3) == phase_rows(DEFAULT_PHASES, ids, seed=3)
    assert phase_rows(DEFAULT_PHASES, ids, seed=3)[3] != phase_rows(DEFAULT_PHASES, ids, seed=4)[3]


def test_the_named_phases_together_cover_the_whole_default_mix_once():
    ids = mix_ids()
    named = [i for rows in phase_rows(DEFAULT_PHASES[:3], ids) for i in rows]
    assert sorted(named) == sorted(i for rows in ids.values() for i in rows)


# --- empty phases and coverage -------------------------------------------------------------------


def test_a_phase_with_no_rows_in_the_mix_is_an_error():
    counts = dict.fromkeys(CATEGORIES, 10) | {"empathetic": 0, "creative": 0, "conversational": 0}
    issues = empty_phases(DEFAULT_PHASES, counts)
    assert [(i.level, str(i)) for i in issues] == [
        ("error", "curriculum.phases.2.categories: no rows in the mix for empathetic, creative, conversational: "
                  "phase 'empathic+creative' would train on nothing")]


def test_empty_phases_take_the_mix_ids_as_well_as_counts():
    ids = mix_ids() | {"tool": [], "analytical": [], "ethical": []}
    assert [i["field"] for i in empty_phases(DEFAULT_PHASES, ids)] == ["curriculum.phases.1.categories"]
    assert coverage_warnings(DEFAULT_PHASES, mix_ids()) == []


def test_an_all_phase_is_empty_only_when_the_mix_is():
    assert empty_phases(DEFAULT_PHASES, {"technical": 1}) != []
    issues = empty_phases(DEFAULT_PHASES, {})
    assert [str(i).split(":")[0] for i in issues] == [f"curriculum.phases.{i}.categories" for i in range(5)]
    assert "no rows in the mix for any category" in str(issues[3])


def test_a_full_mix_has_no_empty_phases_and_no_coverage_warnings():
    counts = DEFAULT_COMPOSITION.allocate(1000)
    assert empty_phases(DEFAULT_PHASES, counts) == []
    assert coverage_warnings(DEFAULT_PHASES, counts) == []


def test_a_phase_missing_some_of_its_categories_is_a_warning():
    counts = DEFAULT_COMPOSITION.allocate(1000) | {"tool": 0}
    assert [str(i) for i in coverage_warnings(DEFAULT_PHASES, counts)] == [
        "curriculum.phases.1.categories: no rows in the mix for tool: phase 'analytical' trains on the rest only"]


def test_mix_rows_no_phase_trains_on_are_a_warning():
    phases = parse_curriculum([phase()])
    warnings = coverage_warnings(phases, {"technical": 5, "creative": 7, "ethical": 3})
    assert [str(i) for i in warnings] == ["curriculum.phases: no phase trains on creative, ethical (10 mix rows unused)"]
