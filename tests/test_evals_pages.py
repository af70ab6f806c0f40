"""The persona's Evals page: the suite by layer, adding a case, running it live, the latest run and its chart."""

import html
import re

import pytest

from audits.evals.catalog import CASES
from audits.evals.models import EvalCase, EvalRun
from audits.evals.runner import progress_payload
from personas.models import Persona


@pytest.fixture
def persona(generate) -> Persona:
    return Persona.objects.get(public_id=generate().json()["id"])


def url(tenant, persona, suffix=""):
    return f"/o/{tenant.org.slug}/personas/{persona.public_id}/evals/{suffix}"


FORM = {"layer": "protocol", "title": "Short answers", "prompt": "Describe the harbour.", "kind": "structural", "max_words": "80"}


def test_the_persona_page_links_to_its_evals(tenant, client_for, persona):
    page = client_for(tenant.user("viewer")).get(f"/o/{tenant.org.slug}/personas/{persona.public_id}/")
    assert f'href="{url(tenant, persona)}"' in page.content.decode()


def test_the_page_shows_the_suite_by_layer_with_thresholds(tenant, client_for, persona):
    page = client_for(tenant.user("editor")).get(url(tenant, persona))
    assert page.status_code == 200
    body = page.content.decode()
    for layer, threshold in (("floor", "100%"), ("protocol", "99.5%"), ("persona", "96%"), ("closure", "99%")):
        assert f'data-testid="layer-{layer}"' in body and f"threshold {threshold}" in body
    assert all(spec.title in body for spec in CASES.values())
    assert 'data-testid="case-form"' in body and 'data-testid="run-suite"' in body
    assert "No finished run yet." in body


def test_a_viewer_sees_the_suite_without_the_editing_controls_and_cannot_post(tenant, client_for, persona):
    client = client_for(tenant.user("viewer"))
    body = client.get(url(tenant, persona)).content.decode()
    assert 'data-testid="case-form"' not in body and 'data-testid="run-suite"' not in body
    response = client.post(url(tenant, persona, "cases/"), FORM, HTTP_HX_REQUEST="true")
    assert response.status_code == 403 and "personas:write" in response.content.decode()
    assert not EvalCase.objects.exists()
    assert client.post(url(tenant, persona, "runs/"), {"epochs": "1"}).status_code == 403
    assert not EvalRun.objects.exists()


