"""Issue 18, ML engineers: the launch forms start at Quick iteration with no persona picked for you, estimate the time
from measured throughput beside calls, tokens and cost, keep the plan and estimate on screen while a field is in error,
say what is wrong in plain words naming the field, admit "Custom (edited)", and explain the unified mix."""

import math
import re
from datetime import timedelta

import pytest
from django.utils import timezone
from pydantic import ValidationError

from training_jobs.composition import DEFAULT_RANGES, mix_explanation, parse_composition, sample_mix
from training_jobs.models import StageRun
from training_jobs.params import LaunchParams, validation_errors
from training_jobs.presets import QUICK_ITERATION
from training_jobs.throughput import TINY_REPLY_S, TINY_STEP_S, TYPICAL_CALLS_PER_S, duration_words
from tests.test_training_pages import form_post, make_job


def selected(page: str, name: str) -> str:
    select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
    match = re.search(r'<option value="([^"]*)" selected>([^<]*)<', select)
    return match.groups() if match else ("", "")


def test_a_new_launch_form_starts_at_quick_iteration_with_no_persona_picked(persona, tenant, client_for):
    page = client_for(tenant.user("editor")).get("/o/acme/training/new/").content.decode()
    assert selected(page, "preset") == ("quick", "Quick iteration")
    assert re.search(r'name="dpo_pairs" value="48"', page) and QUICK_ITERATION.dpo_pairs == 48
    assert selected(page, "persona_id") == ("", "Choose a persona…")


def test_a_persona_asked_for_in_the_link_is_chosen(persona, tenant, client_for):
    page = client_for(tenant.user("editor")).get(f"/o/acme/training/new/?persona={persona.public_id}").content.decode()
    assert selected(page, "persona_id")[0] == str(persona.public_id)
    assert 'data-testid="estimate-time"' in page


def test_validator_messages_read_as_plain_words_naming_the_field():
    values = {"persona_id": "6b1f0d8e-1c2a-4b7e-9a53-8c4e7f7f0a11", **{k: v for k, v in QUICK_ITERATION.values().items()}}
    values.update(teacher_model="offline/teacher", student_model="offline/student", max_length=256, sft_max_length=384,
                  learning_rate="5", dpo_pairs="many", epochs="")
    values = {k: v for k, v in values.items() if k in LaunchParams.model_fields}
    with pytest.raises(ValidationError) as caught:
        LaunchParams.model_validate(values)
    messages = {issue["field"]: issue["message"] for issue in validation_errors(caught.value)}
    assert messages["learning_rate"] == "must be at most 1 (you entered 5)"
    assert messages["dpo_pairs"] == "must be a whole number (you entered many)"
    assert messages["epochs"] == "is required"


def test_with_a_field_in_error_the_plan_and_estimate_stay_and_the_field_is_named(persona, tenant, client_for):
    response = client_for(tenant.user("editor")).post("/o/acme/training/new/preflight/", form_post(persona, learning_rate="5"))
    page = response.content.decode()
    assert '<strong>Learning rate</strong>: must be at most 1 (you entered 5)' in page
    assert 'data-field="learning_rate"' in page  # the form highlights the field it names
    assert 'data-testid="stage-plan"' in page and 'data-testid="estimate"' in page and 'data-testid="estimate-time"' in page
    assert "fields in error are counted at their defaults" in page
    assert "No problems found" not in page


def test_a_post_with_an_error_highlights_the_field_and_launches_nothing(persona, tenant, client_for):
    response = client_for(tenant.user("editor")).post("/o/acme/training/new/", form_post(persona, learning_rate="5"))
    assert response.status_code == 422
    page = response.content.decode()
    assert re.search(r'name="learning_rate" value="5" data-testid="field-learning_rate" aria-invalid="true"', page)


