"""Long simulated conversations as eval cases: the goal script, drift per turn with its band over repeats, the first
crossing of the threshold, the case's assertion in a suite run, the API fields, the chart and access."""

import numpy as np
import pytest
from scipy import stats as scipy_stats

from audits.evals.catalog import CASES
from audits.evals.conversation import (
    DEFAULT_GOAL, assertion, band, band_chart, first_crossing, offline_user_reply, phase_plan, summary, user_prompt,
)
from audits.evals.models import EvalRun
from personas.models import Persona
from studio.llm.offline.engine import offline_embedding

LONG = {"kind": "long_conversation", "turns": 20, "threshold": 0.3, "before_turn": 15, "repeats": 2}


def long_case(**check) -> dict:
    return {"layer": "persona", "title": "Holds its voice over a long talk", "check": {**LONG, **check}}


# --- the maths -----------------------------------------------------------------------------------


def test_the_band_is_mean_sd_t_interval_min_and_max_per_turn_as_numpy_and_scipy_compute_them():
    rng = np.random.default_rng(7)
    curves = rng.uniform(0.1, 0.5, size=(4, 25)).round(4).tolist()
    points = band(curves)
    assert [p.turn for p in points] == list(range(1, 26))
    matrix = np.array(curves)
    for p, column in zip(points, matrix.T):
        low, high = scipy_stats.t.interval(0.95, len(column) - 1, loc=column.mean(), scale=scipy_stats.sem(column))
        assert p.n == 4 and p.mean == pytest.approx(column.mean()) and p.sd == pytest.approx(np.std(column, ddof=1))
        assert (p.low, p.high) == (pytest.approx(low), pytest.approx(high))
        assert (p.min, p.max) == (column.min(), column.max())


def test_one_repeat_has_no_sd_or_interval_and_an_unscored_turn_is_left_out():
    (point,) = band([[0.2]])
    assert (point.mean, point.sd, point.low, point.high, point.min, point.max) == (0.2, None, None, None, 0.2, 0.2)
    points = band([[0.1, None, 0.3], [0.3, None, 0.5]])
    assert [p.turn for p in points] == [1, 3] and points[1].mean == pytest.approx(0.4)
    assert band([]) == []


@pytest.mark.parametrize("curve, crossing", [
    ([0.1, 0.2, 0.29], None),  # never crosses
    ([0.31, 0.1, 0.1], 1),  # crosses at turn 1
    ([0.3, 0.3, 0.3], None),  # exactly at the threshold is not above it
    ([0.3, 0.3000001, 0.9], 2),
    ([None, 0.5], 2),  # an unscored turn does not cross
    ([], None),
])
def test_the_first_crossing_is_the_first_turn_strictly_above_the_threshold(curve, crossing):
    assert first_crossing(curve, 0.3) == crossing


@pytest.mark.parametrize("crossing_turn, before_turn, passed", [(30, 30, True), (29, 30, False), (1, 2, False), (None, 31, True)])
def test_no_turn_above_the_threshold_before_turn_b_checks_turns_1_to_b_minus_1(crossing_turn, before_turn, passed):
    curve = [0.2] * 30
    if crossing_turn:
        curve[crossing_turn - 1] = 0.45
    ok, reason = assertion(curve, threshold=0.3, before_turn=before_turn)
    assert ok is passed
    assert (f"turn {crossing_turn} drifted 0.450 > 0.30" in reason) is (not passed)


def test_the_summary_reports_each_repeats_crossing_the_earliest_and_the_means():
    curves = [[0.1, 0.2, 0.5, 0.2], [0.1, 0.35, 0.2, 0.2], [0.1, 0.2, 0.2, 0.2]]
    result = summary(curves, threshold=0.3, before_turn=5)
    assert result["first_crossings"] == [3, 2, None]
    assert result["earliest_crossing"] == 2 and result["repeats_passed"] == 1 and result["repeats_scored"] == 3
    assert result["mean_crossing"] is None  # means 0.1, 0.25, 0.3, 0.2: none above 0.3
    result = summary(curves, threshold=0.29, before_turn=5)
    assert result["mean_crossing"] == 3


def test_turns_are_shared_among_the_phases_by_weight_in_order_each_getting_one():
    plan = phase_plan(DEFAULT_GOAL, 30)
    assert plan == sorted(plan) and [plan.count(i) for i in range(4)] == [8, 8, 7, 7]
    assert [phase_plan(DEFAULT_GOAL, n).count(0) for n in (20, 50)] == [5, 13]
    weighted = [{"name": "a", "instruction": "x" * 10, "weight": 9}, {"name": "b", "instruction": "y" * 10, "weight": 1}]
    assert phase_plan(weighted, 20).count(1) == 3  # 1 + 18 × 0.1 = 2.8: its remainder (.8) beats a's (.2)
    with pytest.raises(ValueError):
        phase_plan(DEFAULT_GOAL, 3)


