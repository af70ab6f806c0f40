"""What votes become: agreement, leaderboards with intervals, exports (CSV, JSONL, DPO pairs); and the pages."""

import csv
import io
import json

from audits.reviews.models import Assignment
from tests.reviews_helpers import SCORES, add_reviewer, make_pairs, reviewer_api, store_votes


def test_agreement_on_a_constructed_case(tenant, persona, owner_principal, owner_api):
    pairs = make_pairs(owner_principal, persona, 4)
    first, second, third = (add_reviewer(tenant, persona, f"r{i}@acme.test") for i in (1, 2, 3))
    store_votes(pairs, {first: ["a", "a", "b", "tie"], second: ["a", "b", "b", "tie"], third: ["b", None, None, None]},
                 axis_scores={first: [5, 4, 3, 2], second: [5, 4, 3, 2], third: [1, 1, 1, 1]})
    body = owner_api.get(f"/v1/personas/{persona.public_id}/reviews/agreement").json()
    assert body["votes"] == 9
    kappas = {(p["first"], p["second"]): p for p in body["pairs"]}
    # r1 × r2 on 4 pairs: observed 3/4; chance (2·1 + 1·2 + 1·1)/16 = 5/16; κ = (12/16 − 5/16)/(11/16) = 7/11
    assert kappas[("r1@acme.test", "r2@acme.test")]["n"] == 4
    assert kappas[("r1@acme.test", "r2@acme.test")]["kappa"] == round(7 / 11, 3)
    assert kappas[("r1@acme.test", "r3@acme.test")]["n"] == 1
    matrix = body["kappa_matrix"]
    assert matrix["reviewers"] == ["r1@acme.test", "r2@acme.test", "r3@acme.test"]
    assert matrix["kappa"][0][1] == matrix["kappa"][1][0] == round(7 / 11, 3) and matrix["kappa"][0][0] is None
    assert matrix["n"] == [[0, 4, 1], [4, 0, 1], [1, 1, 0]]
    assert body["alpha"]["protocol_adherent"] == {"alpha": None, "n": 4, "band": None, "warning": False}  # all 3s: no variation
    in_character = body["alpha"]["in_character"]
    assert in_character["n"] == 4 and in_character["alpha"] is not None and in_character["alpha"] < 1
    table = {r["reviewer"]: r for r in body["reviewers"]}
    # Leave-one-out, by hand. r1: pair 1 the others split (r2 a, r3 b) → skipped; pair 2 r2 says b (r1 a) → no;
    # pairs 3 and 4 r2 agrees → 2 of 3. r2 likewise 2 of 3. r3: pair 1 the others say a (r3 b) → 0 of 1.
    assert (table["r1@acme.test"]["agreement"], table["r1@acme.test"]["agreement_n"]) == (round(2 / 3, 3), 3)
    assert (table["r2@acme.test"]["agreement"], table["r2@acme.test"]["agreement_n"]) == (round(2 / 3, 3), 3)
    assert (table["r3@acme.test"]["agreement"], table["r3@acme.test"]["agreement_n"]) == (0.0, 1)
    assert table["r1@acme.test"]["votes"] == 4 and table["r1@acme.test"]["ties"] == 1
    assert 9.5 <= table["r1@acme.test"]["median_seconds"] <= 15


def test_two_reviewers_agree_with_each_other_as_often_as_they_vote_alike(tenant, persona, owner_principal, owner_api):
    """The issue's case: each reviewer used to read "agreement with majority 1.0" next to a κ of 0.475."""
    pairs = make_pairs(owner_principal, persona, 8)
    first, second = (add_reviewer(tenant, persona, f"r{i}@acme.test") for i in (1, 2))
    store_votes(pairs, {first: ["a", "a", "a", "b", "b", "tie", "a", "b"], second: ["a", "a", "b", "b", "a", "tie", "a", "tie"]})
    body = owner_api.get(f"/v1/personas/{persona.public_id}/reviews/agreement").json()
    for row in body["reviewers"]:
        assert (row["agreement"], row["agreement_n"]) == (round(5 / 8, 3), 8)  # the other reviewer is the majority of one


def test_two_reviewers_in_full_agreement_have_kappa_and_alpha_of_one(tenant, persona, owner_principal, owner_api):
    pairs = make_pairs(owner_principal, persona, 3)
    first, second = (add_reviewer(tenant, persona, f"r{i}@acme.test") for i in (1, 2))
    store_votes(pairs, {first: ["a", "b", "tie"], second: ["a", "b", "tie"]}, axis_scores={first: [1, 3, 5], second: [1, 3, 5]})
    body = owner_api.get(f"/v1/personas/{persona.public_id}/reviews/agreement").json()
    assert body["pairs"][0]["kappa"] == 1.0
    assert body["alpha"]["in_character"] == {"alpha": 1.0, "n": 3, "band": "strong", "warning": False}
    assert all(r["agreement"] == 1.0 and r["agreement_n"] == 3 for r in body["reviewers"])


