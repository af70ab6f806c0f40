"""Structured editing of a persona (issue 18): each layer in a form that fits its fields, validation beside each
field, the new version everywhere after a save without a reload, an item-level diff, restoring a version, and
auditing an edited version (by hand or on save when engine.pipeline.audit.on_edit)."""

import re

import pytest

from personas.models import Persona, PersonaVersion
from pipeline.models import PipelineRun
from studio.config.services import config_set
from studio.principal import Principal


@pytest.fixture
def persona(generate):
    return Persona.objects.get(public_id=generate().json()["id"])


@pytest.fixture
def editor(tenant, client_for):
    return client_for(tenant.user("editor"))


def form_of(document: dict, prefix="") -> dict:
    """A layer document as the structured form posts it: dotted names, one value per list item."""
    fields = {}
    for key, value in document.items():
        if isinstance(value, dict):
            fields.update(form_of(value, f"{prefix}{key}."))
        else:
            fields[prefix + key] = value
    return fields


def save(client, persona, layer, document, capture=None):
    url = f"/o/acme/personas/{persona.public_id}/layers/{layer}/"
    if capture is None:
        return client.post(url, form_of(document), HTTP_HX_REQUEST="true")
    with capture(execute=True):
        return client.post(url, form_of(document), HTTP_HX_REQUEST="true")


def test_each_layer_is_edited_in_a_form_that_fits_its_fields(persona, editor):
    page = editor.get(f"/o/acme/personas/{persona.public_id}/").content.decode()
    assert 'name="document"' not in page and "not valid JSON" not in page  # no raw JSON any more
    assert re.search(r'<textarea name="desire"', page) and re.search(r'<textarea name="appearance"', page)
    for trait in ("openness", "conscientiousness", "extraversion", "agreeableness", "neuroticism"):
        assert re.search(rf'<input type="range" name="big_five\.{trait}" min="0" max="1" step="0\.01"', page), trait
    values = persona.current_version.self_layer["values"]
    assert page.count('name="values"') == len(values) + 1  # the items and the template for a new one
    assert 'data-list-action="add"' in page and 'data-list-action="up"' in page and 'data-list-action="remove"' in page
    assert re.search(r'<select name="attachment_style">', page) and re.search(r'<input type="number" name="age" min="1" max="120"', page)
    assert 'name="voice.register"' in page and 'name="signature_phrases"' in page


def test_a_save_shows_the_new_version_everywhere_without_a_reload(persona, editor):
    self_layer = {**persona.current_version.self_layer, "archetype": "The Keeper"}
    response = save(editor, persona, "self", self_layer)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Saved self as version 2." in html and 'id="layers"' in html
    # out of band: every place that names the current version, each with a target on the page
    badge = re.search(r'<span id="persona-version"[^>]*hx-swap-oob="true"[^>]*>(.*?)</span>', html, re.S).group(1)
    assert badge.startswith("version 2")
    assert re.search(r'<section id="audit-card"[^>]*hx-swap-oob="true"', html) and "of version 2" in html
    versions = re.search(r'<section id="versions"[^>]*hx-swap-oob="true".*?</section>', html, re.S).group(0)
    assert 'data-testid="version-row-2"' in versions and 'data-testid="version-row-1"' in versions
    assert re.search(r'data-testid="version-row-2" class="current"', versions)
    page = editor.get(f"/o/acme/personas/{persona.public_id}/").content.decode()
    for target in ('id="persona-version"', 'id="audit-card"', 'id="versions"', 'id="layers"'):
        assert target in page, target
    assert persona.versions.count() == 2 and persona.versions.get(number=2).self_layer["archetype"] == "The Keeper"


def test_list_items_keep_the_order_they_are_posted_in_and_blank_ones_are_dropped(persona, editor):
    mask = persona.current_version.mask
    phrases = list(reversed(mask["signature_phrases"]))[:2] + ["  Steady as she goes  ", ""]
    assert save(editor, persona, "mask", {**mask, "signature_phrases": phrases}).status_code == 200
    saved = Persona.objects.get(pk=persona.pk).current_version.mask["signature_phrases"]
    assert saved == [*phrases[:2], "Steady as she goes"]


def test_bad_input_is_a_422_with_each_problem_beside_its_field_and_no_new_version(persona, editor):
    self_layer = persona.current_version.self_layer
    bad = {**self_layer, "big_five": {**self_layer["big_five"], "openness": "1.5", "neuroticism": "lots"}, "values": ["only one"],
           "attachment_style": "clingy"}
    response = save(editor, persona, "self", bad)
    assert response.status_code == 422
    html = response.content.decode()
    errors = dict(re.findall(r'data-testid="error-([\w.]+)">([^<]*)<', html))
    assert errors == {"big_five.openness": "must be less than or equal to 1", "big_five.neuroticism": "must be a number",
                      "values": "at least 2 items", "attachment_style": "pick one of secure, anxious, avoidant or disorganized"}
    assert 'value="only one"' in html  # what was typed stays in the form
    assert 'data-testid="edit-self" open' in html or re.search(r'<details class="layer-edit" open data-testid="edit-self"', html)
    assert "self.big_five.openness: must be less than or equal to 1 (and 3 more)" in html
    assert persona.versions.count() == 1