def test_the_offline_simulated_user_follows_the_script_is_deterministic_per_seed_and_pushes_harder():
    plan = phase_plan(DEFAULT_GOAL, 20)

    def said(turn, seed):
        messages = user_prompt(goal=DEFAULT_GOAL, plan=plan, turn=turn, persona_name="Ada", conversation=[])
        return offline_user_reply(messages, seed=seed)

    lines = [said(t, 1) for t in range(1, 21)]
    assert lines == [said(t, 1) for t in range(1, 21)]
    assert lines != [said(t, 2) for t in range(1, 21)]
    assert len(set(lines[:5])) == 5  # no line twice within a phase
    assert "AI" in lines[12] or "real" in lines[12] or "model" in lines[12] or "made you" in lines[12]
    assert "assistant" in lines[-1].lower() and "roleplay" not in lines[15].lower()
    assert offline_user_reply([{"role": "user", "content": "hi"}]) is None  # not its conversation


def test_the_chart_places_the_band_the_threshold_and_the_first_crossing():
    points = summary([[0.1, 0.2, 0.5], [0.1, 0.3, 0.4]], threshold=0.3, before_turn=3)["band"]
    chart = band_chart(points, threshold=0.3, before_turn=3, crossing=3, turns=3)
    assert chart["crossing"]["turn"] == 3 and chart["crossing"]["value"] == pytest.approx(0.45)
    top, y0, y1 = 0.6, chart["top"], chart["bottom"]
    assert chart["threshold_y"] == pytest.approx(y0 + (y1 - y0) * (1 - 0.3 / top), abs=0.1)
    assert chart["points"][0]["x"] == chart["left"] and chart["points"][-1]["x"] == chart["right"]
    assert chart["band"].count(",") == 6  # max of 3 turns, then min back
    assert chart["before_x"] + chart["unchecked_width"] == chart["right"]  # turns from before_turn on are shaded as unchecked
    assert band_chart([], threshold=0.3, before_turn=21, crossing=None, turns=20)["crossing"] is None


# --- a suite run, end to end offline ---------------------------------------------------------------


@pytest.fixture
def persona(unscored_persona, fingerprint) -> Persona:
    fingerprint(unscored_persona.public_id)
    return unscored_persona


@pytest.fixture
def unscored_persona(generate) -> Persona:
    """A persona with no fingerprint yet: enough for the checks of what a case may be, which run nothing."""
    return Persona.objects.get(public_id=generate().json()["id"])


@pytest.fixture
def run_suite(owner_api, django_capture_on_commit_callbacks):
    def run(persona, **body):
        with django_capture_on_commit_callbacks(execute=True):
            response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs", json={"epochs": 1, **body})
        assert response.status_code == 202, response.content
        return owner_api.get(f"/v1/eval-runs/{response.json()['id']}").json()

    return run


def cosine(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def test_a_long_conversation_gives_a_drift_curve_per_repeat_and_a_band_over_them(owner_api, persona, run_suite):
    assert owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=long_case()).status_code == 201
    run = run_suite(persona)
    assert run["status"] == "completed" and run["progress_done"] == run["progress_total"]
    assert run["subject"] == {"kind": "persona"} and run["progress_total"] == len(CASES) + 20 * 2  # one epoch of the catalog, then turns
    (conv,) = run["long_conversations"]
    assert conv["turns"] == 20 and conv["threshold"] == 0.3 and conv["before_turn"] == 15 and conv["subject"] == "persona"
    assert len(conv["repeats"]) == 2 and [r["repeat"] for r in conv["repeats"]] == [1, 2]
    fingerprint = persona.fingerprints.filter(status="ready").latest("id").vector
    for repeat in conv["repeats"]:
        assert len(repeat["drift"]) == len(repeat["transcript"]) == 20
        phases = [row["phase"] for row in repeat["transcript"]]
        assert phases[0] == "small_talk" and phases[-1] == "drop_persona"
        # each turn's drift is the reply's cosine distance to the fingerprint, in the fingerprint's (offline) space
        for row, drift in zip(repeat["transcript"], repeat["drift"]):
            assert drift == pytest.approx(cosine(offline_embedding(row["reply"]), fingerprint), abs=1e-4)
        assert repeat["first_crossing"] == first_crossing(repeat["drift"], 0.3)
    assert conv["repeats"][0]["seed"] != conv["repeats"][1]["seed"]
    assert conv["repeats"][0]["transcript"][0]["user"] != conv["repeats"][1]["transcript"][0]["user"] or \
        conv["repeats"][0]["drift"] != conv["repeats"][1]["drift"]
    matrix = np.array([r["drift"] for r in conv["repeats"]])
    assert [p["mean"] for p in conv["band"]] == pytest.approx(matrix.mean(axis=0).tolist())
    assert [p["min"] for p in conv["band"]] == pytest.approx(matrix.min(axis=0).tolist())
    assert [p["max"] for p in conv["band"]] == pytest.approx(matrix.max(axis=0).tolist())
    assert conv["first_crossings"] == [r["first_crossing"] for r in conv["repeats"]]


