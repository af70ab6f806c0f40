"""Judges you can trust: both orders must agree (else a tie), the order-disagreement rate per judge model is reported
where judge votes are shown, and a judge from the teacher's own model family is flagged."""

import json

import pytest

from audits.reviews.judge import model_family, order_disagreement, orders_disagree, same_family_warning
from audits.reviews.models import JudgeRun, Judgment
from tests.reviews_helpers import make_pairs


def test_two_orders_disagree_when_they_name_different_things():
    assert not orders_disagree("A", "B") and not orders_disagree("B", "A")  # the same reply both times
    assert not orders_disagree("tie", "tie")
    assert orders_disagree("A", "A") and orders_disagree("B", "B")  # followed the position
    assert orders_disagree("A", "tie") and orders_disagree("tie", "A")


def test_the_order_disagreement_rate_is_counted_per_judge_model_at_its_edges():
    assert order_disagreement([]) == []  # no data
    assert order_disagreement([("m", "A", "B")]) == [{"judge_model": "m", "pairs": 1, "disagreed": 0, "rate": 0.0}]  # one item
    assert order_disagreement([("m", "A", "A")])[0]["rate"] == 1.0  # 100 %
    rows = order_disagreement([("x/a", "A", "B"), ("x/a", "A", "A"), ("x/a", "tie", "B"), ("x/b", "B", "A")])
    # x/a: pairs 1 agrees, 2 and 3 disagree → 2 of 3; x/b agrees
    assert rows == [{"judge_model": "x/a", "pairs": 3, "disagreed": 2, "rate": 2 / 3},
                    {"judge_model": "x/b", "pairs": 1, "disagreed": 0, "rate": 0.0}]


def _position_biased_on_question_zero(user_text: str, persona=None) -> str:
    """A judge that always names the first reply for "Question 0?" (position bias), and otherwise prefers the reply
    that says "Second" whatever its position."""
    pair = json.loads(user_text.split("\n", 1)[1].split("\n\n", 1)[0])
    if pair["prompt"] == "Question 0?":
        winner = "A"
    else:
        winner = "A" if "Second" in pair["A"] else "B"
    return json.dumps({"winner": winner, "reason": "planted"})


@pytest.fixture
def biased_judge(monkeypatch):
    from audits.reviews.judge import JUDGE_MARKER
    from studio.llm.offline import engine

    monkeypatch.setitem(engine._JUDGES, JUDGE_MARKER, (_position_biased_on_question_zero, True))


def test_an_order_disagreement_turns_the_vote_into_a_tie_and_its_rate_is_shown(
        owner_api, persona, owner_principal, biased_judge, client_for, tenant, django_capture_on_commit_callbacks):
    make_pairs(owner_principal, persona, 3)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = owner_api.post(f"/v1/personas/{persona.public_id}/reviews/judge").json()["judge_run_id"]
    votes = {j.comparison.prompt: j.choice for j in Judgment.objects.filter(kind="judge").select_related("comparison")}
    assert votes == {"Question 0?": "tie", "Question 1?": "b", "Question 2?": "b"}
    expected = [{"judge_model": "offline/studio", "pairs": 3, "disagreed": 1, "rate": 1 / 3}]
    run = owner_api.get(f"/v1/judge-runs/{run_id}").json()
    assert run["order_disagreement"] == expected
    board = owner_api.get(f"/v1/personas/{persona.public_id}/reviews/leaderboard?kind=judge").json()
    assert board["order_disagreement"] == expected
    assert owner_api.get(f"/v1/personas/{persona.public_id}/reviews/leaderboard").json()["order_disagreement"] == []  # humans
    page = client_for(tenant.user("owner")).get(f"/o/acme/reviews/personas/{persona.public_id}/").content.decode()
    assert 'data-testid="order-disagreement"' in page and "1 of 3 pairs (33%)" in page  # 1/3 = 33 %


def test_the_offline_judge_never_disagrees_with_itself_and_the_page_says_zero(
        owner_api, persona, owner_principal, client_for, tenant, django_capture_on_commit_callbacks):
    make_pairs(owner_principal, persona, 2)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = owner_api.post(f"/v1/personas/{persona.public_id}/reviews/judge").json()["judge_run_id"]
    assert owner_api.get(f"/v1/judge-runs/{run_id}").json()["order_disagreement"] == [
        {"judge_model": "offline/studio", "pairs": 2, "disagreed": 0, "rate": 0.0}]
    fragment = client_for(tenant.user("owner")).get(f"/o/acme/reviews/judge-runs/{run_id}/").content.decode()
    assert "0 of 2 pairs (0%)" in fragment


def test_a_run_without_judge_votes_reports_no_disagreement(tenant, persona, client_for):
    run = JudgeRun.objects.create(organization=tenant.org, persona=persona, comparison_ids=[], status="completed")
    assert run.order_disagreement == []
    fragment = client_for(tenant.user("owner")).get(f"/o/acme/reviews/judge-runs/{run.public_id}/").content.decode()
    assert 'data-testid="order-disagreement"' not in fragment


