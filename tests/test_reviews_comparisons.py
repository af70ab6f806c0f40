"""Comparisons in: one by one, in bulk, by CSV/JSONL import with a preview, written by the studio; the LLM judge."""

import json

from audits.reviews.models import Comparison, ComparisonImport, Judgment
from tests.reviews_helpers import make_pairs

ROW = {"prompt": "What do the tides say today?", "text_a": "Low at noon.", "text_b": "They say: wait.", "source_a": "base", "source_b": "tuned"}


def test_one_comparison_is_created_with_its_sources(owner_api, persona):
    response = owner_api.post("/v1/comparisons", json={"persona_id": str(persona.public_id), "prompt_set": "tides", **ROW})
    assert response.status_code == 201
    body = response.json()
    assert body["source_a"] == "base" and body["source_b"] == "tuned" and body["prompt_set"] == "tides" and body["origin"] == "api"
    listed = owner_api.get(f"/v1/comparisons?persona_id={persona.public_id}").json()["items"]
    assert [c["id"] for c in listed] == [body["id"]]
    bad = owner_api.post("/v1/comparisons", json={"persona_id": str(persona.public_id), **ROW, "source_b": "base"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["source_b"]


def test_a_bulk_create_stores_every_row_or_none_and_names_each_bad_row(owner_api, persona):
    items = [ROW, {**ROW, "text_b": ""}, {**ROW, "prompt_id": "p1"}, {**ROW, "prompt_id": "p1", "prompt": "Another question"}]
    response = owner_api.post("/v1/comparisons/bulk", json={"persona_id": str(persona.public_id), "items": items})
    assert response.status_code == 422
    assert [e["loc"] for e in response.json()["detail"]] == [["row", 2, "text_b"], ["row", 4, "prompt"]]
    assert Comparison.objects.count() == 0
    response = owner_api.post("/v1/comparisons/bulk", json={"persona_id": str(persona.public_id), "items": [ROW, ROW]})
    assert response.status_code == 201 and response.json()["created"] == 2


def test_an_import_is_previewed_with_row_errors_and_stored_only_when_valid_and_confirmed(owner_api, persona):
    lines = [json.dumps(ROW), json.dumps({k: v for k, v in ROW.items() if k != "text_a"}), "not json", json.dumps({**ROW, "prompt_id": "x"}),
             json.dumps({**ROW, "prompt_id": "x", "prompt": "Different"})]
    response = owner_api.post("/v1/comparisons/imports", json={"persona_id": str(persona.public_id), "format": "jsonl", "content": "\n".join(lines)})
    assert response.status_code == 201
    preview = response.json()
    assert preview["status"] == "preview" and preview["row_count"] == 5 and preview["valid_rows"] == 2
    assert [(e["row"], e["field"]) for e in preview["errors"]] == [(2, "text_a"), (3, "row"), (5, "prompt")]
    assert "row 4" in preview["errors"][2]["message"]
    refused = owner_api.post(f"/v1/comparisons/imports/{preview['id']}/confirm")
    assert refused.status_code == 422 and Comparison.objects.count() == 0

    csv_text = "prompt,text_a,text_b,source_a,source_b\nHi?,Hello there,Hey,base,tuned\n\"Bye, then?\",Farewell,Later,base,tuned\n"
    preview = owner_api.post("/v1/comparisons/imports", json={"persona_id": str(persona.public_id), "format": "csv", "content": csv_text, "prompt_set": "greetings"}).json()
    assert preview["errors"] == [] and preview["valid_rows"] == 2 and Comparison.objects.count() == 0
    assert owner_api.get(f"/v1/comparisons/imports/{preview['id']}").json()["status"] == "preview"
    stored = owner_api.post(f"/v1/comparisons/imports/{preview['id']}/confirm")
    assert stored.status_code == 201 and stored.json()["created"] == 2
    assert set(Comparison.objects.values_list("prompt", flat=True)) == {"Hi?", "Bye, then?"}
    assert Comparison.objects.filter(prompt_set="greetings", origin="import").count() == 2
    assert owner_api.post(f"/v1/comparisons/imports/{preview['id']}/confirm").status_code == 409
    assert Comparison.objects.count() == 2 and ComparisonImport.objects.filter(status="confirmed").count() == 1


def test_reviewers_and_viewers_cannot_add_pairs(tenant, persona, api_for):
    reviewer_key = api_for(tenant.org, scopes=["reviews:write", "audits:read"])
    response = reviewer_key.post("/v1/comparisons", json={"persona_id": str(persona.public_id), **ROW})
    assert response.status_code == 403 and Comparison.objects.count() == 0


def test_the_studio_writes_pairs_from_two_persona_versions(owner_api, persona, django_capture_on_commit_callbacks):
    layers = owner_api.get(f"/v1/personas/{persona.public_id}").json()["layers"]
    mask = {**layers["mask"], "tone": "sharper and drier"}
    assert owner_api.patch(f"/v1/personas/{persona.public_id}", json={"layers": {"mask": mask}}).status_code == 200
    payload = {"persona_id": str(persona.public_id), "prompts": ["How are you?", "What do you fear?"], "version_a": 1, "version_b": 2,
               "samples": 2, "prompt_set": "smoke"}
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post("/v1/comparisons/generations", json=payload)
    assert response.status_code == 202 and response.json()["engine"] == "offline"
    generation = owner_api.get(f"/v1/comparisons/generations/{response.json()['id']}").json()
    assert generation["status"] == "completed" and generation["created"] == 4, generation
    assert generation["calls_done"] == generation["calls_total"] == 8  # 2 prompts × 2 samples × 2 versions
    pairs = Comparison.objects.filter(persona=persona, prompt_set="smoke", origin="generated")
    assert pairs.count() == 4
    assert {(c.source_a.label, c.source_b.label) for c in pairs} == {("persona v1", "persona v2")}
    assert all(c.text_a and c.text_b for c in pairs)
    for prompt in payload["prompts"]:  # the K samples of a prompt are different draws (their seeds differ)
        assert len({c.text_a for c in pairs.filter(prompt=prompt)}) == 2
    bad = owner_api.post("/v1/comparisons/generations", json={**payload, "version_b": 9})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["version_b"]


def test_the_llm_judge_votes_in_both_orders_apart_from_human_votes(owner_api, persona, owner_principal, django_capture_on_commit_callbacks):
    make_pairs(owner_principal, persona, 3)
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_api.post(f"/v1/personas/{persona.public_id}/reviews/judge")
    assert response.status_code == 202 and response.json()["queued"] == 3
    from audits.reviews.models import JudgeRun

    run = JudgeRun.objects.get(public_id=response.json()["judge_run_id"])
    assert run.status == "completed" and run.calls_done == run.calls_total == 6 and run.stored == 3
    progress = owner_api.get(f"/v1/judge-runs/{run.public_id}").json()
    assert progress["status"] == "completed" and progress["calls_done"] == 6 and progress["stored"] == 3
    judged = Judgment.objects.filter(kind="judge")
    assert judged.count() == 3 and all(j.judge_detail["forward"]["winner"] in ("A", "B", "tie") for j in judged)
    assert all(j.judge_model == "offline/studio" for j in judged)
    board = owner_api.get(f"/v1/personas/{persona.public_id}/reviews/leaderboard?kind=judge").json()
    assert board["votes"] == 3 and {e["source"] for e in board["entries"]} == {"persona v1", "persona v2"}
    assert owner_api.get(f"/v1/personas/{persona.public_id}/reviews/leaderboard").json()["votes"] == 0  # humans: none yet
    with django_capture_on_commit_callbacks(execute=True):
        assert owner_api.post(f"/v1/personas/{persona.public_id}/reviews/judge").json() == {"queued": 0, "judge_run_id": None}


def test_the_judges_two_order_rule():
    from audits.reviews.judge import combine, offline_verdict, judge_messages, parse_verdict

    assert combine("A", "B") == "a" and combine("B", "A") == "b"
    assert combine("A", "A") == "tie" and combine("tie", "B") == "tie"  # position bias or doubt: a tie
    messages = judge_messages(persona_system="You are Ada.", prompt="Hi", first="short", second="a much longer and richer reply")
    assert parse_verdict(offline_verdict(messages[-1]["content"])).winner == "B"


def test_the_offline_judge_prefers_the_reply_in_character_over_the_longer_one():
    """Through the offline engine, as a job's evaluation calls it: the persona comes from the system message."""
    from audits.reviews.judge import combine, judge_messages, parse_verdict
    from studio.llm.offline.engine import offline_reply

    system = 'I am Leonor. I often begin with "Leonor here" and I close with "Leave it better than you found it". I say "A promise is a debt".'
    plain = "The young woman will be forever changed by your decision to join the resistance and its long cold winter."
    marked = "Leonor here. A promise is a debt. Leave it better than you found it."
    forward = parse_verdict(offline_reply(judge_messages(persona_system=system, prompt="Hi", first=plain, second=marked)))
    backward = parse_verdict(offline_reply(judge_messages(persona_system=system, prompt="Hi", first=marked, second=plain)))
    assert (forward.winner, backward.winner) == ("B", "A") and combine(forward.winner, backward.winner) == "b"
    assert "markers" in forward.reason
    # No markers on either side: the fuller reply, in both orders; identical replies: a tie.
    other = "The tide turns late tonight and the harbour lights flicker over quiet boats and nets."
    assert parse_verdict(offline_reply(judge_messages(persona_system=system, prompt="Hi", first="Fine.", second=other))).winner == "B"
    assert parse_verdict(offline_reply(judge_messages(persona_system=system, prompt="Hi", first=marked, second=marked))).winner == "tie"


def test_a_running_generation_shows_a_progress_bar_the_page_polls(tenant, persona, owner_principal, client_for):
    from audits.reviews.models import ComparisonGeneration

    running = ComparisonGeneration.objects.create(
        organization=tenant.org, persona=persona, prompts=["a", "b"], version_a=1, version_b=2, status="running",
        calls_done=64, calls_total=200,
    )
    client = client_for(tenant.user("owner"))
    fragment = client.get(f"/o/acme/reviews/generations/{running.public_id}/").content.decode()
    assert '<progress max="200" value="64"' in fragment and 'hx-trigger="every 1s"' in fragment
    running.status, running.created_count = "completed", 2
    running.save()
    fragment = client.get(f"/o/acme/reviews/generations/{running.public_id}/").content.decode()
    assert "<progress" not in fragment and "hx-trigger" not in fragment and "2 pairs" in fragment


def test_a_running_judge_run_shows_a_progress_bar_the_page_polls(tenant, persona, client_for):
    from audits.reviews.models import JudgeRun

    run = JudgeRun.objects.create(organization=tenant.org, persona=persona, comparison_ids=[1, 2, 3], status="running",
                                  calls_done=2, calls_total=6)
    client = client_for(tenant.user("owner"))
    page = client.get(f"/o/acme/reviews/personas/{persona.public_id}/").content.decode()
    assert f'id="judge-run-{run.public_id}"' in page
    fragment = client.get(f"/o/acme/reviews/judge-runs/{run.public_id}/").content.decode()
    assert '<progress max="6" value="2"' in fragment and 'hx-trigger="every 1s"' in fragment
    run.status, run.stored = "completed", 3
    run.save()
    fragment = client.get(f"/o/acme/reviews/judge-runs/{run.public_id}/").content.decode()
    assert "<progress" not in fragment and "3 votes" in fragment