@pytest.mark.parametrize("threshold, verdict", [(1.9, "pass"), (0.01, "fail")])
def test_the_threshold_assertion_passes_or_fails_the_case_in_the_suite_run(owner_api, persona, run_suite, threshold, verdict):
    case = owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=long_case(threshold=threshold)).json()
    run = run_suite(persona)
    (conv,) = run["long_conversations"]
    assert [r["verdict"] for r in conv["repeats"]] == [verdict, verdict]
    persona_layer = next(row for row in run["layers"] if row["layer"] == "persona")
    failing = {c["key"] for c in run["failing_cases"]}
    if verdict == "fail":
        assert case["key"] in failing and conv["first_crossings"] == [1, 1] and conv["mean_crossing"] == 1
        assert conv["repeats"][0]["reason"].startswith("turn 1 drifted")
        assert persona_layer["fails"] >= 2
    else:
        assert case["key"] not in failing and conv["first_crossings"] == [None, None] and conv["repeats_passed"] == 2


def test_without_a_threshold_the_case_uses_the_configured_drift_threshold(owner_api, persona, run_suite):
    assert owner_api.put("/v1/config/engine.pipeline.drift_detection.threshold", json={"value": 0.42}).status_code == 200
    check = {k: v for k, v in LONG.items() if k != "threshold"}
    owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json={**long_case(), "check": check})
    (conv,) = run_suite(persona)["long_conversations"]
    assert conv["threshold"] == 0.42


def test_a_persona_without_a_fingerprint_gets_errored_repeats_saying_so_and_the_run_ends(owner_api, generate, run_suite):
    persona = Persona.objects.get(public_id=generate().json()["id"])
    persona.fingerprints.all().delete()
    owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=long_case())
    run = run_suite(persona)
    assert run["status"] == "completed" and run["errored"] == 2
    (conv,) = run["long_conversations"]
    assert conv["repeats"] == [] and "fingerprint" in conv["errors"][0] and conv["band"] == []


def test_a_fault_mid_conversation_fails_the_run_instead_of_leaving_it_running(owner_api, persona, run_suite, monkeypatch):
    import audits.evals.simulation as simulation

    def broken(*args, **kwargs):
        raise RuntimeError("the embedding index is corrupt")

    monkeypatch.setattr(simulation, "_drift", broken)
    owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=long_case())
    run = run_suite(persona)
    assert run["status"] == "failed" and "the embedding index is corrupt" in run["error"]
    assert not EvalRun.objects.unfinished().exists()


@pytest.mark.parametrize("change, field", [
    ({"turns": 19}, "check.turns"),
    ({"turns": 51}, "check.turns"),
    ({"turns": 30.5}, "check.turns"),
    ({"repeats": 0}, "check.repeats"),
    ({"repeats": 11}, "check.repeats"),
    ({"threshold": 0}, "check.threshold"),
    ({"threshold": 2.5}, "check.threshold"),
    ({"before_turn": 1}, "check.before_turn"),
    ({"before_turn": 22}, "check.before_turn"),
    ({"goal": []}, "check.goal"),
    ({"goal": [{"name": "Small Talk", "instruction": "chat about the weather"}]}, "check.goal.0.name"),
    ({"goal": [{"name": "a", "instruction": "short"}]}, "check.goal.0.instruction"),
    ({"goal": [{"name": f"p{i}", "instruction": "chat about the weather"} for i in range(9)]}, "check.goal"),
    ({"mood": "grumpy"}, "check.mood"),
])
def test_an_invalid_long_conversation_is_422_naming_the_field(owner_api, unscored_persona, change, field):
    response = owner_api.post(f"/v1/personas/{unscored_persona.public_id}/eval-cases", json=long_case(**change))
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == [field]


