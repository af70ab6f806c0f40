"""Helpers for the reviews tests: a ready persona, reviewers holding the review permission, pairs."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audits.reviews.models import Assignment, Judgment
from audits.reviews.services import comparisons_create, reviewer_grant
from personas.models import Persona
from studio import services
from studio.principal import Principal


@pytest.fixture
def persona(generate):
    return Persona.objects.get(public_id=generate().json()["id"])


@pytest.fixture
def owner_principal(tenant):
    return Principal.from_membership(tenant.membership("owner"))


def add_reviewer(tenant, persona, email: str, *, grant: bool = True):
    from tests.conftest import make_user  # conftest imports this module's fixtures

    user = make_user(email)
    member = services.member_add(organization=tenant.org, user=user, role="reviewer")
    if grant:
        reviewer_grant(actor=Principal.from_membership(tenant.membership("owner")), persona=persona, member=member)
    return user


def reviewer_api(user, org_slug: str = "acme"):
    """The JSON API as this user's browser session."""
    from tests.conftest import SessionApi

    return SessionApi(user, org_slug)


def make_pairs(principal, persona, n: int, *, sources=("persona v1", "persona v2"), prompt_set=None):
    rows = [
        {"prompt": f"Question {i}?", "text_a": f"First answer {i} from the left", "text_b": f"Second answer {i} from the right",
         "source_a": sources[0], "source_b": sources[1]}
        for i in range(n)
    ]
    return comparisons_create(principal=principal, persona=persona, rows=rows, prompt_set=prompt_set)


SCORES = {"in_character": 4, "protocol_adherent": 3, "closure_complete": 5}


def vote(api, choice="A", scores=None, comment=""):
    """Take the next pair and vote on it; returns (item, response)."""
    item = api.get("/v1/review-queue/next").json()["item"]
    assert item is not None, "the queue is empty"
    response = api.post(f"/v1/comparisons/{item['comparison_id']}/judgments", json={"choice": choice, "scores": scores or SCORES, "comment": comment})
    return item, response


def store_votes(pairs, votes: dict, axis_scores: dict | None = None):
    """votes: reviewer user → list of choices in the pairs' own frame (None: no vote). Ten seconds per vote."""
    for user, choices in votes.items():
        for i, (comparison, choice) in enumerate(zip(pairs, choices)):
            if choice is None:
                continue
            assignment = Assignment.objects.create(comparison=comparison, reviewer=user, flipped=False)
            score = (axis_scores or {}).get(user, [3] * len(pairs))[i]
            Judgment.objects.create(
                organization=comparison.organization, comparison=comparison, assignment=assignment, reviewer=user, choice=choice,
                in_character=score, protocol_adherent=3, closure_complete=3, weighted_score=3.0,
                shown_at=timezone.now() - timedelta(seconds=10),
            )
