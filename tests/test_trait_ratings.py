"""The trait profile's ratings: Bradley–Terry per trait, with bootstrap intervals, from "X shown over Y" judgments."""

import numpy as np
import pytest

from audits.trait_ratings import trait_ratings

TRAITS = ["remorseful", "humorous", "curious", "blunt", "patient", "wry", "warm", "stoic"]


def _synthetic(planted: dict[str, float], n: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """n judgments of two random traits where the shown one wins with Bradley–Terry probability σ(θ_x − θ_y)."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        first, second = rng.choice(len(TRAITS), size=2, replace=False)
        x, y = TRAITS[first], TRAITS[second]
        p_x = 1 / (1 + np.exp(-(planted.get(x, 0.0) - planted.get(y, 0.0))))
        rows.append((x, y, x if rng.random() < p_x else y))
    return rows


def test_a_planted_trait_preference_is_recovered_first_with_its_interval_above_the_others():
    profile = trait_ratings(_synthetic({"remorseful": 2.0}, 800), rounds=400)
    assert [row["trait"] for row in profile][0] == "remorseful" and profile[0]["rank"] == 1
    assert profile[0]["low"] > max(row["high"] for row in profile[1:])  # its whole interval above every other's
    assert all(row["rank"] > 1 for row in profile[1:])
    # independently: the planted trait is the one named most often when offered
    share = {row["trait"]: row["shown"] / row["offered"] for row in profile}
    assert max(share, key=share.get) == "remorseful" and share["remorseful"] > 0.75
    assert sum(row["offered"] for row in profile) == 2 * 800 and sum(row["shown"] for row in profile) == 800


def test_without_a_planted_preference_no_trait_stands_clear():
    profile = trait_ratings(_synthetic({}, 800), rounds=400)
    assert all(row["rank"] == 1 for row in profile)  # every interval overlaps the best one's


def test_the_ratings_order_follows_a_graded_preference():
    planted = {"remorseful": 3.0, "humorous": 1.5}
    profile = trait_ratings(_synthetic(planted, 1500, seed=3), rounds=300)
    assert [row["trait"] for row in profile][:2] == ["remorseful", "humorous"]
    assert profile[0]["low"] > profile[1]["high"] > profile[1]["rating"] > profile[2]["rating"]


def test_edges_no_data_one_judgment_and_bad_judgments():
    assert trait_ratings([]) == []
    one = trait_ratings([("wry", "warm", "wry")], rounds=50)
    assert [row["trait"] for row in one] == ["wry", "warm"] and one[0]["rating"] > one[1]["rating"]
    assert one[0]["shown"] == one[0]["offered"] == 1 and one[1]["shown"] == 0
    # the two ratings are symmetric about the Elo base (1000), as Bradley–Terry with its prior gives for two traits
    assert one[0]["rating"] + one[1]["rating"] == pytest.approx(2000)
    with pytest.raises(ValueError, match="judgment 2.*neither"):
        trait_ratings([("wry", "warm", "wry"), ("wry", "warm", "neither")])
    with pytest.raises(ValueError, match="judgment 1.*same"):
        trait_ratings([("wry", "wry", "wry")])


def test_two_traits_rate_apart_by_the_log_odds_of_their_wins():
    """Independently: for two traits Bradley–Terry's MLE gap is ln(wins/losses), × 400/ln 10 on the Elo scale; the
    prior's one virtual win and loss shrinks it a little at 300 vs 100."""
    rows = [("wry", "warm", "wry")] * 300 + [("wry", "warm", "warm")] * 100
    profile = trait_ratings(rows, rounds=100)
    gap = profile[0]["rating"] - profile[1]["rating"]
    assert gap == pytest.approx(400 / np.log(10) * np.log(3), rel=0.02) and gap < 400 / np.log(10) * np.log(3)
