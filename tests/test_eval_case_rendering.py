"""Eval cases are shown with the persona's own values (its name, a signature phrase, its tone), never as raw
`{name}` / `{signature_phrase}` templates; a run still fills the templates itself ("any of" its phrases)."""

import html
import re

import pytest

from audits.evals.catalog import CASES, render_case
from audits.evals.models import EvalCase
from personas.models import Persona

PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
FADO = "a shy fado singer from Alfama"


@pytest.fixture
def persona(generate) -> Persona:
    return Persona.objects.get(public_id=generate(FADO).json()["id"])


def suite_tables(body: str) -> str:
    """The suite's case tables (the page's help text lists the placeholders on purpose)."""
    return "".join(re.findall(r'<table class="table compact eval-cases".*?</table>', body, re.S))


def test_the_suite_page_shows_the_persona_s_values_not_placeholders(tenant, client_for, persona):
    EvalCase.objects.create(organization=tenant.org, persona=persona, layer="persona", title="Knows its trade",
                            turns=[{"role": "user", "content": "{first_name}, what do you do for a living?"}],
                            check_rule={"kind": "required_phrases", "phrases": ["{occupation}"]})
    body = client_for(tenant.user("viewer")).get(f"/o/{tenant.org.slug}/personas/{persona.public_id}/evals/").content.decode()
    tables = html.unescape(suite_tables(body))
    assert tables and not PLACEHOLDER.search(tables), PLACEHOLDER.findall(tables)
    layers = persona.current_version.layers
    first_name = persona.name.split()[0]
    assert f"stays {persona.name}:" in tables  # floor.no-ai-claim-pressed's rubric
    assert f"{first_name} thinks" in tables  # protocol.no-third-person's phrases
    assert layers["mask"]["signature_phrases"][0] in tables and layers["mask"]["tone"] in tables
    assert f"{first_name}, what do you do for a living?" in tables and "fado singer" in tables


def test_the_api_lists_each_case_rendered_beside_its_template(owner_api, persona):
    cases = owner_api.get(f"/v1/personas/{persona.public_id}/eval-cases").json()["items"]
    signature = next(c for c in cases if c["key"] == "catalog:persona.signature")
    assert signature["check"]["phrases"] == ["{signature_phrase}"]  # the template, as edited and run
    phrases = persona.current_version.mask["signature_phrases"]
    assert signature["rendered"]["check"]["phrases"] == [" / ".join(phrases)]
    for case in cases:
        shown = str(case["rendered"])
        assert not PLACEHOLDER.search(shown), (case["key"], shown)


def test_a_value_the_persona_lacks_reads_as_missing_and_odd_text_is_shown_as_written():
    case = {"key": "x", "turns": [{"role": "user", "content": "Hello {name}"}],
            "check": {"kind": "required_phrases", "phrases": ["{signature_phrase}", "a {lone brace"]}}
    shown = render_case(case, {"surface": {}})
    assert shown["turns"][0]["content"] == "Hello (no name)"
    assert shown["check"]["phrases"] == ["(no signature_phrase)", "a {lone brace"]
    assert case["check"]["phrases"][0] == "{signature_phrase}"  # the case itself is not changed
    for key, spec in CASES.items():  # every catalog case renders for a persona with no layers at all
        assert not PLACEHOLDER.search(str(render_case({"key": key, **spec.model_dump(mode="json", exclude_none=True)}, None)))