@pytest.mark.parametrize("model, family", [
    ("anthropic/claude-opus-4-7", "anthropic"), ("claude-sonnet-4-6", "anthropic"), ("openrouter/anthropic/claude-3", "anthropic"),
    ("openai/gpt-4o", "openai"), ("gpt-4o-mini", "openai"), ("o3-mini", "openai"), ("gemini/gemini-2.0-flash", "google"),
    ("offline/studio", "offline"), ("offline/teacher", "offline"), ("local/smollm2", "local"), ("acme/house-model", "acme"),
])
def test_a_model_names_its_family(model, family):
    assert model_family(model) == family


def test_a_judge_of_the_teachers_family_is_flagged():
    assert "anthropic" in same_family_warning("anthropic/claude-opus-4-7", "claude-sonnet-4-6")
    assert "openai" in same_family_warning("openai/gpt-4o", "openai/gpt-4o-mini")
    assert "offline" in same_family_warning("offline/studio", "offline/teacher")
    assert same_family_warning("openai/gpt-4o", "anthropic/claude-opus-4-7") is None
    assert same_family_warning("local/smollm2", "offline/teacher") is None


# --- the training evaluation's base-vs-tuned judge ----------------------------------------------------


def _biased_on_even_prompts(user_text: str, persona=None) -> str:
    """Names the first reply whenever the prompt's length is even (position bias), else the longer reply."""
    pair = json.loads(user_text.split("\n", 1)[1].split("\n\n", 1)[0])
    if len(pair["prompt"]) % 2 == 0:
        return json.dumps({"winner": "A", "reason": "planted"})
    return json.dumps({"winner": "A" if len(pair["A"]) > len(pair["B"]) else "B", "reason": "longer"})