def test_an_empty_required_field_says_so_and_a_non_number_age_too(persona, editor):
    surface = {**persona.current_version.surface, "name": "", "age": "old"}
    html = save(editor, persona, "surface", surface).content.decode()
    assert 'data-testid="error-name">required<' in html and 'data-testid="error-age">must be a whole number<' in html


def test_viewers_cannot_edit_and_an_unknown_layer_is_404(persona, tenant, client_for, editor):
    viewer = client_for(tenant.user("viewer"))
    assert "Save as new version" not in viewer.get(f"/o/acme/personas/{persona.public_id}/").content.decode()
    assert save(viewer, persona, "soul", persona.current_version.soul).status_code == 403
    assert save(editor, persona, "spirit", {}).status_code == 404
    assert persona.versions.count() == 1


# --- diff and restore -------------------------------------------------------------------------------------------


def test_the_diff_is_item_level_and_readable(persona, editor):
    self_layer = persona.current_version.self_layer
    values = self_layer["values"]
    new_values = [values[1], values[0], *values[2:], "Patience"]
    save(editor, persona, "self", {**self_layer, "values": new_values, "archetype": "The Keeper"})
    page = editor.get(f"/o/acme/personas/{persona.public_id}/versions/diff/?from=1&to=2").content.decode()
    assert "['" not in page and "[&#x27;" not in page  # no Python list reprs
    row = re.search(r'data-testid="change-self-values".*?</tr>', page, re.S).group(0)
    ops = re.findall(r'data-op="([\w ]+)">(?:<span class="op-tag">[\w ]+</span>)?([^<]*)</li>', row)
    assert ("added", "Patience") in ops
    assert {text for op, text in ops if op == "kept"} <= set(values)
    assert any(op.startswith("moved") for op, _ in ops)  # the swapped pair
    archetype = re.search(r'data-testid="change-self-archetype".*?</tr>', page, re.S).group(0)
    assert f'class="del" data-label="v1">{self_layer["archetype"]}<' in archetype and 'class="add" data-label="v2">The Keeper<' in archetype


def test_the_api_diff_lists_list_items_too(persona, editor, owner_api):
    mask = persona.current_version.mask
    save(editor, persona, "mask", {**mask, "signature_phrases": [*mask["signature_phrases"][:2], "Aye, aye"]})
    changes = owner_api.get(f"/v1/personas/{persona.public_id}/versions/diff?from=1&to=2").json()["changes"]
    change = next(c for c in changes if c["field"] == "signature_phrases")
    assert change["kind"] == "list" and {"op": "added", "text": "Aye, aye"} in change["items"]


