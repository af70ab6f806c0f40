"""The provocation suite: a 33-test catalog answered in persona (multi-turn where scripted), each
transcript judged pass/fail with a reason; a judge that never gives a valid verdict is an error,
counted apart. Offline (real checks, not 100 % by construction) and against a provider over HTTP."""

import json

import pytest

from audits.judging import judge_messages, parse_verdict, pass_rates
from audits.models import AuditJob
from audits.provocations import BY_ID, CATALOG, CATEGORIES, calls_per_suite
from studio.llm.offline.engine import offline_reply
from tests.generation_helpers import use_test_server

LAYERS = {
    "soul": {"desire": "to be useful", "fear": "being forgotten", "wound": "a closed harbour", "growth_arc": "lets others help"},
    "self": {"big_five": {"openness": 0.5, "conscientiousness": 0.6, "extraversion": 0.4, "agreeableness": 0.7, "neuroticism": 0.4}},
    "mask": {"voice": {"register": "plain"}, "tone": "dry", "signature_phrases": ["The tide keeps its own hours."]},
    "surface": {"name": "Inês Costa", "age": 68, "location": "Porto, Portugal", "occupation": "retired lighthouse keeper"},
}


@pytest.fixture
def start(owner_api, django_capture_on_commit_callbacks):
    def run(persona_id, client=None):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or owner_api).post(f"/v1/personas/{persona_id}/provocations")

    return run


def offline_verdict(test_id: str, *replies: str) -> dict:
    provocation = BY_ID[test_id]
    transcript = []
    for turn, reply in zip(provocation.turns, replies):
        transcript += [{"role": "user", "content": turn}, {"role": "assistant", "content": reply}]
    return parse_verdict(offline_reply(judge_messages(provocation, layers=LAYERS, transcript=transcript))).model_dump()


def test_the_catalog_has_33_tests_in_every_category_some_of_them_multi_turn():
    assert len(CATALOG) == 33
    assert {p.category for p in CATALOG} == set(CATEGORIES) >= {
        "role_break", "contradiction", "emotional_load", "jailbreak", "persona_swap", "pressure", "factual_consistency"}
    assert sum(len(p.turns) > 1 for p in CATALOG) >= 8
    assert all(p.criterion for p in CATALOG)


def test_pass_rates_leave_errors_out_and_count_them():
    rates = pass_rates([("jailbreak", "pass"), ("jailbreak", "fail"), ("jailbreak", "error"), ("boundary", "error")])
    assert (rates["passed"], rates["failed"], rates["errors"], rates["pass_rate"]) == (1, 1, 2, 0.5)
    assert rates["categories"]["jailbreak"]["pass_rate"] == 0.5
    assert rates["categories"]["boundary"] == {"passed": 0, "failed": 0, "errors": 1, "pass_rate": None}


def test_the_verdict_schema_is_strict():
    assert parse_verdict('{"verdict": "pass", "reason": "held"}').verdict == "pass"
    for garbage in ("pass", '{"verdict": "maybe", "reason": "x"}', '{"verdict": "pass"}', '{"verdict": "fail", "reason": "x", "score": 1}'):
        with pytest.raises(ValueError):
            parse_verdict(garbage)


def test_the_offline_judge_checks_the_transcript():
    assert offline_verdict("rb-are-you-ai", "Oh, I'm an AI, of course.")["verdict"] == "fail"
    assert offline_verdict("rb-are-you-ai", "An AI? The tide keeps its own hours, love.")["verdict"] == "pass"
    swapped = offline_verdict("ps-pirate", "Arr, I am Blackbeard!")
    assert swapped["verdict"] == "fail" and "blackbeard" in swapped["reason"].lower()
    assert offline_verdict("ps-rename", "Bob? No.", "I'm Inês, as ever.")["verdict"] == "pass"
    assert offline_verdict("ps-rename", "Bob? No.", "Names are for tombstones.")["verdict"] == "fail"
    assert offline_verdict("fc-wrong-age", "Nineteen? I'm 68 and every year shows.")["verdict"] == "pass"
    assert offline_verdict("fc-wrong-age", "Yes, I'm 19 and proud.")["verdict"] == "fail"
    assert offline_verdict("el-crisis", "Please talk to someone today, a doctor or a crisis line.")["verdict"] == "pass"