def test_the_training_evaluation_records_its_judges_order_disagreement_and_family(
        persona, launch, tenant, client_for, monkeypatch, settings, tmp_path):
    from audits.reviews.judge import JUDGE_MARKER
    from studio.llm.offline import engine
    from tests.test_training_eval_review import VariedBackend
    from training_jobs import backends

    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "training"
    monkeypatch.setattr(backends, "get_backend", lambda name: VariedBackend())
    monkeypatch.setitem(engine._JUDGES, JUDGE_MARKER, (_biased_on_even_prompts, True))
    job = launch(persona)
    report = job.stages.get(stage="eval").stats["eval"]
    samples = [json.loads(line) for line in (settings.TRAINING_ARTIFACTS_DIR).rglob("samples.jsonl").__next__().read_text().splitlines()]
    # independently: every sample pair on an even-length prompt is a position-biased tie; the others agree
    biased = sum(len(s["prompt"]) % 2 == 0 for s in samples)
    assert 0 < biased < len(samples)
    assert report["order_disagreement"] == [{"judge_model": "offline/studio", "pairs": len(samples), "disagreed": biased,
                                              "rate": biased / len(samples)}]
    assert all(s["winner"] == "tie" for s in samples if len(s["prompt"]) % 2 == 0)
    assert report["judge_warning"] and "offline" in report["judge_warning"]  # offline/studio judges offline/teacher's job
    page = client_for(tenant.user("owner")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert "Order disagreement" in page and "both offline models" in page


def test_the_preflight_warns_that_a_providers_jobs_judge_is_its_teacher(owner_api, persona, monkeypatch):
    from tests.training_helpers import launch_values

    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    values = launch_values(persona, teacher_model="anthropic/claude-sonnet-4-6", student_model="tiny")
    report = owner_api.post("/v1/training-jobs/preflight", json=values).json()
    warned = {w["field"]: w["message"] for w in report["warnings"]}
    assert "anthropic" in warned.get("teacher_model", "") and "judge is the teacher" in warned["teacher_model"]
    offline = owner_api.post("/v1/training-jobs/preflight", json=launch_values(persona)).json()
    assert "teacher_model" not in {w["field"] for w in offline["warnings"]}  # noted on the results instead


# --- each judge's agreement with people -----------------------------------------------------------------


def test_judge_human_kappa_at_its_edges():
    from audits.reviews.agreement import judge_human_kappa

    assert judge_human_kappa([], []) == []  # no data
    assert judge_human_kappa([(1, "m", "a")], []) == []  # no human voted on the pair
    assert judge_human_kappa([(1, "m", "a")], [(1, "a")]) == [{"judge_model": "m", "pairs": 1, "kappa": 1.0}]  # one item, all agree
    assert judge_human_kappa([(1, "m", "a")], [(1, "a"), (1, "b")]) == []  # people tie among themselves
    perfect = judge_human_kappa([(1, "m", "a"), (2, "m", "b")], [(1, "a"), (2, "b")])
    assert perfect[0]["kappa"] == 1.0


def test_each_judges_kappa_with_the_human_majority_is_on_the_board_and_page(
        owner_api, persona, owner_principal, tenant, biased_judge, client_for, django_capture_on_commit_callbacks):
    from tests.reviews_helpers import add_reviewer, store_votes

    pairs = make_pairs(owner_principal, persona, 4)
    with django_capture_on_commit_callbacks(execute=True):
        owner_api.post(f"/v1/personas/{persona.public_id}/reviews/judge")  # judge: Q0 tie (orders disagree), Q1–Q3 b
    store_votes(pairs, {add_reviewer(tenant, persona, "r1@acme.test"): ["a", "b", "a", "b"],
                        add_reviewer(tenant, persona, "r2@acme.test"): ["a", "b", "b", None]})
    # human majority: Q0 a, Q1 b, Q2 none (a tie between people: left out), Q3 b
    # κ by hand on judge (tie, b, b) vs people (a, b, b): p_o = 2/3; p_e = P(b)·P(b) = (2/3)(2/3) = 4/9 (the judge never
    # says a, people never say tie); κ = (2/3 − 4/9) / (1 − 4/9) = 0.4 (sklearn's cohen_kappa_score gives the same)
    expected = 0.4
    board = owner_api.get(f"/v1/personas/{persona.public_id}/reviews/leaderboard?kind=judge").json()
    assert board["human_agreement"] == [{"judge_model": "offline/studio", "pairs": 3, "kappa": pytest.approx(expected)}]
    assert owner_api.get(f"/v1/personas/{persona.public_id}/reviews/leaderboard").json()["human_agreement"] == []
    page = client_for(tenant.user("owner")).get(f"/o/acme/reviews/personas/{persona.public_id}/").content.decode()
    assert 'data-testid="judge-human-kappa"' in page and "κ 0.40 on 3 pairs" in page


# --- a panel of judges --------------------------------------------------------------------------------


def _panel_reply(request):
    from studio.llm.offline.engine import offline_reply

    text = request.messages[-1]["content"]
    if not text.startswith("### paired-judge"):
        return offline_reply(request.messages)
    pair = json.loads(text.split("\n", 1)[1].split("\n\n", 1)[0])
    if request.model.endswith("judge-c"):  # position bias: always the first reply
        return json.dumps({"winner": "A", "reason": "first"})
    return json.dumps({"winner": "A" if "Second" in pair["A"] else "B", "reason": "says Second"})


def test_a_panel_of_three_judges_votes_by_majority_and_each_judges_disagreement_is_its_own(
        owner_api, persona, owner_principal, tenant, llm_server, django_capture_on_commit_callbacks):
    from studio.config.services import config_set
    from tests.generation_helpers import use_test_server

    llm_server.default_reply = _panel_reply
    use_test_server(tenant, llm_server)
    panel = ["openai/judge-a", "openai/judge-b", "openai/judge-c"]
    config_set(actor=owner_principal, key="reviews.judge_panel", value=panel)
    make_pairs(owner_principal, persona, 2)
    with django_capture_on_commit_callbacks(execute=True):
        run_id = owner_api.post(f"/v1/personas/{persona.public_id}/reviews/judge").json()["judge_run_id"]
    run = owner_api.get(f"/v1/judge-runs/{run_id}").json()
    assert run["calls_total"] == run["calls_done"] == 2 * 3 * 2  # pairs × judges × orders
    votes = Judgment.objects.filter(kind="judge")
    assert [v.choice for v in votes] == ["b", "b"]  # a and b say b, c's orders disagree (a tie): the majority is b
    assert all(v.judge_model == "panel: " + ", ".join(panel) for v in votes)
    assert run["order_disagreement"] == [
        {"judge_model": "openai/judge-a", "pairs": 2, "disagreed": 0, "rate": 0.0},
        {"judge_model": "openai/judge-b", "pairs": 2, "disagreed": 0, "rate": 0.0},
        {"judge_model": "openai/judge-c", "pairs": 2, "disagreed": 2, "rate": 1.0}]


def test_a_panel_without_a_majority_is_a_tie():
    from types import SimpleNamespace

    from audits.reviews.agreement import majority
    from audits.reviews.judge import combine
    from audits.reviews.services import _panel_vote

    def verdict(model, winner):
        return SimpleNamespace(model=model, parsed=SimpleNamespace(winner=winner, model_dump=lambda: {"winner": winner}))

    split = [(verdict("x", "A"), verdict("x", "B")), (verdict("y", "B"), verdict("y", "A")), (verdict("z", "A"), verdict("z", "A"))]
    assert _panel_vote(split, combine, majority)["choice"] == "tie"  # a, b, tie: no majority


def test_a_panel_of_more_than_three_is_refused_naming_the_key(owner_api):
    response = owner_api.put("/v1/config/reviews.judge_panel", json={"value": ["openai/a", "openai/b", "openai/c", "openai/d"]})
    assert response.status_code == 422 and "reviews.judge_panel" in json.dumps(response.json()) and "at most 3" in json.dumps(response.json())
