"""The persona pages: new form, live run view, persona page with layers, audit chart, runs and versions."""

from studio.work.events import last_event_seq
from personas.models import Persona
from pipeline.models import PipelineRun
from tests.generation_helpers import BRIEF


def test_the_new_persona_form_starts_a_run_and_shows_its_live_view(tenant, client_for, django_capture_on_commit_callbacks):
    client = client_for(tenant.user("editor"))
    assert client.get("/o/acme/personas/new/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/o/acme/personas/new/", {"brief": BRIEF, "workspace": "default"})
    run = PipelineRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/o/acme/runs/{run.public_id}/"
    page = client.get(response["Location"]).content.decode()
    # the socket asks for what happened after the page was rendered: the run's last event (it finished eagerly)
    assert last_event_seq(run) > 0
    assert f'ws-connect="/ws/o/acme/runs/{run.public_id}/?after={last_event_seq(run)}"' in page
    for step in ("intent_parse", "soul_draft", "self_enrich", "mask_build", "surface_ground", "audit"):
        assert f'data-testid="step-{step}"' in page
    assert "offline demo engine — no LLM" in page


def test_a_bad_brief_is_shown_beside_the_form_and_kept(tenant, client_for):
    client = client_for(tenant.user("editor"))
    response = client.post("/o/acme/personas/new/", {"brief": "ok\x07", "workspace": "default"})
    assert response.status_code == 422
    assert "control characters" in response.content.decode() and Persona.objects.count() == 0


def test_viewers_cannot_generate(tenant, client_for):
    response = client_for(tenant.user("viewer")).post("/o/acme/personas/new/", {"brief": BRIEF})
    assert response.status_code == 403 and Persona.objects.count() == 0


def test_the_persona_page_shows_layers_audit_chart_runs_and_versions(tenant, client_for, django_capture_on_commit_callbacks):
    client = client_for(tenant.user("editor"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/o/acme/personas/new/", {"brief": BRIEF, "workspace": "default"})
    persona = Persona.objects.get()
    page = client.get(f"/o/acme/personas/{persona.public_id}/").content.decode()
    for layer in ("soul", "self", "mask", "surface"):
        assert f'data-testid="layer-{layer}"' in page
    assert 'data-testid="audit-chart"' in page and "<svg" in page
    assert persona.display_name in page and "intent_parse" in page


def test_editing_a_layer_from_the_page_validates_and_adds_a_version(tenant, client_for, django_capture_on_commit_callbacks):
    client = client_for(tenant.user("editor"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/o/acme/personas/new/", {"brief": BRIEF, "workspace": "default"})
    persona = Persona.objects.get()
    url = f"/o/acme/personas/{persona.public_id}/layers/surface/"
    bad = client.post(url, {"name": "Ana"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422 and "surface" in bad.content.decode()
    good_surface = {**persona.current_version.surface, "age": 71}
    ok = client.post(url, good_surface, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and "Saved surface as version 2" in ok.content.decode()
    diff = client.get(f"/o/acme/personas/{persona.public_id}/versions/diff/?from=1&to=2").content.decode()
    assert "age" in diff and "71" in diff


def test_the_list_searches_and_filters(tenant, client_for, django_capture_on_commit_callbacks):
    client = client_for(tenant.user("viewer"))
    editor = client_for(tenant.user("editor"))
    with django_capture_on_commit_callbacks(execute=True):
        editor.post("/o/acme/personas/new/", {"brief": BRIEF, "workspace": "default"})
    name = Persona.objects.get().display_name
    assert name in client.get("/o/acme/personas/").content.decode()
    assert name not in client.get("/o/acme/personas/?q=zzzz-nothing").content.decode()
    partial = client.get("/o/acme/personas/?status=ready", HTTP_HX_REQUEST="true").content.decode()
    assert partial.startswith('<div id="persona-rows">')


def test_the_dashboard_shows_month_to_date_generation_cost(tenant, client_for, django_capture_on_commit_callbacks):
    client = client_for(tenant.user("editor"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/o/acme/personas/new/", {"brief": BRIEF, "workspace": "default"})
    page = client.get("/o/acme/").content.decode()
    assert "Generation this month" in page and "Cost month-to-date" in page
