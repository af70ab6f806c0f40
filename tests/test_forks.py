"""Forks with lineage: a child generated from its parent's layers and a note of what differs, its parent and
version recorded, the family tree on the page and over the API, and its fingerprint's distance from the parent's
flagged past engine.pipeline.fork.max_drift_from_parent."""

import pytest

from personas.models import Persona
from studio.config.services import config_set
from studio.principal import Principal
from tests.fingerprint_helpers import cosine_distance


@pytest.fixture
def fork(owner_api, django_capture_on_commit_callbacks):
    def run(persona_id, note="same woman, but at work", client=None):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or owner_api).post(f"/v1/personas/{persona_id}/fork", json={"note": note})

    return run


def test_a_fork_keeps_its_parents_soul_and_self_and_records_its_lineage(generate, fork, owner_api):
    parent = owner_api.get(f"/v1/personas/{generate().json()['id']}").json()
    response = fork(parent["id"])
    assert response.status_code == 202, response.content
    child = owner_api.get(f"/v1/personas/{response.json()['id']}").json()
    assert (child["origin"], child["parent_id"], child["parent_version"], child["fork_note"]) == (
        "fork", parent["id"], parent["version"], "same woman, but at work")
    assert child["status"] in ("ready", "flagged")
    assert child["layers"]["soul"] == parent["layers"]["soul"] and child["layers"]["self"] == parent["layers"]["self"]
    # The same person (her name, as free in the org as it can be), redrawn for the note.
    first, *_, last = parent["layers"]["surface"]["name"].split()
    assert child["layers"]["surface"]["name"].split()[0] == first and child["layers"]["surface"]["name"].split()[-1] == last
    assert child["brief"].endswith("Fork: same woman, but at work")


def test_the_family_tree_goes_from_the_root_depth_first(generate, fork, owner_api):
    root = generate().json()["id"]
    child = fork(root, "at work").json()["id"]
    grandchild = fork(child, "at work, on a bad day").json()["id"]
    sibling = fork(root, "on holiday").json()["id"]
    lineage = owner_api.get(f"/v1/personas/{grandchild}/lineage").json()
    assert lineage["parent"]["id"] == child and lineage["fork_note"] == "at work, on a bad day"
    assert [(node["persona"]["id"], node["depth"]) for node in lineage["tree"]] == [(root, 0), (child, 1), (grandchild, 2), (sibling, 1)]
    assert [node["parent_id"] for node in lineage["tree"]] == [None, root, child, root]
    assert owner_api.get(f"/v1/personas/{root}/lineage").json()["drift_from_parent"] is None
    lone = generate("A beekeeper in Umbria who talks to her hives.").json()["id"]
    assert owner_api.get(f"/v1/personas/{lone}/lineage").json()["tree"] == []


def test_the_drift_from_the_parent_is_the_fingerprints_distance_and_is_flagged_past_the_config(generate, fork, fingerprint, owner_api, tenant):
    parent = generate().json()["id"]
    child = fork(parent).json()["id"]
    assert owner_api.get(f"/v1/personas/{child}/lineage").json()["drift_from_parent"] == {
        "distance": None, "max_drift": 0.35, "flagged": False, "note": "waiting for both voice fingerprints"}
    expected = cosine_distance(fingerprint(child).vector, fingerprint(parent).vector)
    drift = owner_api.get(f"/v1/personas/{child}/lineage").json()["drift_from_parent"]
    assert drift["distance"] == pytest.approx(expected, abs=1e-6) and drift["flagged"] is (expected > 0.35)
    owner = Principal.from_membership(tenant.membership("owner"))
    config_set(actor=owner, key="engine.pipeline.fork.max_drift_from_parent", value=round(expected / 2, 6))
    drift = owner_api.get(f"/v1/personas/{child}/lineage").json()["drift_from_parent"]
    assert drift["flagged"] is True and drift["max_drift"] == round(expected / 2, 6)
    config_set(actor=owner, key="engine.pipeline.fork.max_drift_from_parent", value=min(2.0, expected + 0.1))
    assert owner_api.get(f"/v1/personas/{child}/lineage").json()["drift_from_parent"]["flagged"] is False


def test_the_persona_page_shows_the_tree_the_drift_and_forks(generate, fork, fingerprint, tenant, client_for, django_capture_on_commit_callbacks):
    parent = generate().json()["id"]
    child = fork(parent).json()["id"]
    fingerprint(parent)
    fingerprint(child)
    owner = Principal.from_membership(tenant.membership("owner"))
    config_set(actor=owner, key="engine.pipeline.fork.max_drift_from_parent", value=0.0)  # any distance is too far
    client = client_for(tenant.owner)
    page = client.get(f"/o/acme/personas/{child}/").content.decode()
    assert 'data-testid="family-tree"' in page and Persona.objects.get(public_id=parent).name in page
    assert "same woman, but at work" in page and 'data-testid="drift-flag"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/o/acme/personas/{parent}/fork/", {"note": "same woman, on a ferry"})
    assert response.status_code == 302 and "/runs/" in response["Location"]
    assert Persona.objects.filter(parent__public_id=parent).count() == 2


@pytest.mark.parametrize("note, status", [("", 422), ("x" * 201, 422), ("bad\x07bell", 422)])
def test_a_fork_needs_a_note_of_what_differs(note, status, generate, fork):
    parent = generate().json()["id"]
    response = fork(parent, note)
    assert response.status_code == status and response.json()["detail"][0]["loc"][-1] == "note"
    assert not Persona.objects.filter(parent__public_id=parent).exists()


def test_a_persona_still_generating_cannot_be_forked(owner_api, fork):
    parent = owner_api.post("/v1/personas", json={"brief": "A cartographer of rivers."}).json()["id"]  # never executed
    assert fork(parent).status_code == 409


def test_outsiders_cannot_fork_or_read_the_lineage(generate, fork, outsider_tenant, api_for):
    parent = generate().json()["id"]
    stranger = api_for(outsider_tenant.org)
    assert fork(parent, client=stranger).status_code == 404
    assert stranger.get(f"/v1/personas/{parent}/lineage").status_code == 404


def test_a_refused_fork_note_comes_back_in_its_form_with_the_message(generate, tenant, client_for):
    parent = generate().json()["id"]
    client = client_for(tenant.owner)
    long_note = "on a ferry " * 20  # 220 characters
    partial = client.post(f"/o/acme/personas/{parent}/fork/", {"note": long_note}, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert partial.status_code == 422 and 'data-testid="fork-error"' in body and "at most 200 characters" in body
    assert 'value="on a ferry on a ferry' in body and "<html" not in body  # the designer's words are kept
    page = client.post(f"/o/acme/personas/{parent}/fork/", {"note": "  "})  # without JavaScript: the whole page
    assert page.status_code == 422 and 'data-testid="family-tree"' in page.content.decode()
    assert 'data-testid="fork-error"' in page.content.decode()
    ok = client.post(f"/o/acme/personas/{parent}/fork/", {"note": "same woman, on a ferry"}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and "/runs/" in ok["HX-Redirect"]
    assert Persona.objects.filter(parent__public_id=parent).count() == 1
