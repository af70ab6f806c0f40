"""Leaderboards by connected component and agreement that reads right, through the API and the persona's
reviews page: disconnected sources, too few votes, unanimous outcomes, ties only, no votes, one reviewer."""

import re

from studio.config.services import config_set
from tests.reviews_helpers import add_reviewer, make_pairs, store_votes


def _get(api, url: str) -> dict:
    response = api.get(url)
    assert response.status_code == 200, response.content
    assert b"NaN" not in response.content and b"Infinity" not in response.content
    return response.json()


def _board(api, persona, query: str = "") -> dict:
    return _get(api, f"/v1/personas/{persona.public_id}/reviews/leaderboard{query}")


def _agreement(api, persona) -> dict:
    return _get(api, f"/v1/personas/{persona.public_id}/reviews/agreement")


def _page(client_for, tenant, persona) -> str:
    response = client_for(tenant.user("admin")).get(f"/o/acme/reviews/personas/{persona.public_id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert not re.search(r"\bnan\b", html, re.IGNORECASE)
    return html


def test_sources_never_compared_with_each_other_get_separate_boards(tenant, persona, owner_principal, owner_api, client_for):
    versions = make_pairs(owner_principal, persona, 12, sources=("persona v1", "persona v2"))
    handwritten = make_pairs(owner_principal, persona, 10, sources=("handwritten A", "handwritten B"), prompt_set="imported")
    voter = add_reviewer(tenant, persona, "r1@acme.test")
    store_votes(versions, {voter: ["b"] * 9 + ["a"] * 3})
    store_votes(handwritten, {voter: ["a"] * 7 + ["b"] * 3})
    board = _board(owner_api, persona)
    entries = {e["source"]: e for e in board["entries"]}
    assert board["components"] == [
        {"component": 1, "sources": ["persona v2", "persona v1"], "votes": 12, "prior_dominated": False},
        {"component": 2, "sources": ["handwritten A", "handwritten B"], "votes": 10, "prior_dominated": False},
    ]
    assert [e["component"] for e in board["entries"]] == [1, 1, 2, 2]
    assert entries["persona v1"]["component"] != entries["handwritten A"]["component"]
    # ranks restart in each component: each has its own first place, and no rank spans two components
    assert entries["persona v2"]["rank"] == 1 and entries["handwritten A"]["rank"] == 1
    for entry in entries.values():
        assert entry["interval"] == "bootstrap" and not entry["prior_dominated"] and entry["note"] is None
        assert entry["bradley_terry"]["low"] < entry["rating"] < entry["bradley_terry"]["high"]
    # each board is centred on its own (1000 = the average of that component)
    assert entries["persona v1"]["rating"] + entries["persona v2"]["rating"] == 2000.0
    html = _page(client_for, tenant, persona)
    assert 'data-testid="components-note"' in html and html.count('data-testid="component-board"') == 2
    assert html.count('data-testid="source-rank">1<') == sum(e["rank"] == 1 for e in entries.values()) and html.count("<svg") == 4


def test_eight_unanimous_votes_get_a_prior_interval_that_says_so(tenant, persona, owner_principal, owner_api, client_for):
    pairs = make_pairs(owner_principal, persona, 8, sources=("persona v1", "persona v2"))
    store_votes(pairs, {add_reviewer(tenant, persona, "r1@acme.test"): ["a"] * 8})
    too_few = _board(owner_api, persona)
    assert too_few["min_votes"] == 10
    assert all(e["too_few_votes"] and e["rating"] is None and e["rank"] is None and e["bradley_terry"] is None
               and e["note"] == "too few votes (8 of 10)" for e in too_few["entries"])
    assert "too few votes (8 of 10 needed for a rating)" in _page(client_for, tenant, persona)

    config_set(actor=owner_principal, key="reviews.min_votes_for_rating", value=8)
    board = _board(owner_api, persona)
    top, bottom = board["entries"]
    assert top["source"] == "persona v1" and top["votes"] == bottom["votes"] == 8
    for entry in (top, bottom):
        bt = entry["bradley_terry"]
        assert entry["prior_dominated"] and entry["interval"] == "posterior" and "prior" in entry["note"]
        assert bt["high"] - bt["low"] > 100 and bt["low"] < entry["rating"] < bt["high"]  # was 1397.4 (1397.4 – 1397.4)
        assert entry["elo"]["std"] is None and entry["elo"]["low"] is None  # Elo's resamples never vary: no "± 0.0"
    assert board["components"][0]["prior_dominated"]
    html = _page(client_for, tenant, persona)
    assert 'data-testid="prior-dominated"' in html and 'data-testid="prior-note"' in html
    assert "± 0.0" not in html and "(no spread)" in html


def test_votes_that_are_all_ties_rate_both_sources_equally(tenant, persona, owner_principal, owner_api, client_for):
    pairs = make_pairs(owner_principal, persona, 10)
    store_votes(pairs, {add_reviewer(tenant, persona, "r1@acme.test"): ["tie"] * 10})
    entries = _board(owner_api, persona)["entries"]
    assert [e["rating"] for e in entries] == [1000.0, 1000.0] and [e["rank"] for e in entries] == [1, 1]
    assert all(e["bradley_terry"]["low"] < 1000 < e["bradley_terry"]["high"] and not e["prior_dominated"] for e in entries)
    _page(client_for, tenant, persona)


def test_no_votes_and_one_reviewer_are_defined_answers(tenant, persona, owner_principal, owner_api, client_for):
    assert _board(owner_api, persona) == {"persona_id": str(persona.public_id), "kind": "human", "prompt_set": None, "votes": 0,
                                          "rounds": 1000, "min_votes": 10, "components": [], "entries": [],
                                          "order_disagreement": [], "human_agreement": []}
    empty = _agreement(owner_api, persona)
    assert empty["votes"] == 0 and empty["pairs"] == [] and empty["reviewers"] == []
    assert empty["kappa_matrix"] == {"reviewers": [], "kappa": [], "n": []}
    assert all(a == {"alpha": None, "n": 0, "band": None, "warning": False} for a in empty["alpha"].values())
    html = _page(client_for, tenant, persona)
    assert 'data-testid="leaderboard-human-empty"' in html and "No two reviewers share a pair yet." in html

    pairs = make_pairs(owner_principal, persona, 3)
    store_votes(pairs, {add_reviewer(tenant, persona, "alone@acme.test"): ["a", "b", "tie"]})
    alone = _agreement(owner_api, persona)
    [row] = alone["reviewers"]
    assert (row["agreement"], row["agreement_n"], row["votes"]) == (None, 0, 3)  # nobody to agree with: no data, not 100 %
    assert alone["alpha"]["in_character"] == {"alpha": None, "n": 0, "band": None, "warning": False}
    html = _page(client_for, tenant, persona)
    assert 'data-testid="reviewer-agreement"><span class="muted">no data' in html and "no pair scored by two reviewers" in html


def test_poor_alpha_is_named_and_warned_about_on_the_page(tenant, persona, owner_principal, owner_api, client_for):
    pairs = make_pairs(owner_principal, persona, 6)
    first, second = (add_reviewer(tenant, persona, f"r{i}@acme.test") for i in (1, 2))
    store_votes(pairs, {first: ["a", "a", "b", "b", "tie", "a"], second: ["a", "b", "b", "a", "tie", "a"]},
                axis_scores={first: [1, 2, 3, 4, 5, 1], second: [5, 4, 3, 2, 1, 5]})
    body = _agreement(owner_api, persona)
    in_character = body["alpha"]["in_character"]
    assert in_character["n"] == 6 and in_character["alpha"] < 0 and in_character["band"] == "poor" and in_character["warning"]
    assert body["pairs"] == [{"first": "r1@acme.test", "second": "r2@acme.test", "n": 6, "kappa": body["kappa_matrix"]["kappa"][0][1]}]
    html = _page(client_for, tenant, persona)
    assert html.count('data-testid="alpha-warning"') == 1 and 'data-testid="kappa-matrix"' in html and "(n 6)" in html
