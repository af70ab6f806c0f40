"""Generating a persona with the offline engine (no credentials): the whole pipeline through the API."""

import pytest

from personas.models import Persona
from pipeline.models import PipelineRun, RunEvent, StepRun
from tests.generation_helpers import BRIEF


def test_a_brief_becomes_an_audited_persona_through_six_steps(generate, owner_api):
    response = generate(BRIEF)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "generating" and body["engine"] == "offline"

    run = owner_api.get(f"/v1/runs/{body['run_id']}").json()
    assert run["status"] in ("ready", "flagged")
    first_round = [s["step"] for s in run["steps"] if s["attempt"] == 1]
    assert first_round == ["intent_parse", "soul_draft", "self_enrich", "mask_build", "surface_ground", "audit"]
    assert all(s["model_used"] == "offline/studio" and s["duration_ms"] is not None for s in run["steps"])
    assert all(s["prompt_tokens"] > 0 and s["completion_tokens"] > 0 for s in run["steps"])

    persona = owner_api.get(f"/v1/personas/{body['id']}").json()
    assert persona["brief"] == BRIEF  # stored untouched
    assert set(persona["layers"]) == {"soul", "self", "mask", "surface"}
    assert persona["name"] == persona["layers"]["surface"]["name"]
    assert persona["audit"]["overall"] >= 0 and persona["latest_run_id"] == body["run_id"]