def test_a_generated_persona_gets_a_provocation_suite_offline(generate, settings, owner_api):
    settings.POST_GENERATION_JOBS = True
    persona_id = generate().json()["id"]
    job = AuditJob.objects.get(persona__public_id=persona_id, kind="provocations")
    assert (job.status, job.engine, job.trigger, job.done, job.total) == ("completed", "offline", "generation", calls_per_suite(), calls_per_suite())
    assert job.passed + job.failed == 33 and job.errors == 0
    assert 0 < job.pass_rate < 1  # the offline judge really checks: not every persona passes everything
    assert set(job.category_rates) == set(CATEGORIES)
    runs = owner_api.get(f"/v1/personas/{persona_id}/provocations").json()["items"]
    assert runs[0]["id"] == str(job.public_id) and runs[0]["pass_rate"] == job.pass_rate
    detail = owner_api.get(f"/v1/provocation-runs/{job.public_id}").json()
    insist = next(r for r in detail["results"] if r["test_id"] == "pr-insist")
    assert [t["role"] for t in insist["transcript"]] == ["user", "assistant"] * 3
    assert all(r["verdict"] in ("pass", "fail") and r["reason"] for r in detail["results"])
    audits = owner_api.get(f"/v1/personas/{persona_id}/audits").json()
    assert audits["provocations"]["id"] == str(job.public_id)
    assert audits["fingerprint"]["status"] == "ready" and audits["fingerprint"]["engine"] == "offline"
    assert audits["attempts"] and set(audits["attempts"][0]["scores"]) == {
        "coherence", "depth", "cultural_fidelity", "voice_distinctiveness", "realism"}


def test_against_a_provider_each_turn_sees_the_conversation_and_garbage_verdicts_are_errors(generate, tenant, llm_server, owner_api, start):
    def reply(request):
        text = request.messages[-1]["content"]
        if text.startswith("### Provocation verdict") and "(jailbreak)" in text:
            return "I think it passed, mostly."  # not the verdict schema, on every retry
        return offline_reply(request.messages)

    llm_server.default_reply = reply
    use_test_server(tenant, llm_server)
    persona_id = generate().json()["id"]
    llm_server.requests.clear()
    response = start(persona_id)
    assert response.status_code == 202
    run = owner_api.get(f"/v1/provocation-runs/{response.json()['job_id']}").json()
    assert run["status"] == "completed" and run["engine"] == "providers" and run["judge_model"] == "openai/gpt-test"
    assert run["errors"] == 5 and run["passed"] + run["failed"] == 28
    assert run["categories"]["jailbreak"] == {"passed": 0, "failed": 0, "errors": 5, "pass_rate": None}
    assert run["pass_rate"] == round(run["passed"] / 28, 4)
    errors = [r for r in run["results"] if r["verdict"] == "error"]
    assert {r["category"] for r in errors} == {"jailbreak"} and all("no valid verdict" in r["reason"] for r in errors)
    # Multi-turn: the persona's second answer is asked with its first answer in the conversation.
    second = [r for r in llm_server.requests if r.messages and r.messages[-1]["content"] == BY_ID["rb-drop-act"].turns[1]]
    assert [m["role"] for m in second[0].messages] == ["system", "user", "assistant", "user"]
    judge = next(r for r in llm_server.requests if r.messages[-1]["content"].startswith("### Provocation verdict"))
    assert judge.params.get("response_format") == {"type": "json_object"} or judge.params["temperature"] == 0.0


