"""The blind review queue: assignment rules, blindness, votes in the right frame, bad votes."""

from audits.reviews.models import Assignment, Judgment
from tests.reviews_helpers import SCORES, add_reviewer, make_pairs, reviewer_api, vote

LABELS = ("persona v1", "persona v2")


def test_each_pair_goes_to_overlap_reviewers_and_never_twice_to_one(tenant, persona, owner_principal):
    make_pairs(owner_principal, persona, 2)
    reviewers = [add_reviewer(tenant, persona, f"r{i}@acme.test") for i in range(4)]
    for user in reviewers:
        api = reviewer_api(user)
        while (item := api.get("/v1/review-queue/next").json()["item"]) is not None:
            assert api.post(f"/v1/comparisons/{item['comparison_id']}/judgments", json={"choice": "A", "scores": SCORES}).status_code == 201
    # overlap defaults to 3: two pairs × 3 reviewers, the fourth reviewer finds nothing left
    assert Assignment.objects.count() == 6 and Judgment.objects.count() == 6
    assert all(Assignment.objects.filter(comparison=c).count() == 3 for c in persona.comparisons.all())
    assert Assignment.objects.filter(reviewer=reviewers[3]).count() == 0
    pairs = list(Assignment.objects.values_list("comparison_id", "reviewer_id"))
    assert len(pairs) == len(set(pairs))


def test_the_overlap_comes_from_the_config_tree(tenant, persona, owner_principal):
    from studio.config.services import config_set

    config_set(actor=owner_principal, key="reviews.overlap", value=1)
    make_pairs(owner_principal, persona, 1)
    first, second = (add_reviewer(tenant, persona, f"r{i}@acme.test") for i in range(2))
    assert vote(reviewer_api(first))[1].status_code == 201
    assert reviewer_api(second).get("/v1/review-queue/next").json() == {"item": None, "progress": {"done": 0, "total": 0}}


def test_only_reviewers_holding_the_permission_get_pairs(tenant, persona, owner_principal, client_for):
    make_pairs(owner_principal, persona, 1)
    stranger = add_reviewer(tenant, persona, "nogrant@acme.test", grant=False)
    assert reviewer_api(stranger).get("/v1/review-queue/next").json()["item"] is None
    # an admin grants it through the API, then revokes it again
    admin = reviewer_api(tenant.user("admin"))
    member = tenant.org.memberships.get(user=stranger)
    assert admin.put(f"/v1/personas/{persona.public_id}/reviews/reviewers/{member.public_id}").status_code == 204
    assert reviewer_api(stranger).get("/v1/review-queue/next").json()["item"] is not None
    listed = admin.get(f"/v1/personas/{persona.public_id}/reviews/reviewers").json()["items"]
    assert [r["email"] for r in listed] == ["nogrant@acme.test"]
    # an editor cannot grant; a viewer cannot be granted
    editor = reviewer_api(tenant.user("editor"))
    assert editor.put(f"/v1/personas/{persona.public_id}/reviews/reviewers/{member.public_id}").status_code == 403
    viewer = tenant.membership("viewer")
    assert admin.put(f"/v1/personas/{persona.public_id}/reviews/reviewers/{viewer.public_id}").status_code == 422
    assert admin.delete(f"/v1/personas/{persona.public_id}/reviews/reviewers/{member.public_id}").status_code == 204
    assert admin.get(f"/v1/personas/{persona.public_id}/reviews/reviewers").json()["items"] == []


def test_the_api_never_shows_sources_before_the_vote_and_reveals_them_after(tenant, persona, owner_principal):
    make_pairs(owner_principal, persona, 1)
    api = reviewer_api(add_reviewer(tenant, persona, "blind@acme.test"))
    response = api.get("/v1/review-queue/next")
    body = response.content.decode()
    assert response.status_code == 200 and not any(label in body for label in LABELS)
    assert "source" not in body
    # the reviewer cannot list comparisons (which show sources) either
    assert api.get("/v1/comparisons").status_code == 403
    item = response.json()["item"]
    voted = api.post(f"/v1/comparisons/{item['comparison_id']}/judgments", json={"choice": "A", "scores": SCORES})
    assert voted.status_code == 201
    assert set(voted.json()["sources"].values()) == set(LABELS)


def test_the_vote_is_stored_in_the_pairs_own_frame_whatever_side_the_reviewer_saw(tenant, persona, owner_principal):
    [comparison] = make_pairs(owner_principal, persona, 1)
    for i in range(3):
        api = reviewer_api(add_reviewer(tenant, persona, f"r{i}@acme.test"))
        item, response = vote(api, choice="A")
        assignment = Assignment.objects.get(comparison=comparison, reviewer__email=f"r{i}@acme.test")
        shown_left = comparison.text_b if assignment.flipped else comparison.text_a
        assert item["a"] == shown_left
        judgment = Judgment.objects.get(assignment=assignment)
        assert judgment.choice == ("b" if assignment.flipped else "a")
        assert response.json()["sources"]["A"] == ("persona v2" if assignment.flipped else "persona v1")
        assert response.json()["choice"] == "A"


