"""Helpers for the reviews tests: a ready persona, reviewers holding the review permission, pairs."""

import pytest

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
