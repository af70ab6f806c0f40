"""Results name the version they were computed on and say "stale — recompute" once the persona has moved on
(issue 18): the voice fingerprint, the provocation suite and eval runs; a finished recompute updates the Tests page
live (the job's progress bar loads the cards out of band) instead of asking for a reload."""

import re

import pytest
from django.template.loader import render_to_string

from audits.models import AuditJob
from personas.models import Persona
from tests.evals_helpers import completed_run


@pytest.fixture
def persona(generate, settings):
    settings.POST_GENERATION_JOBS = True  # the fingerprint and the suite run on v1
    return Persona.objects.get(public_id=generate().json()["id"])


@pytest.fixture
def editor(tenant, client_for):
    return client_for(tenant.user("editor"))


def edit(client, persona):
    surface = {**persona.current_version.surface, "age": 71}
    assert client.post(f"/o/acme/personas/{persona.public_id}/layers/surface/", surface, HTTP_HX_REQUEST="true").status_code == 200


def test_current_results_name_their_version_and_are_not_stale(persona, editor):
    page = editor.get(f"/o/acme/personas/{persona.public_id}/tests/").content.decode()
    assert 'data-testid="fingerprint-version">of v1<' in page and 'data-testid="suite-version">of v1<' in page
    assert "stale — recompute" not in page


def test_after_an_edit_the_fingerprint_suite_and_evals_say_stale_with_a_recompute_button(persona, editor):
    completed_run(persona, {"floor.1": "p", "persona.1": "p"})
    edit(editor, persona)
    page = editor.get(f"/o/acme/personas/{persona.public_id}/tests/").content.decode()
    for what, action in (("fingerprint", "fingerprint"), ("suite", "provocations")):
        note = re.search(rf'data-testid="{what}-stale">(.*?)</p>', page, re.S).group(1)
        assert "stale — recompute" in note and "Computed on v1; the persona is at v2 now." in note
        assert f'hx-post="/o/acme/personas/{persona.public_id}/tests/{action}/"' in note and "Recompute on v2" in note
    assert 'data-testid="eval-run-stale"' in page
    evals = editor.get(f"/o/acme/personas/{persona.public_id}/evals/").content.decode()
    assert 'data-testid="eval-version">on v1<' in evals and 'data-testid="eval-stale"' in evals
    overview = editor.get(f"/o/acme/personas/{persona.public_id}/").content.decode()
    assert 'data-testid="distinctiveness-stale"' in overview


def test_a_viewer_sees_stale_but_no_recompute_button(persona, editor, tenant, client_for):
    edit(editor, persona)
    page = client_for(tenant.user("viewer")).get(f"/o/acme/personas/{persona.public_id}/tests/").content.decode()
    assert 'data-testid="fingerprint-stale"' in page and 'data-testid="fingerprint-recompute"' not in page


def test_a_finished_job_loads_the_results_instead_of_asking_for_a_reload(persona, editor, django_capture_on_commit_callbacks):
    edit(editor, persona)
    with django_capture_on_commit_callbacks(execute=True):
        editor.post(f"/o/acme/personas/{persona.public_id}/tests/fingerprint/", HTTP_HX_REQUEST="true")
    job = AuditJob.objects.filter(kind="fingerprint").latest("id")
    assert job.status == "completed" and job.version.number == 2
    html = render_to_string("audits/partials/job.html", {"job": job.progress_payload()})
    assert "Reload" not in html
    assert f'hx-get="/o/acme/personas/{persona.public_id}/tests/results/" hx-trigger="load" hx-swap="none"' in html
    results = editor.get(f"/o/acme/personas/{persona.public_id}/tests/results/").content.decode()
    assert re.search(r'<section id="fingerprint-card"[^>]*hx-swap-oob="true"', results)
    assert re.search(r'<section id="suite-card"[^>]*hx-swap-oob="true"', results)
    assert 'data-testid="fingerprint-version">of v2<' in results and 'data-testid="fingerprint-stale"' not in results
    assert 'data-testid="suite-stale"' in results  # the suite was not recomputed
    page = editor.get(f"/o/acme/personas/{persona.public_id}/tests/").content.decode()
    assert 'id="fingerprint-card"' in page and 'id="suite-card"' in page  # the targets are on the page


def test_outsiders_cannot_read_the_results(persona, outsider_tenant, client_for):
    assert client_for(outsider_tenant.owner).get(f"/o/acme/personas/{persona.public_id}/tests/results/").status_code == 404