def test_judging_a_pair_twice_is_a_conflict_and_counts_once(tenant, persona, owner_principal):
    make_pairs(owner_principal, persona, 2)
    api = reviewer_api(add_reviewer(tenant, persona, "twice@acme.test"))
    item, first = vote(api)
    assert first.status_code == 201
    again = api.post(f"/v1/comparisons/{item['comparison_id']}/judgments", json={"choice": "B", "scores": SCORES})
    assert again.status_code == 409
    assert Judgment.objects.count() == 1 and Judgment.objects.get().choice in ("a", "b")
    assert first.json()["progress"] == {"done": 1, "total": 2}


def test_a_pair_not_assigned_to_you_is_a_404(tenant, persona, owner_principal):
    [comparison] = make_pairs(owner_principal, persona, 1)
    api = reviewer_api(add_reviewer(tenant, persona, "early@acme.test"))
    response = api.post(f"/v1/comparisons/{comparison.public_id}/judgments", json={"choice": "A", "scores": SCORES})
    assert response.status_code == 404
    assert api.post(f"/v1/comparisons/{comparison.public_id}/skip").status_code == 404


def test_axis_scores_out_of_range_are_refused_naming_the_axis(tenant, persona, owner_principal):
    make_pairs(owner_principal, persona, 1)
    api = reviewer_api(add_reviewer(tenant, persona, "range@acme.test"))
    item = api.get("/v1/review-queue/next").json()["item"]
    url = f"/v1/comparisons/{item['comparison_id']}/judgments"
    for scores, field in (({**SCORES, "in_character": 6}, "in_character"), ({**SCORES, "closure_complete": 0}, "closure_complete"),
                          ({"in_character": 3, "protocol_adherent": 3}, "closure_complete"), ({**SCORES, "vibes": 2}, "vibes")):
        response = api.post(url, json={"choice": "A", "scores": scores})
        assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [field], response.json()
    assert api.post(url, json={"choice": "left", "scores": SCORES}).status_code == 422
    assert Judgment.objects.count() == 0
    assert api.post(url, json={"choice": "tie", "scores": SCORES}).status_code == 201


def test_skipping_hands_the_pair_to_someone_else(tenant, persona, owner_principal):
    from studio.config.services import config_set

    config_set(actor=owner_principal, key="reviews.overlap", value=1)
    [comparison] = make_pairs(owner_principal, persona, 1)
    first = reviewer_api(add_reviewer(tenant, persona, "skipper@acme.test"))
    second = reviewer_api(add_reviewer(tenant, persona, "taker@acme.test"))
    item = first.get("/v1/review-queue/next").json()["item"]
    assert second.get("/v1/review-queue/next").json()["item"] is None  # the only seat is taken
    assert first.post(f"/v1/comparisons/{item['comparison_id']}/skip").json()["skipped"] is True
    assert first.get("/v1/review-queue/next").json()["item"] is None  # never offered twice
    assert second.get("/v1/review-queue/next").json()["item"]["comparison_id"] == str(comparison.public_id)
    assert first.post(f"/v1/comparisons/{item['comparison_id']}/judgments", json={"choice": "A", "scores": SCORES}).status_code == 409


def test_api_keys_cannot_vote_for_a_person(tenant, persona, owner_principal, api_for):
    make_pairs(owner_principal, persona, 1)
    assert api_for(tenant.org).get("/v1/review-queue/next").status_code == 403
    assert api_for(tenant.org, scopes=["personas:read"]).get("/v1/review-queue/next").status_code == 403


def test_the_weighted_score_uses_the_personas_own_axis_weights(tenant, persona, owner_principal):
    from studio.config.schema import persona_weights_key
    from studio.config.services import config_set

    make_pairs(owner_principal, persona, 2)
    api = reviewer_api(add_reviewer(tenant, persona, "weights@acme.test"))
    _, response = vote(api, scores={"in_character": 5, "protocol_adherent": 1, "closure_complete": 2})
    assert response.json()["weighted_score"] == 0.4 * 5 + 0.3 * 1 + 0.3 * 2  # the general default weights
    weights = {"in_character": 0.5, "protocol_adherent": 0.5, "closure_complete": 0.0}
    config_set(actor=owner_principal, key=persona_weights_key(persona.public_id), value=weights)
    _, response = vote(api, scores={"in_character": 5, "protocol_adherent": 1, "closure_complete": 2})
    assert response.json()["weighted_score"] == 3.0 and response.json()["weights"] == weights


def test_time_per_vote_is_measured_from_when_the_pair_was_shown(tenant, persona, owner_principal):
    make_pairs(owner_principal, persona, 1)
    api = reviewer_api(add_reviewer(tenant, persona, "clock@acme.test"))
    vote(api)
    judgment = Judgment.objects.get()
    assert judgment.shown_at is not None and judgment.seconds >= 0


def test_the_vote_form_also_works_without_htmx(tenant, persona, owner_principal, client_for):
    """A key pressed before htmx has taken over the form, or no JavaScript at all: a plain POST still votes."""
    from tests.conftest import login_client

    make_pairs(owner_principal, persona, 1)
    user = add_reviewer(tenant, persona, "plain@acme.test")
    client = login_client(user)
    page = client.get("/o/acme/reviews/queue/").content.decode()
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    comparison = Assignment.objects.get(reviewer=user).comparison
    response = client.post(f"/o/acme/reviews/queue/{comparison.public_id}/vote/", {"choice": "tie", **{k: str(v) for k, v in SCORES.items()}})
    assert response.status_code == 200 and 'data-testid="revealed"' in response.content.decode()
    assert Judgment.objects.filter(reviewer=user).count() == 1