def test_restoring_a_version_makes_a_new_one_with_its_layers(persona, editor):
    original = persona.current_version
    save(editor, persona, "surface", {**original.surface, "age": 71})
    response = editor.post(f"/o/acme/personas/{persona.public_id}/versions/1/restore/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Restored v1 as version 3." in html and re.search(r'id="persona-version"[^>]*>version 3', html)
    v3 = PersonaVersion.objects.get(persona=persona, number=3)
    assert v3.source == "restore" and v3.note == "restored from v1" and v3.layers == original.layers and v3.audit is None
    assert Persona.objects.get(pk=persona.pk).current_version == v3 and persona.versions.count() == 3  # nothing deleted


def test_restore_refuses_the_current_version_and_a_missing_one(persona, editor, tenant, client_for):
    base = f"/o/acme/personas/{persona.public_id}/versions"
    assert editor.post(f"{base}/1/restore/", HTTP_HX_REQUEST="true").status_code == 409
    assert editor.post(f"{base}/9/restore/").status_code == 404
    assert client_for(tenant.user("viewer")).post(f"{base}/1/restore/").status_code == 403
    assert persona.versions.count() == 1


def test_the_diff_page_offers_to_restore_the_older_version(persona, editor):
    save(editor, persona, "surface", {**persona.current_version.surface, "age": 71})
    page = editor.get(f"/o/acme/personas/{persona.public_id}/versions/diff/?from=1&to=2").content.decode()
    assert f'action="/o/acme/personas/{persona.public_id}/versions/1/restore/"' in page
    response = editor.post(f"/o/acme/personas/{persona.public_id}/versions/1/restore/")
    assert response.status_code == 302 and persona.versions.count() == 3


# --- auditing an edited version ---------------------------------------------------------------------------------


def test_an_edited_version_is_audited_with_one_click(persona, editor, django_capture_on_commit_callbacks):
    save(editor, persona, "surface", {**persona.current_version.surface, "age": 71})
    page = editor.get(f"/o/acme/personas/{persona.public_id}/").content.decode()
    assert 'data-testid="not-audited"' in page and "Audit this version" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = editor.post(f"/o/acme/personas/{persona.public_id}/versions/2/audit/", HTTP_HX_REQUEST="true")
    assert response.status_code == 202 and 'data-testid="auditing"' in response.content.decode()  # rendered before it ran
    run = PipelineRun.objects.get(mode="audit")
    assert run.seed == {"audit_version": 2} and run.status in ("ready", "flagged")
    assert list(run.steps.values_list("step", flat=True)) == ["audit"]
    v2 = PersonaVersion.objects.get(persona=persona, number=2)
    assert v2.audit["overall"] == run.steps.get().output["overall"]
    assert PersonaVersion.objects.filter(persona=persona).count() == 2  # no new version
    assert Persona.objects.get(pk=persona.pk).status == run.status
    card = editor.get(f"/o/acme/personas/{persona.public_id}/audit-card/").content.decode()
    assert 'data-testid="audit-chart"' in card and "Audit again" in card
    assert re.search(r'<section id="versions"[^>]*hx-swap-oob="true"', card)  # the Audit column, once it is done
    assert re.search(rf'<span id="persona-status" class="badge status-{run.status}"[^>]*hx-swap-oob="true"', card)  # ready or flagged
    assert f"{v2.audit['overall']:.2f}" in card
    runs_card = re.search(r'<section class="card" id="runs-card"[^>]*hx-swap-oob="true">(.*?)</section>', card, re.S)
    assert runs_card and f"audit of v2 · {run.status}" in runs_card.group(1)  # the Runs card follows without a reload
    assert "Audit of v2" in editor.get(f"/o/acme/personas/{persona.public_id}/tests/").content.decode()
    run_page = editor.get(f"/o/acme/runs/{run.public_id}/").content.decode()
    assert "auditing version 2" in run_page and 'data-testid="step-audit"' in run_page and 'data-testid="step-soul_draft"' not in run_page


def test_while_an_audit_runs_the_card_polls_and_a_second_one_is_refused(persona, editor):
    save(editor, persona, "surface", {**persona.current_version.surface, "age": 71})
    first = editor.post(f"/o/acme/personas/{persona.public_id}/versions/2/audit/", HTTP_HX_REQUEST="true")  # queued, not run
    assert first.status_code == 202
    card = editor.get(f"/o/acme/personas/{persona.public_id}/audit-card/").content.decode()
    assert 'hx-trigger="every 1s"' in card and "Auditing version 2" in card and 'id="versions"' not in card
    again = editor.post(f"/o/acme/personas/{persona.public_id}/versions/2/audit/", HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and "already being audited" in again.content.decode()
    assert editor.post(f"/o/acme/personas/{persona.public_id}/versions/7/audit/").status_code == 404


def test_with_audit_on_edit_a_saved_version_is_audited_by_itself(persona, editor, tenant, django_capture_on_commit_callbacks):
    save(editor, persona, "surface", {**persona.current_version.surface, "age": 70}, django_capture_on_commit_callbacks)
    assert not PipelineRun.objects.filter(mode="audit").exists()  # off by default
    config_set(actor=Principal.from_membership(tenant.membership("owner")), key="engine.pipeline.audit.on_edit", value=True)
    save(editor, persona, "surface", {**persona.current_version.surface, "age": 71}, django_capture_on_commit_callbacks)
    run = PipelineRun.objects.get(mode="audit")
    assert run.seed == {"audit_version": 3} and PersonaVersion.objects.get(persona=persona, number=3).audit is not None


def test_viewers_cannot_start_an_audit(persona, tenant, client_for):
    viewer = client_for(tenant.user("viewer"))
    assert "Audit again" not in viewer.get(f"/o/acme/personas/{persona.public_id}/").content.decode()
    assert viewer.post(f"/o/acme/personas/{persona.public_id}/versions/1/audit/").status_code == 403
    assert not PipelineRun.objects.filter(mode="audit").exists()


# --- the same over the API --------------------------------------------------------------------------------------


def test_the_api_restores_a_version_and_audits_one(persona, editor, owner_api, django_capture_on_commit_callbacks):
    save(editor, persona, "surface", {**persona.current_version.surface, "age": 71})
    restored = owner_api.post(f"/v1/personas/{persona.public_id}/versions/1/restore")
    assert restored.status_code == 200 and restored.json()["version"] == 3
    assert owner_api.post(f"/v1/personas/{persona.public_id}/versions/3/restore").status_code == 409
    assert owner_api.post(f"/v1/personas/{persona.public_id}/versions/9/restore").status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        started = owner_api.post(f"/v1/personas/{persona.public_id}/versions/3/audit")
    assert started.status_code == 202
    run = owner_api.get(f"/v1/runs/{started.json()['run_id']}").json()
    assert run["status"] in ("ready", "flagged") and [s["step"] for s in run["steps"]] == ["audit"]
    assert PersonaVersion.objects.get(persona=persona, number=3).audit is not None