def test_the_leaderboard_follows_the_votes_with_intervals_and_ranks(tenant, persona, owner_principal, owner_api):
    strong = make_pairs(owner_principal, persona, 12, sources=("persona v1", "persona v2"))
    even = make_pairs(owner_principal, persona, 6, sources=("persona v2", "base"), prompt_set="other")
    voters = [add_reviewer(tenant, persona, f"r{i}@acme.test") for i in range(3)]
    store_votes(strong, {user: ["b"] * 12 for user in voters})  # v2 beats v1 every time
    store_votes(even, {voters[0]: ["a", "b", "tie", "a", "b", "tie"]})
    board = owner_api.get(f"/v1/personas/{persona.public_id}/reviews/leaderboard").json()
    assert board["votes"] == 42 and board["rounds"] == 1000 and board["min_votes"] == 10
    entries = {e["source"]: e for e in board["entries"]}
    assert [e["source"] for e in board["entries"]] == ["persona v2", "persona v1", "base"]  # rated by rank, then the unrated
    assert {e["component"] for e in board["entries"]} == {1} and board["components"][0]["votes"] == 42
    assert [entries[s]["votes"] for s in ("persona v2", "persona v1", "base")] == [42, 36, 6]
    top, bottom = entries["persona v2"], entries["persona v1"]
    assert entries["base"]["too_few_votes"] and entries["base"]["rating"] is None and entries["base"]["rank"] is None
    assert entries["base"]["note"] == "too few votes (6 of 10)"
    # v1 never won: the votes say "worse", not by how much, so the interval is the prior's and says so
    for entry in (top, bottom):
        bt = entry["bradley_terry"]
        assert entry["prior_dominated"] and entry["interval"] == "posterior" and "prior" in entry["note"]
        assert bt["low"] < bt["rating"] < bt["high"] and bt["std"] > 0
        assert entry["elo"]["low"] <= entry["elo"]["high"]
    assert top["rank"] == 1 and bottom["rank"] == 2
    assert top["bradley_terry"]["low"] > bottom["bradley_terry"]["high"]
    # one prompt set only; fewer rounds and fewer votes needed, from the config tree
    from studio.config.services import config_set

    config_set(actor=owner_principal, key="reviews.bootstrap_rounds", value=50)
    config_set(actor=owner_principal, key="reviews.min_votes_for_rating", value=5)
    other = owner_api.get(f"/v1/personas/{persona.public_id}/reviews/leaderboard?prompt_set=other").json()
    assert other["votes"] == 6 and other["rounds"] == 50 and {e["source"] for e in other["entries"]} == {"persona v2", "base"}
    assert all(e["rank"] == 1 and e["interval"] == "bootstrap" and not e["prior_dominated"] for e in other["entries"])  # even votes
    assert owner_api.get(f"/v1/personas/{persona.public_id}/reviews/leaderboard?kind=crowd").status_code == 422


