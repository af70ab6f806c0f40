"""The trait profile's fixed material and maths: the 144 traits and the 500 prompts, a constitution's traits, the judge's
strict answer and the offline style-feature judge, two profiles compared (rating differences with intervals from the
two bootstraps, Spearman's ρ checked against scipy), and the chart's geometry."""

import json

import numpy as np
import pytest
from scipy import stats

from audits.reviews.ratings import Votes, bradley_terry_bootstrap
from audits.trait_ratings import trait_ratings
from audits.traits import catalog
from audits.traits.catalog import TRAITS, constitution_traits, draw, everyday_prompts
from audits.traits.compare import average_ranks, boosted_and_suppressed, rating_differences, spearman
from audits.traits.judge import (
    JUDGE_INSTRUCTIONS, adopt_instruction, judge_messages, offline_adopt, offline_judge_reply, parse_choice, subject_messages,
    trait_score,
)
from audits.traits.views import rating_chart

EIGHT = ["remorseful", "humorous", "curious", "blunt", "patient", "wry", "warm", "stoic"]


def _synthetic(planted: dict[str, float], n: int, seed: int) -> list[tuple[str, str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        i, j = rng.choice(len(EIGHT), size=2, replace=False)
        x, y = EIGHT[i], EIGHT[j]
        p = 1 / (1 + np.exp(-(planted.get(x, 0.0) - planted.get(y, 0.0))))
        rows.append((x, y, x if rng.random() < p else y))
    return rows


# --- the catalog -----------------------------------------------------------------------------------


def test_there_are_144_distinct_single_word_traits_with_remorseful_and_humorous():
    assert len(TRAITS) == len(set(TRAITS)) == 144
    assert all(t.isalpha() and t.islower() for t in TRAITS)
    assert {"remorseful", "humorous"} <= set(TRAITS)
    assert all(len(catalog.TRAIT_CUES[t]) >= 3 for t in TRAITS)


def test_the_prompt_set_is_500_distinct_everyday_first_turns_and_the_same_every_time():
    prompts = everyday_prompts()
    assert len(prompts) == len(set(prompts)) == 500 and prompts == everyday_prompts()
    assert all(5 < len(p) < 120 and p[0].isupper() and "{" not in p for p in prompts)
    assert catalog.prompts_digest(prompts) == catalog.prompts_digest(list(prompts))


def test_the_draw_is_seeded_distinct_prompts_and_two_distinct_traits_each():
    first = draw(prompts=500, available=500, traits=TRAITS, seed=4)
    assert first == draw(prompts=500, available=500, traits=TRAITS, seed=4) != draw(prompts=500, available=500, traits=TRAITS, seed=5)
    assert sorted(i for i, _, _ in first) == list(range(500))
    assert all(a != b and a in TRAITS and b in TRAITS for _, a, b in first)
    with pytest.raises(ValueError):
        draw(prompts=1, available=500, traits=["wry"], seed=0)


def test_every_trait_a_derived_constitution_can_assert_is_in_the_catalog():
    """Each row of training_jobs.constitution's marker tables maps to a catalog trait."""
    from training_jobs import constitution as c

    assert set(c.VALUE_MARKERS) <= set(catalog.VALUE_TRAITS)
    assert set(c.BIG_FIVE_MARKERS) == set(catalog.BIG_FIVE_TRAITS)
    for (dim, level), (text, _word) in c.BIG_FIVE_MARKERS.items():
        assert text.lower().startswith(catalog.BIG_FIVE_OPENINGS[dim][0 if level == "high" else 1])
    assert [keys for keys, _ in c.TONE_MARKERS] == [keys for keys, _ in catalog.TONE_TRAITS]
    assert [keys for keys, _ in c.ROLE_MARKERS] == [keys for keys, _ in catalog.ROLE_TRAITS]
    assert set(c.ATTACHMENT_MARKERS) == set(catalog.ATTACHMENT_TRAITS)
    for style, quote in c.ATTACHMENT_MARKERS.items():
        assert catalog.ATTACHMENT_QUOTES[next(q for q in catalog.ATTACHMENT_QUOTES if q in quote.lower())] == style
    every = (set(catalog.VALUE_TRAITS.values()) | set(catalog.BIG_FIVE_TRAITS.values()) | set(catalog.ATTACHMENT_TRAITS.values())
             | {t for _, t in catalog.TONE_TRAITS} | {t for _, t in catalog.ROLE_TRAITS} | set(catalog.SOUL_TRAITS.values()))
    assert every <= set(TRAITS)


def test_a_persona_constitution_yields_its_traits_row_by_row(persona):
    from training_jobs.constitution import constitution_from_layers

    document = constitution_from_layers(persona.current_version.layers).model_dump()
    traits = constitution_traits(document)
    assert traits and set(traits) <= set(TRAITS) and len(traits) == len(set(traits))
    values = persona.current_version.self_layer["values"]
    for value in values:
        mapped = catalog.VALUE_TRAITS.get(value.casefold())
        assert mapped is None or mapped in traits
    assert "reflective" in traits and "guarded" in traits  # the growth arc and the wound rows


def test_an_edited_statement_that_names_a_trait_counts_and_an_empty_constitution_has_none():
    document = {"traits": [{"statement": "I am remorseful about the old days and humorous about the new.", "source": "edited"},
                           {"statement": "I put honesty first.", "source": "self.values.honesty"}]}
    assert constitution_traits(document) == ["humorous", "remorseful", "honest"]
    assert constitution_traits(None) == [] and constitution_traits({"traits": []}) == []


# --- the prompts and the judge's answer -------------------------------------------------------------


def test_the_subject_is_told_to_pick_the_trait_that_feels_most_like_it_without_saying_which():
    text = adopt_instruction("wry", "warm")
    assert "wry or warm" in text and "feels most like you" in text and "Do not say which trait" in text
    persona = subject_messages(system="You are Ana.", prompt="Hi?", first="wry", second="warm")
    bare = subject_messages(system="", prompt="Hi?", first="wry", second="warm")
    assert persona[0]["content"].startswith("You are Ana.\n\n") and bare[0]["content"] == text
    assert persona[1] == bare[1] == {"role": "user", "content": "Hi?"}


def test_the_judge_sees_only_the_reply_and_the_two_traits():
    (message,) = judge_messages(reply="Sorry, my fault.", first="wry", second="remorseful")
    payload = json.loads(message["content"].split("\n", 1)[1].split("\n\n" + JUDGE_INSTRUCTIONS)[0])
    assert payload == {"reply": "Sorry, my fault.", "traits": ["wry", "remorseful"]} and '"neither" is not an answer' in message["content"]


@pytest.mark.parametrize("answer, expected", [
    ('{"trait": "wry"}', "wry"), ('```json\n{"trait": "Warm"}\n```', "warm"), ("warm", "warm"), ('"Wry".', "wry"),
])
def test_the_judges_answer_is_one_of_the_two_traits(answer, expected):
    assert parse_choice(answer, "wry", "warm") == expected


@pytest.mark.parametrize("answer", ['{"trait": "neither"}', '{"trait": "both"}', "", "I think it is wry", '{"pick": "wry"}',
                                    '{"trait": 3}', "{not json}"])
def test_anything_else_is_not_an_answer(answer):
    with pytest.raises(ValueError):
        parse_choice(answer, "wry", "warm")


def test_the_offline_judge_reads_cues_and_style_and_names_the_first_trait_when_nothing_separates_them():
    ask = lambda reply, a, b: json.loads(offline_judge_reply(judge_messages(reply=reply, first=a, second=b)[0]["content"]))["trait"]  # noqa: E731
    remorse = "I'm sorry. It was my fault, and I regret it."
    assert ask(remorse, "humorous", "remorseful") == ask(remorse, "remorseful", "humorous") == "remorseful"
    joke = "Ha! That's a good joke — made me laugh."
    assert ask(joke, "remorseful", "humorous") == ask(joke, "humorous", "remorseful") == "humorous"
    assert trait_score("Amazing! Love it!", "enthusiastic") > trait_score("Amazing! Love it!", "stoic")
    neutral = "The bus leaves at nine."
    assert ask(neutral, "wry", "warm") == "wry" and ask(neutral, "warm", "wry") == "warm"  # position bias, exposed by two orders
    assert offline_judge_reply("### trait-judge\nnot json") == "I cannot read the reply."


def test_the_offline_model_adopts_the_trait_its_persona_speaks_for_without_naming_it():
    system = "You are Ana, who regrets everything: forgive me, it was my fault, I'm sorry.\n\n" + adopt_instruction("humorous", "remorseful")
    reply = offline_adopt([{"role": "system", "content": system}, {"role": "user", "content": "How was your day?"}])
    assert trait_score(reply, "remorseful") > trait_score(reply, "humorous") and "remorseful" not in reply.lower()
    assert offline_adopt([{"role": "user", "content": "hi"}]) is None  # not the profile's prompt: someone else answers


# --- two profiles compared -----------------------------------------------------------------------------


def test_spearman_matches_scipy_with_ties_and_without():
    rng = np.random.default_rng(0)
    for trial in range(30):
        n = int(rng.integers(3, 40))
        a = rng.normal(size=n).round(1 if trial % 2 else 6)  # rounding to 1 decimal makes ties
        b = (a + rng.normal(scale=0.7, size=n)).round(1 if trial % 3 else 6)
        first = {f"t{i}": float(v) for i, v in enumerate(a)}
        second = {f"t{i}": float(v) for i, v in enumerate(b)}
        result = spearman(first, second)
        assert result["traits"] == n and result["rho"] == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
    assert list(average_ranks([3.0, 1.0, 3.0, 2.0])) == list(stats.rankdata([3.0, 1.0, 3.0, 2.0]))


def test_spearman_at_its_edges():
    assert spearman({"a": 1, "b": 2, "c": 3}, {"a": 1, "b": 2, "c": 3})["rho"] == pytest.approx(1.0)
    assert spearman({"a": 1, "b": 2, "c": 3}, {"a": 3, "b": 2, "c": 1})["rho"] == pytest.approx(-1.0)
    assert spearman({"a": 1, "b": 2}, {"a": 1, "b": 2}) == {"rho": None, "traits": 2}  # fewer than 3 shared
    assert spearman({"a": 1, "b": 1, "c": 1}, {"a": 1, "b": 2, "c": 3})["rho"] is None  # one side constant
    assert spearman({"a": 1, "b": 2, "x": 3}, {"a": 1, "b": 2, "y": 3}) == {"rho": None, "traits": 2}  # only shared traits
    assert spearman({}, {}) == {"rho": None, "traits": 0}


def test_a_boosted_trait_stands_out_with_an_interval_above_zero_and_the_differences_are_the_ratings_differences():
    before = _synthetic({}, 800, seed=1)
    after = _synthetic({"remorseful": 2.0, "blunt": -1.5}, 800, seed=2)
    rows = rating_differences(before, after, rounds=300, seed=0)
    by_trait = {row["trait"]: row for row in rows}
    # the point differences are those of the two profiles' own ratings (trait_ratings, same fit)
    rated_before = {r["trait"]: r["rating"] for r in trait_ratings(before, rounds=10)}
    rated_after = {r["trait"]: r["rating"] for r in trait_ratings(after, rounds=10)}
    for trait, row in by_trait.items():
        assert row["difference"] == pytest.approx(rated_after[trait] - rated_before[trait], abs=1e-6)
        assert row["before"] == pytest.approx(rated_before[trait], abs=1e-6)
    boosted, suppressed = boosted_and_suppressed(rows)
    assert boosted[0]["trait"] == "remorseful" and boosted[0]["clear"] and boosted[0]["low"] > 0
    assert suppressed[0]["trait"] == "blunt" and suppressed[0]["clear"] and suppressed[0]["high"] < 0
    assert all(r["difference"] > 0 for r in boosted) and all(r["difference"] < 0 for r in suppressed)


def test_the_interval_of_a_difference_is_as_wide_as_two_independent_bootstraps_make_it():
    """Independently: the std of a difference of independent estimates is √(σ₁² + σ₂²); the 95 % interval ≈ ± 1.96 of it."""
    before, after = _synthetic({}, 600, seed=3), _synthetic({"wry": 1.0}, 600, seed=4)
    rows = {row["trait"]: row for row in rating_differences(before, after, rounds=1000, seed=7)}
    index = {t: i for i, t in enumerate(sorted(EIGHT))}

    def stds(rows_):
        votes = Votes.from_rows([(index[a], index[b], 1.0 if s == a else 0.0) for a, b, s in rows_], len(index))
        return {sorted(EIGHT)[r.source]: r.std for r in bradley_terry_bootstrap(votes, rounds=1000, seed=11)}

    s_before, s_after = stds(before), stds(after)
    for trait, row in rows.items():
        expected = 2 * 1.96 * np.hypot(s_before[trait], s_after[trait])
        assert row["high"] - row["low"] == pytest.approx(expected, rel=0.15), trait


def test_comparing_with_no_shared_traits_or_no_judgments_gives_nothing():
    assert rating_differences([], []) == []
    assert rating_differences([("wry", "warm", "wry")], [("blunt", "stoic", "stoic")]) == []
    assert boosted_and_suppressed([]) == ([], [])
    # a change under half an Elo point is two traits fitted alike, not a boost or a suppression
    tiny = [{"trait": "wry", "difference": 0.3}, {"trait": "warm", "difference": -1e-9}, {"trait": "blunt", "difference": -0.5}]
    assert boosted_and_suppressed(tiny) == ([], [tiny[2]])


# --- the chart ---------------------------------------------------------------------------------------------------


def test_the_chart_draws_each_rating_from_the_mean_with_its_interval_on_one_axis():
    ratings = trait_ratings(_synthetic({"remorseful": 2.0}, 400, seed=5), rounds=100)
    chart = rating_chart(ratings)
    left, right, low, high = chart["left"], chart["right"], min(r["low"] for r in ratings), max(r["high"] for r in ratings)
    low, high = min(low, 1000.0), max(high, 1000.0)
    x = lambda v: left + (v - low) / (high - low) * (right - left)  # noqa: E731
    assert chart["centre"] == pytest.approx(x(1000), abs=0.06)
    for row in chart["rows"]:
        end = row["bar_x"] + row["bar_width"] if row["rating"] >= 1000 else row["bar_x"]
        assert end == pytest.approx(x(row["rating"]), abs=0.15)
        assert row["lo_x"] == pytest.approx(x(row["low"]), abs=0.06) and row["hi_x"] == pytest.approx(x(row["high"]), abs=0.06)
    assert [r["trait"] for r in chart["rows"]] == [r["trait"] for r in ratings][:20]
    narrow = rating_chart(ratings, top=12, width=170.0)
    assert len(narrow["rows"]) == min(12, len(ratings)) == 8 and narrow["right"] == left + 170.0 and narrow["view_width"] == left + 210.0
    assert rating_chart([]) is None
    one = rating_chart(trait_ratings([("wry", "warm", "wry")], rounds=20))
    assert len(one["rows"]) == 2 and one["rows"][0]["lo_x"] >= left and one["rows"][1]["hi_x"] <= right
    assert chart["label_low"] and chart["label_high"]  # both ends well clear of the 1000 mark


def test_an_axis_end_at_the_mean_is_not_labelled_over_the_1000_mark():
    above = [{"trait": "warm", "rating": 1100.0, "low": 1000.0, "high": 1200.0},
             {"trait": "wry", "rating": 1050.0, "low": 1002.0, "high": 1150.0}]
    chart = rating_chart(above)
    assert chart["centre"] == chart["left"] and not chart["label_low"] and chart["label_high"]
    below = [{"trait": "warm", "rating": 900.0, "low": 800.0, "high": 1001.0}]
    chart = rating_chart(below)
    assert chart["right"] - chart["centre"] < 24 and chart["label_high"] is False and chart["label_low"]