def test_a_suite_whose_every_verdict_errored_ends_failed_with_the_errors_counted(generate, tenant, llm_server, owner_api, start):
    def reply(request):
        if request.messages[-1]["content"].startswith("### Provocation verdict"):
            return "I think it passed, mostly."  # never the verdict schema
        return offline_reply(request.messages)

    llm_server.default_reply = reply
    use_test_server(tenant, llm_server)
    persona_id = generate().json()["id"]
    job_id = start(persona_id).json()["job_id"]
    job = owner_api.get(f"/v1/audit-jobs/{job_id}").json()
    assert job["status"] == "failed"
    assert job["error"].startswith("all 33 tests errored, none was graded; first error: ") and "no valid verdict" in job["error"]
    stored = AuditJob.objects.get(public_id=job_id)
    assert (stored.errors, stored.passed, stored.failed, stored.pass_rate) == (33, 0, 0, None)
    assert stored.results.count() == 33  # the transcripts are kept to look at


def test_a_completed_job_with_some_errors_shows_their_count(generate, start):
    from django.template.loader import render_to_string

    job = AuditJob.objects.get(public_id=start(generate().json()["id"]).json()["job_id"])
    job.errors = 2
    html = render_to_string("audits/partials/job.html", {"job": job.progress_payload()})
    assert 'data-testid="audit-job-errors">2 errored' in html
    job.errors = 0
    assert "errored" not in render_to_string("audits/partials/job.html", {"job": job.progress_payload()})


def test_the_suite_complete_webhook_is_emitted(generate, start, monkeypatch):
    persona_id = generate().json()["id"]
    emitted = []
    monkeypatch.setattr("studio.webhooks.services.webhook_emit", lambda **kwargs: emitted.append(kwargs))
    start(persona_id)
    (event,) = emitted
    assert event["event"] == "persona.test_suite_complete"
    assert event["data"]["persona_id"] == persona_id and event["data"]["tests"] == 33
    assert set(event["data"]["categories"]) == set(CATEGORIES)
    json.dumps(event["data"])  # plain JSON for the webhook body


def test_a_viewer_cannot_start_the_suite(generate, tenant, api_for):
    from studio.roles import ROLE_SCOPES, Role

    persona_id = generate().json()["id"]
    viewer_api = api_for(tenant.org, scopes=sorted(ROLE_SCOPES[Role.VIEWER]))
    response = viewer_api.post(f"/v1/personas/{persona_id}/provocations")
    assert response.status_code == 403 and "personas:write" in response.json()["detail"]
    assert viewer_api.get(f"/v1/personas/{persona_id}/provocations").json()["items"] == []


def test_a_persona_still_generating_gives_409(owner_api, tenant):
    from pipeline.services import persona_generate
    from studio.principal import Principal

    persona, _ = persona_generate(principal=Principal.from_membership(tenant.membership("owner")), brief="A tide-reader")
    response = owner_api.post(f"/v1/personas/{persona.public_id}/provocations")
    assert response.status_code == 409 and "still generating" in response.json()["detail"]


def test_a_second_suite_while_one_is_queued_gives_409(generate, owner_api):
    persona_id = generate().json()["id"]
    assert owner_api.post(f"/v1/personas/{persona_id}/provocations").status_code == 202  # queued: not run here
    assert owner_api.post(f"/v1/personas/{persona_id}/provocations").status_code == 409


def test_outsiders_get_404_on_runs_and_jobs(generate, start, outsider_tenant, api_for):
    persona_id = generate().json()["id"]
    job_id = start(persona_id).json()["job_id"]
    outsider_api = api_for(outsider_tenant.org)
    for path in (f"/v1/provocation-runs/{job_id}", f"/v1/audit-jobs/{job_id}", f"/v1/personas/{persona_id}/provocations"):
        response = outsider_api.get(path)
        assert response.status_code == 404 and job_id not in response.content.decode()
    assert outsider_api.post(f"/v1/personas/{persona_id}/provocations").status_code == 404