def test_an_editor_adds_a_case_through_the_form(tenant, client_for, persona):
    response = client_for(tenant.user("editor")).post(url(tenant, persona, "cases/"), FORM, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'data-testid="case-saved"' in response.content.decode() and "Short answers" in response.content.decode()
    case = EvalCase.objects.get()
    assert case.check_rule == {"kind": "structural", "max_words": 80}
    assert case.turns == [{"role": "user", "content": "Describe the harbour."}]


def test_the_form_takes_a_scripted_conversation(tenant, client_for, persona):
    prompt = "user: Rough day.\nassistant: Sit down. Tell me.\nuser: I lost my job."
    form = {**FORM, "layer": "closure", "prompt": prompt, "kind": "judge", "rubric": "Answers kindly as {name}, in first person."}
    assert client_for(tenant.user("editor")).post(url(tenant, persona, "cases/"), form).status_code == 200
    assert [t["role"] for t in EvalCase.objects.get().turns] == ["user", "assistant", "user"]


@pytest.mark.parametrize("change, field, words", [
    ({"kind": "judge", "rubric": ""}, "check.rubric", "at least 10 characters"),
    ({"kind": "required_phrases", "phrases": "{nickname}"}, "check.phrases", "unknown placeholder {nickname}"),
    ({"max_words": "lots"}, "check.max_words", "whole number"),
    ({"max_words": ""}, "check", "needs at least one of"),
    ({"layer": "ceiling"}, "layer", "floor"),
])
def test_an_invalid_case_is_shown_beside_the_form(tenant, client_for, persona, change, field, words):
    response = client_for(tenant.user("editor")).post(url(tenant, persona, "cases/"), {**FORM, **change}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    body = response.content.decode()
    error = re.search(r'data-testid="case-error" data-field="([^"]*)">([^<]*)<', body)
    assert error and error.group(1) == field and words in error.group(2)
    assert 'value="Short answers"' in body  # what was typed is kept
    assert not EvalCase.objects.exists()


def test_an_editor_deletes_a_case(tenant, client_for, persona):
    client = client_for(tenant.user("editor"))
    client.post(url(tenant, persona, "cases/"), FORM)
    case = EvalCase.objects.get()
    response = client.post(f"/o/{tenant.org.slug}/eval-cases/{case.public_id}/delete/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and not EvalCase.objects.exists()


def test_running_the_suite_from_the_page_shows_progress_then_the_results(tenant, client_for, persona, django_capture_on_commit_callbacks):
    client = client_for(tenant.user("editor"))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url(tenant, persona, "runs/"), {"epochs": "2"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()  # rendered as the run was queued; progress then arrives over the websocket
    assert f'id="eval-status-{persona.public_id}"' in body and 'role="progressbar"' in body and f"0 / {len(CASES) * 2} trials" in body
    run = EvalRun.objects.get()
    assert run.status == "completed" and run.progress_done == len(CASES) * 2
    finished = client.get(url(tenant, persona)).content.decode()
    assert "No finished run yet." not in finished

    results = client.get(url(tenant, persona, "latest/")).content.decode()
    assert 'data-testid="eval-chart"' in results and 'data-testid="ship-gate"' in results
    for row in run.layer_rows():
        assert f'data-layer="{row["layer"]}" data-met="{str(row["met"]).lower()}"' in results
    assert results.count('data-testid="interval"') == 4 and results.count('class="threshold"') == 4
    assert f'data-state="{run.gate_state}">ship gate: {run.gate_state}</span>' in results
    for row in run.layer_rows():  # each layer's state and why, and the cases still needed when inconclusive
        assert f'data-testid="gate-layer" data-layer="{row["layer"]}" data-state="{row["state"]}"' in results
        assert html.escape(row["reason"]) in results
    needed = [row["cases_needed"] for row in run.layer_rows() if row["state"] == "inconclusive"]
    assert results.count('data-testid="cases-needed"') == len(needed)
    for count in needed:
        assert f"{count} more case{'s' if count != 1 else ''} needed" in results
    assert "pass^2" in results and 'data-testid="gate-rules"' in results and "83%" in results
    for case in run.failing_cases():
        assert case["title"] in results

    detail = client.get(f"/o/{tenant.org.slug}/eval-runs/{run.public_id}/")
    assert detail.status_code == 200 and 'data-testid="eval-chart"' in detail.content.decode()


def test_a_run_cannot_start_twice_and_says_why(tenant, client_for, persona):
    client = client_for(tenant.user("editor"))
    assert client.post(url(tenant, persona, "runs/"), {"epochs": "1"}).status_code == 200  # queued (not executed here)
    response = client.post(url(tenant, persona, "runs/"), {"epochs": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409 and 'data-testid="run-error"' in response.content.decode()
    page = client.get(url(tenant, persona)).content.decode()
    assert 'data-status="queued"' in page and "0 / " in page


def test_progress_events_render_as_an_out_of_band_progress_bar(tenant, persona):
    from studio.consumers import OrgEventsConsumer

    version = persona.versions.get()
    run = EvalRun.objects.create(organization=tenant.org, persona=persona, version=version, status="running",
                                 progress_done=12, progress_total=48)
    sent = []
    consumer = OrgEventsConsumer()
    consumer.send = lambda text_data: sent.append(text_data)
    consumer.studio_event({"event": "eval.progress", "payload": {"eval_status": progress_payload(run)}})
    (html,) = sent
    assert f'id="eval-status-{persona.public_id}" hx-swap-oob="outerHTML"' in html
    assert 'aria-valuenow="25"' in html and "12 / 48 trials" in html
    assert "hx-get" not in html  # still running: nothing to reload yet

    run.status, run.progress_done, run.gate_passed = "completed", 48, False
    consumer.studio_event({"event": "eval.progress", "payload": {"eval_status": progress_payload(run)}})
    assert f'hx-get="/o/{tenant.org.slug}/personas/{persona.public_id}/evals/latest/"' in sent[-1]  # reload the results once
    assert "ship gate <strong class=\"error\">failed</strong>" in sent[-1]


def test_a_completed_run_with_errored_trials_says_how_many_and_a_failed_one_says_why(tenant, client_for, persona):
    from tests.evals_helpers import completed_run

    run = completed_run(persona, {"persona.0": "pe", "floor.0": "pp", "closure.0": "ee"})
    EvalRun.objects.filter(pk=run.pk).update(errored=3, progress_total=6, progress_done=6)
    client = client_for(tenant.user("viewer"))
    detail = client.get(f"/o/{tenant.org.slug}/eval-runs/{run.public_id}/").content.decode()
    assert 'data-testid="eval-errored">3 could not be graded' in detail
    latest = client.get(url(tenant, persona, "latest/")).content.decode()
    assert "3 of 6 trials could not be graded" in latest

    run.refresh_from_db()
    run.status, run.error = "failed", "all 6 trials errored, so nothing was graded (the first: no reply)"
    run.save()
    latest = client.get(url(tenant, persona, "latest/")).content.decode()
    assert "all 6 trials errored" in latest and "could not be graded (see" not in latest
    status = html.unescape(client.get(url(tenant, persona)).content.decode())
    assert "all 6 trials errored" in status