def test_the_time_is_typical_until_a_job_has_measured_the_throughput(persona, tenant, client_for):
    from training_jobs.services import training_job_preflight
    from studio.principal import Principal
    from training_jobs.launch_form import form_data

    principal = Principal.from_membership(tenant.membership("editor"))
    data = form_data(dict(form_post(persona)))
    report = training_job_preflight(principal=principal, data=data)
    timing, params, estimate = report.estimate["time"], report.params, report.estimate
    # Independently: DPO steps per epoch + SFT steps per epoch over reflections and interactions, no smoke run; the
    # tiny test model writes no introspection (the teacher does) and answers the evaluation's 8 × 3 × 2 in milliseconds.
    steps = math.ceil(12 / 4) + math.ceil((10 + 2) / 4)
    assert params.smoke_test == "none" and params.student_checkpoint == "tiny" and timing["steps"] == steps
    assert timing["calls_per_s"] == TYPICAL_CALLS_PER_S["offline"] and "typical" in timing["calls_source"]
    assert timing["replies"] == 48 and "tiny test model" in timing["steps_source"]
    assert timing["seconds"] == round(estimate["calls"] / 40.0 + steps * TINY_STEP_S + 48 * TINY_REPLY_S)

    # A finished job measured 2 calls/s with this teacher and 0.5 steps/s on trl with this checkpoint: the estimate follows.
    job = make_job(persona)
    start = timezone.now() - timedelta(hours=1)
    StageRun.objects.filter(job=job).delete()
    StageRun.objects.create(job=job, stage="dpo_data", position=1, status=StageRun.Status.COMPLETED, done=120, total=120, unit="calls",
                            started_at=start, finished_at=start + timedelta(seconds=60))
    StageRun.objects.create(job=job, stage="dpo_train", position=2, status=StageRun.Status.COMPLETED, done=30, total=30, unit="steps",
                            started_at=start, finished_at=start + timedelta(seconds=60))
    report = training_job_preflight(principal=principal, data=data)
    timing = report.estimate["time"]
    assert timing["calls_per_s"] == 2.0 and timing["steps_per_s"] == 0.5
    assert timing["calls_source"] == "measured on 1 earlier job with offline/teacher"
    assert timing["seconds"] == round(report.estimate["calls"] / 2 + steps / 0.5 + 48 * TINY_REPLY_S)


def test_a_pretrained_student_is_estimated_at_its_own_pace_not_the_tiny_model_s(persona, tenant):
    """The Quick iteration on SmolLM2 took 449 s in the bench; the estimate used to say 64 s (tiny's step time, the
    student's answers at the offline teacher's rate, and nothing for the replies the checkpoint writes itself)."""
    from studio.principal import Principal
    from training_jobs.launch_form import form_data
    from training_jobs.presets import QUICK_ITERATION
    from training_jobs.services import training_job_preflight

    principal = Principal.from_membership(tenant.membership("editor"))
    quick = {k: str(v) for k, v in QUICK_ITERATION.values().items()}
    data = form_data(dict(form_post(persona, **quick, preset="quick", smoke_test="none", student_checkpoint="smollm2-135m-instruct",
                                    student_model="local/smollm2-135m-instruct")))
    report = training_job_preflight(principal=principal, data=data)
    timing, p, estimate = report.estimate["time"], report.params, report.estimate
    sizes = p.sizes
    steps = math.ceil(sizes["dpo_pairs"] / p.batch_size) + math.ceil((sizes["reflections"] + sizes["interactions"]) / p.batch_size)
    introspection = sizes["reflections"] + sizes["interactions"] * (sizes["interaction_turns"] - 1)  # after each opener
    expected = ((estimate["teacher_calls"] - introspection) / 40.0 + estimate["student_calls"] / 1.0  # local answers ~1/s
                + steps * 6.0 + introspection * 3.1 + 48 * 1.4)
    assert timing["steps"] == steps and timing["replies"] == introspection + 48
    assert timing["seconds"] == round(expected) and "pretrained" in timing["steps_source"]
    assert 300 <= timing["seconds"] <= 700  # the bench's 449 s, within a factor of 1.5


def test_durations_read_in_the_unit_that_fits():
    assert [duration_words(s) for s in (40, 600, 12_000)] == ["≈ 40 s", "≈ 10 min", "≈ 3 h 20 min"]


