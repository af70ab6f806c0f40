"""The constitution edited as a list of traits (issue 18): each trait's statement with the markers read from its
quotes, and its questions, added, removed and reordered in place; problems shown beside their trait."""

import re

import pytest
from django.http import QueryDict

from personas.models import Persona
from training_jobs.constitution import constitution_from_form
from training_jobs.models import ConstitutionVersion

STATEMENT = 'I greet every caller with "Evening, night owls," and sign off with "Keep the needle down."'


@pytest.fixture
def persona(generate):
    return Persona.objects.get(public_id=generate().json()["id"])


@pytest.fixture
def editor(tenant, client_for):
    return client_for(tenant.user("editor"))


def form(name, traits, note="") -> dict:
    """The editor's POST: traits in order, each under its own key."""
    data = {"persona_name": name, "note": note, "trait": [key for key, _ in traits]}
    for key, (statement, questions) in traits:
        data[f"statement-{key}"], data[f"question-{key}"] = statement, questions
    return data


def as_query(data: dict) -> QueryDict:
    query = QueryDict(mutable=True)
    for key, value in data.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    return query


def test_the_editor_lists_each_trait_with_its_markers_and_questions(persona, editor):
    page = editor.get(f"/o/acme/personas/{persona.public_id}/constitution/").content.decode()
    editor_html = re.search(r'data-testid="constitution-edit".*?</section>', page, re.S).group(0)
    assert 'name="document"' not in editor_html  # no JSON textarea
    traits = re.findall(r'<li class="list-item trait-item" data-testid="trait-(\d+)"', editor_html)
    assert len(traits) >= 3 and traits[:3] == ["0", "1", "2"]
    assert 'name="statement-0"' in editor_html and 'name="question-0"' in editor_html
    assert 'data-testid="trait-markers-0"' in editor_html and 'data-list-action="add"' in editor_html
    assert 'name="statement-__key__"' in editor_html  # the template of a new trait


def test_the_form_posts_traits_in_their_shown_order_and_drops_blank_ones():
    data = form("Rui", [("b", ("Second shown", ["Why?  ", ""])), ("a", ("First key, shown last", ["How so?"])), ("c", ("", [""]))])
    assert constitution_from_form(as_query(data)) == {"persona_name": "Rui", "traits": [
        {"statement": "Second shown", "questions": ["Why?"], "source": "edited"},
        {"statement": "First key, shown last", "questions": ["How so?"], "source": "edited"},
    ]}


def test_saving_the_traits_makes_a_version_in_that_order(persona, editor):
    url = f"/o/acme/personas/{persona.public_id}/constitution/"
    traits = [("x", (STATEMENT, ["Who is on the line tonight?", "How do you end the show?", "What do you say first?"])),
              ("y", ("I answer every letter in the order it came, however long the queue.", ["What do you do with letters?"]))]
    response = editor.post(url, form("Rui Sousa", traits, note="two traits"))
    assert response.status_code == 302
    version = ConstitutionVersion.objects.get()
    assert [t["statement"] for t in version.document["traits"]] == [STATEMENT, traits[1][1][0]]
    assert version.document["traits"][0]["questions"][0] == "Who is on the line tonight?" and version.note == "two traits"
    page = editor.get(url).content.decode()
    assert '<q class="marker">Evening, night owls</q>' in page and '<q class="marker">Keep the needle down</q>' in page


def test_problems_are_shown_beside_their_trait_and_what_was_typed_is_kept(persona, editor):
    url = f"/o/acme/personas/{persona.public_id}/constitution/"
    traits = [("x", (STATEMENT, ["Who is on the line tonight?"])), ("y", ("short", ["Hm?"]))]
    response = editor.post(url, form("Rui", traits))
    assert response.status_code == 422 and not ConstitutionVersion.objects.exists()
    html = response.content.decode()
    assert re.search(r'data-testid="error-statement-1">String should have at least 12 characters<', html)
    assert re.search(r'data-testid="error-questions-1">[^<]*question 0 must be 5 to 500 characters', html)
    assert 'data-testid="error-statement-0"' not in html
    assert ">short</textarea>" in html and 'value="Hm?"' in html
    assert "2 fields to fix" in html


def test_viewers_cannot_save_traits(persona, tenant, client_for):
    viewer = client_for(tenant.user("viewer"))
    url = f"/o/acme/personas/{persona.public_id}/constitution/"
    assert viewer.post(url, form("Rui", [("x", (STATEMENT, ["Who is on the line?"]))])).status_code == 403