def test_each_step_emits_numbered_events_ending_in_pipeline_completed(generate):
    body = generate(BRIEF).json()
    events = list(RunEvent.objects.filter(run__public_id=body["run_id"]).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    types = [e.type for e in events]
    assert types[:2] == ["step.started", "step.completed"] and types[-1] == "pipeline.completed"
    completed = [e.data for e in events if e.type == "step.completed"]
    assert {"step", "attempt", "duration_ms", "model", "tokens", "cost_usd"} <= set(completed[0])
    assert "audit.scored" in types


def test_a_weak_first_draft_is_regenerated_and_audited_again(generate):
    body = generate("A night-shift baker in Lyon [offline:weak]").json()
    run = PipelineRun.objects.get(public_id=body["run_id"])
    audits = list(run.events.filter(type="audit.scored").values_list("data", flat=True))
    assert len(audits) >= 2 and audits[0]["passed"] is False and audits[-1]["passed"] is True
    assert run.status == "ready" and run.audit_rounds == len(audits)
    # The retry regenerated the layers (round 2), not the intent.
    assert StepRun.objects.filter(run=run, step="soul_draft", attempt=2).exists()
    assert not StepRun.objects.filter(run=run, step="intent_parse", attempt=2).exists()


def test_a_persona_that_never_passes_the_audit_ships_flagged_after_max_retries(generate):
    body = generate("A ferry mechanic in Tallinn [offline:flawed]").json()
    run = PipelineRun.objects.get(public_id=body["run_id"])
    assert run.status == "flagged" and run.audit_rounds == 4  # first audit + max_retries (3)
    persona = Persona.objects.get(public_id=body["id"])
    assert persona.status == "flagged" and persona.current_version.audit["overall"] < 3.5


def test_invalid_model_output_is_retried_and_counted_as_an_attempt(generate):
    body = generate("A beekeeper in Oaxaca [offline:invalid]").json()
    run = PipelineRun.objects.get(public_id=body["run_id"])
    assert run.status in ("ready", "flagged")
    soul = run.steps.get(step="soul_draft", attempt=1)
    kinds = [a["kind"] for a in soul.llm_attempts]
    assert kinds[0] == "invalid_output" and kinds[-1] == "ok"


@pytest.mark.parametrize(
    "brief, field",
    [("", "brief"), ("   ", "brief"), ("x" * 100_000, "brief"), ("A spy\x00 in Berlin", "brief"), (42, "brief")],
)
def test_a_bad_brief_is_refused_naming_the_field_and_creates_nothing(generate, brief, field):
    response = generate(brief)
    assert response.status_code == 422, response.content
    assert field in str(response.json()["detail"])
    assert Persona.objects.count() == 0


def test_another_orgs_workspace_is_not_found(generate, outsider_tenant):
    foreign = outsider_tenant.org.workspaces.get()
    assert generate(BRIEF, workspace=str(foreign.public_id)).status_code == 404
    assert generate(BRIEF, workspace="no-such-workspace").status_code == 404
    assert Persona.objects.count() == 0


def test_generation_needs_the_personas_write_scope(tenant, api_for, django_capture_on_commit_callbacks):
    reader = api_for(tenant.org, scopes=["personas:read"])
    response = reader.post("/v1/personas", json={"brief": BRIEF})
    assert response.status_code == 403 and "personas:write" in response.json()["detail"]


def test_the_persona_is_generating_until_the_run_ends(tenant, owner_api):
    # Without running the enqueued task, the persona stays generating and has no layers.
    response = owner_api.post("/v1/personas", json={"brief": BRIEF})
    persona = owner_api.get(f"/v1/personas/{response.json()['id']}").json()
    assert persona["status"] == "generating" and persona["layers"] == {} and persona["version"] is None


# --- the brief is honoured; names are unique in the org; a draft against its brief is regenerated ------------

LIGHTHOUSE = "a remorseful retired lighthouse keeper who apologizes too much"
FADO = "a shy fado singer from Alfama"


def _persona(owner_api, body) -> dict:
    return owner_api.get(f"/v1/personas/{body['id']}").json()


def test_the_issue_s_two_briefs_are_honoured_through_the_pipeline(generate, owner_api):
    from studio.llm.offline import vocab

    keeper = _persona(owner_api, generate(LIGHTHOUSE).json())
    mask, big_five = keeper["layers"]["mask"], keeper["layers"]["self"]["big_five"]
    assert keeper["status"] == "ready" and "brief fidelity" not in keeper["audit"]["notes"]
    assert any(stem in p.lower() for p in mask["signature_phrases"] for stem in ("sorry", "apolog", "forgive", "my fault"))
    assert any(word in mask["tone"] for word in ("apolog", "contrite", "sheepish")), mask["tone"]
    assert big_five["extraversion"] <= 0.55 and big_five["agreeableness"] >= 0.62
    assert keeper["layers"]["self"]["archetype"] != "the Performer"
    assert keeper["layers"]["surface"]["occupation"] == "retired lighthouse keeper"

    singer = _persona(owner_api, generate(FADO).json())
    assert singer["status"] == "ready" and "brief fidelity" not in singer["audit"]["notes"]
    assert singer["layers"]["self"]["big_five"]["extraversion"] <= 0.35
    assert vocab.FIRST_NAME_GROUP[singer["name"].split()[0]] == "portuguese" and singer["name"].split()[0] != "Donal"
    assert "Lisbon" in singer["layers"]["surface"]["location"] and singer["layers"]["surface"]["occupation"] == "fado singer"


def test_the_same_brief_twice_in_one_org_gives_different_names(generate, owner_api, outsider_tenant, api_for):
    names = [_persona(owner_api, generate(FADO).json())["name"] for _ in range(3)]
    assert len(set(names)) == 3, names
    assert not any(". " in name for name in names)  # the surface step chose free names itself (no saved-name variant)
    assert set(Persona.objects.values_list("name", flat=True)) == set(names)
    # Uniqueness is per org: another org's first persona from the same brief gets the first name.
    other_api = api_for(outsider_tenant.org)
    assert _persona(other_api, generate(FADO, client=other_api).json())["name"] == names[0]


def test_a_name_taken_by_the_time_the_persona_is_saved_gets_a_variant(generate, owner_api, monkeypatch):
    from pipeline.runner import RunExecution

    first = _persona(owner_api, generate(FADO).json())
    monkeypatch.setattr(RunExecution, "names_in_use", lambda self: [])  # a model that ignored the list
    second = _persona(owner_api, generate(FADO).json())
    base_first, base_last = first["name"].split(" ", 1)
    assert second["name"] == f"{base_first} A. {base_last}"
    assert second["layers"]["surface"]["name"] == second["name"]  # the layer and the persona agree


def test_renaming_to_a_name_another_persona_has_is_refused_naming_the_field(generate, owner_api):
    first = _persona(owner_api, generate(FADO).json())
    second = _persona(owner_api, generate(LIGHTHOUSE).json())
    response = owner_api.patch(f"/v1/personas/{second['id']}", json={"name": first["name"].upper()})
    assert response.status_code == 422 and "name" in str(response.json()["detail"])
    assert owner_api.patch(f"/v1/personas/{second['id']}", json={"name": second["name"]}).status_code == 200  # its own name
    spaced = owner_api.patch(f"/v1/personas/{second['id']}", json={"name": "  Nadia   Okafor "})  # a free name, oddly spaced
    assert spaced.status_code == 200 and spaced.json()["name"] == "Nadia Okafor"


def _contradicting_self(rounds):
    """A self_enrich that, in the given audit rounds, makes the shy persona an extravert (0.69: no chain rule broken)."""
    from pipeline import offline_drafts

    original = offline_drafts.MAKERS["self_enrich"]

    def make(draft, rng):
        layer = original(draft, rng)
        if draft.prompt.attempt in rounds:
            layer["big_five"]["extraversion"] = 0.69
        return layer

    return make


def test_a_draft_that_contradicts_its_brief_is_regenerated(generate, monkeypatch):
    from pipeline import offline_drafts

    monkeypatch.setitem(offline_drafts.MAKERS, "self_enrich", _contradicting_self({1}))
    body = generate(FADO).json()
    run = PipelineRun.objects.get(public_id=body["run_id"])
    audits = list(run.events.filter(type="audit.scored").order_by("seq").values_list("data", flat=True))
    assert audits[0]["passed"] is False
    assert audits[0]["scores"]["coherence"] < 3.5 and audits[0]["scores"]["realism"] < 3.5
    assert "the brief says 'shy' but extraversion is 0.69" in audits[0]["notes"]
    assert audits[-1]["passed"] is True and run.status == "ready"
    persona = Persona.objects.get(public_id=body["id"])
    assert persona.current_version.self_layer["big_five"]["extraversion"] <= 0.35


def test_a_draft_that_contradicts_its_brief_every_round_ships_flagged_with_the_reason(generate, monkeypatch):
    from pipeline import offline_drafts

    monkeypatch.setitem(offline_drafts.MAKERS, "self_enrich", _contradicting_self({1, 2, 3, 4}))
    body = generate(FADO).json()
    run = PipelineRun.objects.get(public_id=body["run_id"])
    persona = Persona.objects.get(public_id=body["id"])
    assert run.status == "flagged" and persona.status == "flagged"
    assert "brief fidelity: the brief says 'shy'" in persona.current_version.audit["notes"]