def test_exports_as_csv_jsonl_and_dpo_pairs_without_ties(tenant, persona, owner_principal, owner_api):
    pairs = make_pairs(owner_principal, persona, 3)
    first, second = (add_reviewer(tenant, persona, f"r{i}@acme.test") for i in (1, 2))
    store_votes(pairs, {first: ["a", "b", "tie"], second: ["a", "a", "tie"]})
    url = f"/v1/personas/{persona.public_id}/reviews"
    response = owner_api.get(f"{url}/judgments?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == 6 and {r["winner"] for r in rows} == {"persona v1", "persona v2", ""}
    assert rows[0]["in_character"] == "3" and rows[0]["reviewer"] == "r1@acme.test"
    lines = [json.loads(line) for line in owner_api.get(f"{url}/judgments?format=jsonl").content.decode().splitlines()]
    assert len(lines) == 6 and lines[0]["prompt"] == pairs[0].prompt and lines[0]["choice"] == "a"
    dpo = [json.loads(line) for line in owner_api.get(f"{url}/dpo-pairs").content.decode().splitlines()]
    # pair 1: a, a → chosen text_a; pair 2: b, a → no majority; pair 3: ties → left out
    assert dpo == [{"prompt": pairs[0].prompt, "chosen": pairs[0].text_a, "rejected": pairs[0].text_b}]
    assert owner_api.get(f"{url}/judgments?format=xml").status_code == 422
    reviewer = reviewer_api(first)
    assert reviewer.get(f"{url}/judgments?format=csv").status_code == 403  # exports show sources


def test_an_outsider_gets_404_on_every_review_route(tenant, persona, owner_principal, outsider_tenant, api_for, client_for):
    [comparison] = make_pairs(owner_principal, persona, 1, sources=("secret-src-a", "secret-src-b"))
    outsider_api = api_for(outsider_tenant.org)
    member = tenant.membership("reviewer")
    for method, url in (
        ("get", f"/v1/personas/{persona.public_id}/reviews/leaderboard"), ("get", f"/v1/personas/{persona.public_id}/reviews/agreement"),
        ("get", f"/v1/personas/{persona.public_id}/reviews/dpo-pairs"), ("get", f"/v1/comparisons?persona_id={persona.public_id}"),
        ("post", f"/v1/comparisons/{comparison.public_id}/skip"), ("put", f"/v1/personas/{persona.public_id}/reviews/reviewers/{member.public_id}"),
    ):
        response = getattr(outsider_api, method)(url)
        assert response.status_code == 404, url
        assert b"secret-src" not in response.content
    vote = outsider_api.post(f"/v1/comparisons/{comparison.public_id}/judgments", json={"choice": "A", "scores": SCORES})
    assert vote.status_code == 404
    assert b"secret-src" not in outsider_api.get("/v1/comparisons").content
    page = client_for(outsider_tenant.owner)
    for url in (f"/o/acme/reviews/personas/{persona.public_id}/", "/o/acme/reviews/queue/", f"/o/globex/reviews/personas/{persona.public_id}/"):
        assert page.get(url).status_code == 404, url
    assert page.post(f"/o/globex/reviews/queue/{comparison.public_id}/vote/", {"choice": "a"}).status_code == 404


def test_the_queue_page_hides_sources_until_the_vote_then_reveals_them(tenant, persona, owner_principal, client_for):
    make_pairs(owner_principal, persona, 2, sources=("secret-src-a", "secret-src-b"))
    user = add_reviewer(tenant, persona, "page@acme.test")
    client = client_for(user)
    page = client.get("/o/acme/reviews/queue/")
    html = page.content.decode()
    assert page.status_code == 200 and "secret-src" not in html
    assert "Pair 1 of 2" in html and 'data-keys="qwert"' in html
    assignment = Assignment.objects.get(reviewer=user)
    form = {"choice": "a", **{k: str(v) for k, v in SCORES.items()}}
    voted = client.post(f"/o/acme/reviews/queue/{assignment.comparison.public_id}/vote/", form, HTTP_HX_REQUEST="true")
    html = voted.content.decode()
    shown_a = "secret-src-b" if assignment.flipped else "secret-src-a"
    assert voted.status_code == 200 and f'data-testid="revealed-a">{shown_a}<' in html
    assert "Pair 2 of 2" in html
    # the next pair is on the page, and only the revealed block names sources
    assert html.count("secret-src") == 2
    bad = client.post(f"/o/acme/reviews/queue/{Assignment.objects.exclude(pk=assignment.pk).get().comparison.public_id}/vote/",
                      {**form, "in_character": "9"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422 and "in_character" in bad.content.decode()


def test_the_persona_review_page_shows_leaderboard_agreement_and_lets_an_admin_grant(tenant, persona, owner_principal, client_for):
    pairs = make_pairs(owner_principal, persona, 3)
    user = add_reviewer(tenant, persona, "shown@acme.test")
    store_votes(pairs, {user: ["b", "b", "a"]})
    admin = client_for(tenant.user("admin"))
    page = admin.get(f"/o/acme/reviews/personas/{persona.public_id}/")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="leaderboard-human"' in html and "shown@acme.test" in html
    assert html.count('data-testid="too-few-votes"') == 2 and "<svg" not in html  # 3 votes each: no rating, no bar
    editor_member = tenant.membership("editor")
    assert admin.post(f"/o/acme/reviews/personas/{persona.public_id}/reviewers/", {"member_id": str(editor_member.public_id)}).status_code == 302
    assert tenant.user("editor").has_perm("reviews.review_persona_pairs", persona.review_pool)
    assert admin.get("/o/acme/reviews/").status_code == 200
    export = admin.get(f"/o/acme/reviews/personas/{persona.public_id}/export/dpo/")
    assert export.status_code == 200 and export.content.count(b"\n") == 3
