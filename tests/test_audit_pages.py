"""The persona's Tests page: audit attempts, fingerprint, provocation results, and the start buttons."""

import pytest

from audits.models import AuditJob


@pytest.fixture
def tested_persona(generate, settings):
    settings.POST_GENERATION_JOBS = True
    return generate().json()["id"]


def test_the_tests_page_shows_audits_fingerprint_and_provocation_results(tested_persona, tenant, client_for):
    page = client_for(tenant.user("viewer")).get(f"/o/acme/personas/{tested_persona}/tests/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="audit-attempts"' in html and "Audit attempt 1 scores" in html
    assert "offline (local hashed embedding)" in html and "offline/studio-embed" in html
    assert 'data-testid="category-chart"' in html and "persona swap" in html
    assert html.count('data-testid="provocation-result"') == 33
    assert "Passing looks like:" in html and "Verdict:" in html
    assert 'data-testid="eval-runs"' in html and 'data-testid="drift-alerts"' in html
    assert "Run provocation suite" not in html  # a viewer cannot start jobs


def test_the_overview_links_to_the_tests_tab(tested_persona, tenant, client_for):
    html = client_for(tenant.owner).get(f"/o/acme/personas/{tested_persona}/").content.decode()
    assert f'href="/o/acme/personas/{tested_persona}/tests/"' in html


def test_an_editor_starts_a_suite_and_gets_a_live_progress_bar(tested_persona, tenant, client_for):
    client = client_for(tenant.user("editor"))
    html = client.get(f"/o/acme/personas/{tested_persona}/tests/").content.decode()
    assert "Run provocation suite" in html and "Recompute fingerprint" in html and 'ws-connect="/ws/o/acme/events/"' in html
    response = client.post(f"/o/acme/personas/{tested_persona}/tests/provocations/", HTTP_HX_REQUEST="true")
    assert response.status_code == 202
    job = AuditJob.objects.filter(kind="provocations").latest("created_at")
    fragment = response.content.decode()
    assert f'id="audit-job-{job.public_id}"' in fragment and 'role="progressbar"' in fragment
    assert f'hx-get="/o/acme/audit-jobs/{job.public_id}/"' in fragment  # polls while the WebSocket is away
    assert client.get(f"/o/acme/audit-jobs/{job.public_id}/").status_code == 200
    again = client.post(f"/o/acme/personas/{tested_persona}/tests/provocations/", HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and "already running" in again.content.decode()


def test_a_viewer_cannot_start_a_job_from_the_page(tested_persona, tenant, client_for):
    client = client_for(tenant.user("viewer"))
    assert client.post(f"/o/acme/personas/{tested_persona}/tests/fingerprint/").status_code == 403
    assert not AuditJob.objects.filter(trigger="manual").exists()


def test_a_generating_persona_shows_why_it_cannot_be_tested(tenant, client_for):
    from pipeline.services import persona_generate
    from studio.principal import Principal

    persona, _ = persona_generate(principal=Principal.from_membership(tenant.membership("owner")), brief="A tide-reader")
    client = client_for(tenant.owner)
    assert "still generating" in client.get(f"/o/acme/personas/{persona.public_id}/tests/").content.decode()
    response = client.post(f"/o/acme/personas/{persona.public_id}/tests/fingerprint/", HTTP_HX_REQUEST="true")
    assert response.status_code == 409


def test_outsiders_get_404_on_the_tests_page_and_jobs(tested_persona, outsider, client_for):
    job = AuditJob.objects.first()
    client = client_for(outsider)
    assert client.get(f"/o/acme/personas/{tested_persona}/tests/").status_code == 404
    assert client.get(f"/o/globex/personas/{tested_persona}/tests/").status_code == 404
    assert client.get(f"/o/globex/audit-jobs/{job.public_id}/").status_code == 404
    assert client.post(f"/o/globex/personas/{tested_persona}/tests/provocations/").status_code == 404


def test_the_tests_page_shows_eval_runs_over_time_and_drift_alerts(tenant, client_for, generate, django_capture_on_commit_callbacks):
    from audits.chat.models import ChatMessage, ChatSession
    from audits.evals.models import EvalRun
    from personas.models import Persona

    persona = Persona.objects.get(public_id=generate().json()["id"])
    EvalRun.objects.create(
        organization=tenant.org, persona=persona, version=persona.current_version, status="completed", epochs=2, gate_state="fail", gate_passed=False,
        results={"floor": {"layer": "floor", "rate": 0.9, "interval": [0.8, 1.0], "met": False},
                 "protocol": {"layer": "protocol", "rate": 0.9996, "interval": [0.98, 1.0], "met": False, "state": "inconclusive"},
                 "persona": {"layer": "persona", "rate": 0.97, "interval": [0.93, 1.0], "met": True}},
    )
    editor, owner = tenant.user("editor"), tenant.user("owner")
    mine = ChatSession.objects.create(organization=tenant.org, persona=persona, version=persona.current_version, user=editor)
    theirs = ChatSession.objects.create(organization=tenant.org, persona=persona, version=persona.current_version, user=owner)
    ChatMessage.objects.create(session=mine, role="assistant", content="As an AI I cannot say", drift_score=0.61, flagged=True)
    ChatMessage.objects.create(session=theirs, role="assistant", content="owner's private reply", drift_score=0.55, blocked=True)
    ChatMessage.objects.create(session=mine, role="assistant", content="in character", drift_score=0.1)

    page = client_for(editor).get(f"/o/acme/personas/{persona.public_id}/tests/").content.decode()
    runs = page.split('data-testid="eval-runs"')[1].split("</section>")[0]
    assert "90%" in runs and "97%" in runs and ">fail<" in runs
    # an inconclusive layer is not painted as failed, and 99.96% is not rounded up to 100%
    assert '<span class="pending" title="inconclusive' in runs and ">99.9%</span>" in runs and ">100%</span>" not in runs
    alerts = page.split('data-testid="drift-alerts"')[1].split("</section>")[0]
    assert "(2)" in alerts and "0.61" in alerts and "0.55" in alerts and "withheld (409)" in alerts
    assert "As an AI I cannot say" in alerts and "owner&#x27;s private reply" not in alerts and "another member" in alerts
    assert "in character" not in alerts