def test_editing_a_preset_field_makes_the_select_say_custom_edited(persona, tenant, client_for):
    quick = {k: str(v) for k, v in QUICK_ITERATION.values().items()}
    post = form_post(persona, preset="quick", **{k: quick[k] for k in ("dpo_pairs", "reflections", "interactions", "interaction_turns",
                                                                         "lora_rank", "lora_alpha", "batch_size", "epochs")},
                     learning_rate=quick["learning_rate"], dpo_beta="0.1", nll_coef="0.1", temperature="0.7", top_p="0.95",
                     max_length=quick["max_length_dpo"], sft_max_length=quick["max_length_sft"], max_new_tokens=quick["max_new_tokens"],
                     lora_layers="0")
    client = client_for(tenant.user("editor"))
    page = client.post("/o/acme/training/new/fields/", post).content.decode()
    assert selected(page, "preset") == ("quick", "Quick iteration")
    page = client.post("/o/acme/training/new/fields/", {**post, "dpo_pairs": "60"}).content.decode()
    assert selected(page, "preset") == ("custom", "Custom (edited)")
    assert re.search(r'name="dpo_pairs" value="60" data-testid="field-dpo_pairs"\s+data-preset-field', page)


def test_the_mix_explains_why_it_uses_fewer_rows_than_the_datasets_hold():
    composition = parse_composition({"technical": 40, "ethical": 30, "creative": 30})
    counts = {"technical": 500, "ethical": 90, "creative": 300, "factual": 14}
    mix = sample_mix({c: list(range(n)) for c, n in counts.items()}, composition, None, seed=1)
    # ethical's 90 rows at 30 % carry about 300 rows in all (one or two more where rounding allows).
    assert 300 <= mix.total <= 302
    text = mix_explanation(composition, counts, mix.total, None)
    assert text.startswith(f"The mix uses {mix.total} of the 904 rows because ethical has only 90 rows and is to be 30% of the mix")
    assert text.endswith("(14 rows are in categories with no share.)")
    assert mix_explanation(composition, counts, 100, 100).startswith("The mix uses 100 of the 904 rows because “Total rows” asks for 100.")


def test_the_unified_form_says_why_three_defaults_sit_below_their_ranges(tenant, client_for):
    page = client_for(tenant.user("editor")).get("/o/acme/training/unified/new/").content.decode()
    assert "The reference ranges are the issue's" not in page and "add up to 103 %" in page
    assert sum(low for low, _ in DEFAULT_RANGES.values()) == 103
    assert len(re.findall(r'class="below"[^>]*>1 below<', page)) == 3


def test_the_unified_estimate_has_a_time_from_its_steps_and_judge_calls(tenant):
    from studio.principal import Principal
    from tests.test_unified_jobs import QUICK, make_dataset
    from training_jobs.unified import unified_preflight

    dataset = make_dataset(tenant.org)
    owner = Principal.from_membership(tenant.membership("owner"))
    report = unified_preflight(principal=owner, data={"dataset_ids": [str(dataset.public_id)], **QUICK})
    estimate = report["estimate"]
    # Independently: no earlier job measured anything, so the typical step time; the offline judge makes no calls.
    assert estimate["judge_calls"] == 0 and estimate["time"]["steps"] == sum(estimate["steps"])
    assert estimate["time"]["seconds"] == round(sum(estimate["steps"]) * TINY_STEP_S)
    assert estimate["time_words"] == duration_words(estimate["time"]["seconds"])


def test_the_unified_page_keeps_its_mix_and_estimate_while_a_field_is_in_error(tenant):
    from studio.principal import Principal
    from tests.test_unified_jobs import QUICK, make_dataset
    from training_jobs.unified import unified_preflight
    from training_jobs.unified_views import unified_page_preflight

    dataset = make_dataset(tenant.org)
    owner = Principal.from_membership(tenant.membership("owner"))
    data = {"dataset_ids": [str(dataset.public_id)], **QUICK, "lora_rank": 0}
    report = unified_page_preflight(owner, data)
    assert [e["field"] for e in report["errors"]] == ["lora_rank"] and report["errors"][0]["message"] == "must be at least 1 (you entered 0)"
    assert report["mix"]["total"] == 100 and report["estimate"]["time_words"] and "counted at their defaults" in report["estimate_note"]
    assert not report["ok"]
    assert unified_preflight(principal=owner, data=data)["mix"] is None  # the API answers no mix for invalid values