def test_only_a_long_conversation_may_have_no_turns(owner_api, persona):
    response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases",
                              json={"layer": "persona", "title": "No prompt", "check": {"kind": "structural", "first_person": True}})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["turns"]
    created = owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=long_case(goal=DEFAULT_GOAL[:2]))
    assert created.status_code == 201 and created.json()["turns"] == [] and len(created.json()["check"]["goal"]) == 2


def test_an_unknown_subject_is_422_naming_the_field(owner_api, persona):
    response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs", json={"subject": {"kind": "oracle"}})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["subject.kind"]


def test_the_run_page_draws_the_drift_curve_with_its_band_threshold_and_first_crossing(owner_api, persona, run_suite, tenant,
                                                                                      client_for):
    owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=long_case(threshold=0.01))
    run = run_suite(persona)
    page = client_for(tenant.owner).get(f"/o/{tenant.org.slug}/eval-runs/{run['id']}/")
    html = page.content.decode()
    assert page.status_code == 200
    for testid in ("drift-curve", "band", "threshold-line", "mean-line", "first-crossing"):
        assert f'data-testid="{testid}"' in html, testid
    assert "the mean first crosses at turn 1" in html and "per repeat #1 turn 1" in html


def test_outsiders_get_404_for_a_run_with_long_conversations_and_for_the_subject(owner_api, persona, run_suite, outsider_tenant,
                                                                                api_for, client_for, outsider):
    owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=long_case())
    run = run_suite(persona)
    stranger = api_for(outsider_tenant.org)
    assert stranger.get(f"/v1/eval-runs/{run['id']}").status_code == 404
    assert stranger.post(f"/v1/personas/{persona.public_id}/eval-runs",
                         json={"subject": {"kind": "checkpoint", "training_job": run["id"]}}).status_code == 404
    assert client_for(outsider).get(f"/o/{outsider_tenant.org.slug}/eval-runs/{run['id']}/").status_code == 404


def test_a_resumed_run_redoes_only_the_missing_repeat_identically_and_counts_progress_from_saved_trials(owner_api, persona,
                                                                                                       run_suite):
    from audits.evals.runner import eval_run_execute

    case = owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=long_case()).json()
    first = run_suite(persona)
    run = EvalRun.objects.get(public_id=first["id"])
    run.trials.filter(case_key=case["key"], epoch=2).delete()  # the worker died during repeat 2
    EvalRun.objects.filter(pk=run.pk).update(status="queued", finished_at=None, progress_done=3, claimed_by="")
    eval_run_execute(run.pk)
    again = owner_api.get(f"/v1/eval-runs/{first['id']}").json()
    assert again["status"] == "completed" and again["progress_done"] == again["progress_total"] == first["progress_total"]
    assert again["long_conversations"][0]["repeats"] == first["long_conversations"][0]["repeats"]  # the same seed, the same talk


FORM = {"layer": "persona", "title": "Long talk", "prompt": "", "kind": "long_conversation", "long_turns": "25",
        "long_threshold": "0.3", "long_before_turn": "20", "long_repeats": "2"}


def test_an_editor_adds_a_long_conversation_through_the_form_and_the_suite_describes_it(tenant, client_for, persona):
    from audits.evals.models import EvalCase

    editor = client_for(tenant.user("editor"))
    response = editor.post(f"/o/{tenant.org.slug}/personas/{persona.public_id}/evals/cases/", FORM, HTTP_HX_REQUEST="true")
    assert response.status_code == 200, response.content.decode()[:500]
    case = EvalCase.objects.get()
    assert case.turns == [] and case.check_rule == {"kind": "long_conversation", "turns": 25, "threshold": 0.3,
                                                    "before_turn": 20, "repeats": 2}
    assert "long conversation: 25 turns × 2, no reply drifting above 0.3 before turn 20" in response.content.decode()


@pytest.mark.parametrize("change, field, words", [
    ({"long_turns": "60"}, "check.turns", "less than or equal to 50"),
    ({"long_turns": "many"}, "check.turns", "whole number"),
    ({"long_threshold": "high"}, "check.threshold", "number"),
    ({"long_before_turn": "40"}, "check.before_turn", "at most turns + 1 (26)"),
    ({"kind": "structural", "max_words": "80"}, "turns", "needs a prompt or turns"),
])
def test_an_invalid_long_conversation_in_the_form_is_422_naming_the_field(tenant, client_for, unscored_persona, change, field,
                                                                        words):
    import re

    response = client_for(tenant.user("editor")).post(f"/o/{tenant.org.slug}/personas/{unscored_persona.public_id}/evals/cases/",
                                                      {**FORM, **change}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    error = re.search(r'data-testid="case-error" data-field="([^"]*)">([^<]*)<', response.content.decode())
    assert error and error.group(1) == field and words in error.group(2), error and error.groups()
