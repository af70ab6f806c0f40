"""The eval-suite API: a persona's cases, runs offline and against a provider, the ship gate, access."""

import json

import pytest

from audits.evals.catalog import CASES
from audits.evals.models import EvalRun
from personas.models import Persona, PersonaStatus
from tests.generation_helpers import use_test_server

JUDGE = {"kind": "judge", "rubric": "The reply stays {name} and speaks in first person."}
CASE = {"layer": "persona", "title": "Says its name", "prompt": "Who am I talking to?", "check": {"kind": "required_phrases", "phrases": ["{first_name}"]}}


@pytest.fixture
def persona(generate) -> Persona:
    response = generate()
    assert response.status_code == 202
    return Persona.objects.get(public_id=response.json()["id"])


@pytest.fixture
def run_suite(owner_api, django_capture_on_commit_callbacks):
    """run_suite(persona, **body) → the finished run's detail, the run executed inline."""

    def run(persona, client=None, **body):
        with django_capture_on_commit_callbacks(execute=True):
            response = (client or owner_api).post(f"/v1/personas/{persona.public_id}/eval-runs", json=body)
        assert response.status_code == 202, response.content
        return (client or owner_api).get(f"/v1/eval-runs/{response.json()['id']}").json()

    return run


def test_an_editor_adds_edits_and_deletes_a_case(tenant, api_for, persona):
    api = api_for(tenant.org, scopes=["personas:read", "personas:write"])
    created = api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=CASE)
    assert created.status_code == 201
    case = created.json()
    assert case["source"] == "persona" and case["turns"] == [{"role": "user", "content": "Who am I talking to?"}]

    listed = api.get(f"/v1/personas/{persona.public_id}/eval-cases").json()["items"]
    assert len(listed) == len(CASES) + 1 and listed[-1]["id"] == case["id"]
    assert {c["source"] for c in listed[:-1]} == {"catalog"}

    patched = api.patch(f"/v1/eval-cases/{case['id']}", json={"layer": "closure", "check": JUDGE})
    assert patched.status_code == 200
    assert patched.json()["layer"] == "closure" and patched.json()["check"] == JUDGE
    assert patched.json()["title"] == "Says its name"

    assert api.delete(f"/v1/eval-cases/{case['id']}").status_code == 204
    assert api.get(f"/v1/eval-cases/{case['id']}").status_code == 404


def test_a_case_may_be_a_short_scripted_conversation(owner_api, persona):
    turns = [{"role": "user", "content": "Rough day."}, {"role": "assistant", "content": "Sit. Tell me."},
             {"role": "user", "content": "I lost my job."}]
    response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases",
                              json={"layer": "closure", "title": "Follows through", "turns": turns, "check": JUDGE})
    assert response.status_code == 201 and response.json()["turns"] == turns


@pytest.mark.parametrize("change, field", [
    ({"check": {"kind": "judge"}}, "check.rubric"),
    ({"check": {"kind": "sarcasm", "rubric": "x" * 20}}, "check.kind"),
    ({"check": {"kind": "required_phrases", "phrases": ["{favourite_colour}"]}}, "check.phrases"),
    ({"check": {"kind": "structural", "max_words": -3}}, "check.max_words"),
    ({"check": {"kind": "structural"}}, "check"),
    ({"layer": "ceiling"}, "layer"),
    ({"title": ""}, "title"),
    ({"prompt": None, "turns": [{"role": "assistant", "content": "I spoke last"}]}, "turns"),
    ({"turns": [{"role": "user", "content": "both"}]}, "prompt"),
])
def test_invalid_cases_are_422_naming_the_field(owner_api, persona, change, field):
    body = {k: v for k, v in {**CASE, **change}.items() if v is not None}
    response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == [field]


def test_an_invalid_patch_is_422_and_changes_nothing(owner_api, persona):
    case = owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=CASE).json()
    response = owner_api.patch(f"/v1/eval-cases/{case['id']}", json={"check": {"kind": "structural", "max_sentences": 0}})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["check.max_sentences"]
    assert owner_api.get(f"/v1/eval-cases/{case['id']}").json()["check"] == CASE["check"]


def test_a_viewer_cannot_add_cases_or_run_the_suite(tenant, persona):
    from tests.conftest import SessionApi

    viewer = SessionApi(tenant.user("viewer"))
    assert viewer.get(f"/v1/personas/{persona.public_id}/eval-cases").status_code == 200
    assert viewer.post(f"/v1/personas/{persona.public_id}/eval-cases", json=CASE).status_code == 403
    assert viewer.post(f"/v1/personas/{persona.public_id}/eval-runs", json={}).status_code == 403


def test_a_read_only_key_cannot_edit_cases(tenant, api_for, owner_api, persona):
    case = owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=CASE).json()
    reader = api_for(tenant.org, scopes=["personas:read"])
    assert reader.patch(f"/v1/eval-cases/{case['id']}", json={"title": "Mine now"}).status_code == 403
    assert reader.delete(f"/v1/eval-cases/{case['id']}").status_code == 403


def test_outsiders_get_404_for_cases_and_runs(owner_api, outsider_tenant, api_for, persona, run_suite):
    case = owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=CASE).json()
    run = run_suite(persona, epochs=1)
    outsider = api_for(outsider_tenant.org)
    for method, path, body in [
        ("get", f"/v1/personas/{persona.public_id}/eval-cases", None),
        ("post", f"/v1/personas/{persona.public_id}/eval-cases", CASE),
        ("get", f"/v1/eval-cases/{case['id']}", None),
        ("patch", f"/v1/eval-cases/{case['id']}", {"title": "pwned"}),
        ("delete", f"/v1/eval-cases/{case['id']}", None),
        ("post", f"/v1/personas/{persona.public_id}/eval-runs", {}),
        ("get", f"/v1/personas/{persona.public_id}/eval-runs", None),
        ("get", f"/v1/eval-runs/{run['id']}", None),
    ]:
        response = getattr(outsider, method)(path, **({"json": body} if body is not None else {}))
        assert response.status_code == 404, f"{method} {path}"
    assert owner_api.get(f"/v1/eval-cases/{case['id']}").json()["title"] == "Says its name"


def test_a_persona_still_generating_cannot_be_evaluated(owner_api, persona):
    Persona.objects.filter(pk=persona.pk).update(status=PersonaStatus.GENERATING)
    response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs", json={})
    assert response.status_code == 409 and "generating" in response.json()["detail"]


@pytest.mark.parametrize("epochs", [0, 11, "three", True])
def test_epochs_must_be_from_one_to_ten(owner_api, persona, epochs):
    response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs", json={"epochs": epochs})
    assert response.status_code == 422


def test_an_offline_run_grades_every_case_for_every_epoch_and_decides_the_gate(owner_api, persona, run_suite):
    owner_api.post(f"/v1/personas/{persona.public_id}/eval-cases", json=CASE)
    run = run_suite(persona, epochs=2)
    assert run["status"] == "completed" and run["engine"] == "offline"
    assert run["progress_done"] == run["progress_total"] == (len(CASES) + 1) * 2
    assert run["config"]["answer"]["model"] == run["config"]["judge"]["model"] == "offline/studio"
    layers = {row["layer"]: row for row in run["layers"]}
    assert list(layers) == ["floor", "protocol", "persona", "closure"]
    assert layers["persona"]["cases"] == sum(spec.layer == "persona" for spec in CASES.values()) + 1  # and its own
    for row in layers.values():
        assert row["passes"] + row["fails"] + row["errors"] == row["cases"] * 2
        assert row["errors"] == 0  # the offline judge always gives a valid verdict
        low, high = row["interval"]
        assert low <= row["rate"] <= high
        assert row["state"] in ("pass", "fail", "inconclusive") and row["met"] == (row["state"] == "pass")
        if row["rate"] < row["threshold"] and high < row["threshold"]:
            assert row["state"] == "fail"
        if row["state"] == "pass":
            assert row["rate"] >= row["threshold"] and low >= row["threshold"] - row["tolerance"]
        if row["state"] == "inconclusive":
            assert row["cases_needed"] > 0
        assert row["pass_k"] == pytest.approx(row["pass_k_cases"] / row["graded_cases"])  # epochs=2: pass^2 is shown
    states = {row["state"] for row in layers.values()}
    assert run["gate_state"] == ("fail" if "fail" in states else "inconclusive" if "inconclusive" in states else "pass")
    assert run["gate_passed"] == (run["gate_state"] == "pass")
    assert len(run["gate_reasons"]) == sum(not row["met"] for row in layers.values())
    # the offline persona answers with its own name and does not say it is an AI
    assert {c["key"] for c in run["failing_cases"]}.isdisjoint({"catalog:persona.own-name", "catalog:floor.no-ai-claim"})
    for case in run["failing_cases"]:
        assert case["trials"] and all(t["reply"] and t["reason"] for t in case["trials"])

    listed = owner_api.get(f"/v1/personas/{persona.public_id}/eval-runs").json()["items"]
    assert [r["id"] for r in listed] == [run["id"]]


def test_the_stored_results_are_what_the_trials_give(owner_api, persona, run_suite):
    """The layers and the gate saved with a run are recomputed from its trials, with the same answer."""
    from audits.evals.stats import run_gate

    detail = run_suite(persona, epochs=1)
    run = EvalRun.objects.get(public_id=detail["id"])
    results, state, reasons = run_gate(run.case_outcomes(), epochs=1)
    assert list(results.values()) == run.layer_rows() and (state, reasons) == (run.gate_state, run.gate_reasons)
    assert all(row["pass_k"] is None for row in detail["layers"])  # one epoch: no pass^k


def scripted(persona, judge=lambda request: '{"verdict": "pass", "reason": "in character"}'):
    """A provider that answers in persona, and judges with `judge` (the judge's prompt carries the eval-judge marker)."""
    first_name = persona.layers["surface"]["name"].split()[0]

    def reply(request):
        if request.messages[-1]["content"].startswith("### eval-judge"):
            return judge(request)
        return f"I'm {first_name}, and I'll tell you straight: walk it. Take care now."

    return reply


def test_a_run_against_a_provider_uses_the_voice_model_to_answer_and_the_audit_model_to_judge(tenant, llm_server, persona, run_suite):
    use_test_server(tenant, llm_server, model="openai/gpt-test", steps=["mask_build"])
    use_test_server(tenant, llm_server, model="openai/judge-test", steps=["audit"])
    llm_server.default_reply = scripted(persona)
    run = run_suite(persona, epochs=1)
    assert run["status"] == "completed" and run["engine"] == "providers"
    judge_calls = llm_server.requests_for("judge-test")
    answers = llm_server.requests_for("gpt-test")
    assert len(answers) == len(CASES)
    assert len(judge_calls) == sum(spec.check.kind == "judge" for spec in CASES.values())
    assert all(r.messages[0]["role"] == "system" and "Stay in character" in r.messages[0]["content"] for r in answers)
    assert all(r.params.get("temperature") == 0.0 for r in judge_calls)
    # one answer for every case: the persona's name, first person, no markdown, no question at the end
    layers = {row["layer"]: row for row in run["layers"]}
    # every floor case passed, but 7 cases cannot show 100%: inconclusive, with the cases that would settle it
    assert layers["floor"]["rate"] == 1.0 and layers["floor"]["state"] == "inconclusive" and layers["floor"]["cases_needed"] == 12
    assert layers["floor"]["interval"] == [pytest.approx(7 / (7 + 1.959963984540054**2)), 1.0]
    failing = {c["key"] for c in run["failing_cases"]}
    assert failing == {"catalog:persona.signature"}  # the canned reply uses none of its signature phrases


def test_a_judge_that_returns_garbage_makes_an_error_counted_apart_from_fails(tenant, llm_server, persona, run_suite):
    use_test_server(tenant, llm_server)

    def judge(request):
        rubric = request.messages[-1]["content"]
        if "refuses the harmful request" in rubric:
            return "I think it is probably fine?"  # never JSON, however often it is asked
        if "closes the conversation warmly" in rubric:
            return '{"verdict": "fail", "reason": "asks a new question"}'
        return '{"verdict": "pass", "reason": "ok"}'

    llm_server.default_reply = scripted(persona, judge)
    run = run_suite(persona, epochs=3)
    layers = {row["layer"]: row for row in run["layers"]}
    assert layers["floor"]["errors"] == 3 and layers["floor"]["fails"] == 0
    assert layers["floor"]["rate"] == 1.0 and layers["floor"]["state"] == "fail"  # an ungraded floor trial fails the floor
    assert layers["closure"]["fails"] == 3 and layers["closure"]["errors"] == 0
    assert run["gate_passed"] is False
    assert run["status"] == "completed" and run["errored"] == 3 and run["error"] == ""  # some trials errored: counted, not failed
    assert any(reason.startswith("floor: 3 trial(s) could not be graded") for reason in run["gate_reasons"])
    harm = next(c for c in run["failing_cases"] if c["key"] == "catalog:floor.refuses-harm")
    assert harm["errors"] == 3 and harm["fails"] == 0
    assert all(t["verdict"] == "error" and "the judge gave no valid verdict" in t["reason"] for t in harm["trials"])


def test_a_provider_that_always_fails_gives_error_trials_and_a_failed_gate(tenant, llm_server, persona, run_suite):
    use_test_server(tenant, llm_server)
    llm_server.default_reply = lambda request: (_ for _ in ()).throw(RuntimeError("server bug"))  # every call a 500
    run = run_suite(persona, epochs=1)
    assert run["status"] == "failed" and run["finished_at"]  # nothing could be graded: not a completed run
    assert run["errored"] == run["progress_total"] == run["progress_done"] > 0
    assert run["error"].startswith(f"all {run['errored']} trials errored, so nothing was graded (the first: no reply from")
    assert all(row["errors"] == row["cases"] and row["passes"] == row["fails"] == 0 for row in run["layers"])
    assert run["gate_passed"] is False and run["gate_state"] == "fail" and len(run["gate_reasons"]) == 4
    assert all(row["interval"] is None and row["rate"] is None for row in run["layers"])  # no data, not NaN
    trial = run["failing_cases"][0]["trials"][0]
    assert trial["verdict"] == "error" and trial["reason"].startswith("no reply from the persona's model")


def test_an_exception_fails_the_run_with_a_readable_error(owner_api, persona, run_suite, monkeypatch):
    from audits.evals import runner

    def explode(*args, **kwargs):
        raise RuntimeError("the judge's config vanished")

    monkeypatch.setattr(runner, "_grade", explode)
    run = run_suite(persona, epochs=1)
    assert run["status"] == "failed" and run["finished_at"]
    assert run["error"] == "the eval run stopped: the judge's config vanished"


def _dead_worker_run(persona, *, trials_done: int = 0):
    """A run as a worker leaves it when killed: claimed, `trials_done` trials saved, its heartbeat long silent."""
    from django.utils import timezone

    from audits.evals.models import EvalTrial
    from audits.evals.runner import eval_run_claim
    from audits.evals.services import eval_run_start
    from studio.principal import Principal

    principal = Principal.from_membership(persona.organization.memberships.get(role="owner"))
    run = eval_run_start(principal=principal, persona=persona, epochs=1)  # not executed: no commit in this test
    run = eval_run_claim(run.pk)
    EvalTrial.objects.bulk_create([EvalTrial(run=run, case_key=case["key"], layer=case["layer"], epoch=1, verdict="pass")
                                   for case in run.suite[:trials_done]])
    EvalRun.objects.filter(pk=run.pk).update(progress_done=trials_done, heartbeat_at=timezone.now() - timezone.timedelta(hours=1))
    return run


def test_reading_a_run_whose_worker_died_does_not_reap_it(owner_api, tenant, client_for, persona):
    run = _dead_worker_run(persona)
    assert owner_api.get(f"/v1/eval-runs/{run.public_id}").json()["status"] == "running"
    assert owner_api.get(f"/v1/personas/{persona.public_id}/eval-runs").json()["items"][0]["status"] == "running"
    client = client_for(tenant.user("owner"))
    assert client.get(f"/o/{tenant.org.slug}/eval-runs/{run.public_id}/").status_code == 200
    assert client.get(f"/o/{tenant.org.slug}/personas/{persona.public_id}/evals/").status_code == 200
    run.refresh_from_db()
    assert run.status == "running" and run.error == "" and run.finished_at is None
    # and a second run waits for the reaper
    assert owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs", json={}).status_code == 409


def test_the_reaper_queues_a_run_whose_worker_died_and_a_worker_goes_on_from_its_saved_trials(
        owner_api, persona, django_capture_on_commit_callbacks):
    from audits.evals.models import EvalTrial
    from studio.work.reaper import reap

    run = _dead_worker_run(persona, trials_done=3)
    kept = set(EvalTrial.objects.filter(run=run).values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):  # the requeued task runs (eagerly) on commit
        assert reap() == {"eval run": {"resumed": 1, "failed": 0}}
    run.refresh_from_db()
    assert run.status == "completed" and run.attempt == 2
    assert run.progress_done == run.progress_total == run.trials.count()
    assert kept <= set(run.trials.values_list("pk", flat=True))  # the saved trials were not graded again


def test_a_run_whose_workers_keep_dying_is_failed_by_the_reaper_saying_how_far_it_got(owner_api, persona, settings):
    from studio.work.reaper import reap

    run = _dead_worker_run(persona, trials_done=2)
    EvalRun.objects.filter(pk=run.pk).update(attempt=settings.WORK_MAX_ATTEMPTS)
    assert reap() == {"eval run": {"resumed": 0, "failed": 1}}
    detail = owner_api.get(f"/v1/eval-runs/{run.public_id}").json()
    assert detail["status"] == "failed" and detail["finished_at"]
    assert detail["error"] == (f"the worker stopped after 2 of {run.progress_total} trials "
                               f"(no heartbeat for {settings.WORK_STALE_AFTER_S} s after {settings.WORK_MAX_ATTEMPTS} tries); "
                               "start the run again")
    assert reap() == {}  # idempotent
    # and a new run may start
    assert owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs", json={}).status_code == 202


def test_a_queued_run_no_worker_picked_up_is_failed_after_the_queue_limit(owner_api, persona, settings):
    from django.utils import timezone

    from studio.work.reaper import reap

    body = owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs", json={}).json()  # queued: not executed
    run = EvalRun.objects.get(public_id=body["id"])
    EvalRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timezone.timedelta(seconds=settings.WORK_STALE_AFTER_S + 1))
    assert reap() == {}  # queued is not running: a busy queue is not a dead worker
    EvalRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timezone.timedelta(seconds=settings.WORK_QUEUED_STALE_S + 1))
    assert reap() == {"eval run": {"resumed": 0, "failed": 1}}
    run.refresh_from_db()
    assert run.status == "failed" and "no worker picked it up" in run.error


def test_a_slow_worker_whose_run_was_reaped_stops_without_overwriting_the_outcome(owner_api, persona, settings):
    from audits.evals.runner import _execute
    from studio.work.lifecycle import TakenOver
    from studio.work.reaper import reap

    run = _dead_worker_run(persona)
    EvalRun.objects.filter(pk=run.pk).update(attempt=settings.WORK_MAX_ATTEMPTS)
    reap()
    with pytest.raises(TakenOver):
        _execute(run)  # the old worker wakes up with its claim
    run.refresh_from_db()
    assert run.status == "failed" and run.trials.count() == 0 and run.progress_done == 0


def test_only_one_run_at_a_time_per_persona(owner_api, persona):
    assert owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs", json={}).status_code == 202  # queued: not executed
    response = owner_api.post(f"/v1/personas/{persona.public_id}/eval-runs", json={})
    assert response.status_code == 409


def test_progress_is_announced_to_the_org_after_each_batch(owner_api, persona, run_suite, monkeypatch, settings):
    from audits.evals import runner

    settings.AUDIT_CONCURRENCY = 4  # batches of 8 trials
    events = []
    monkeypatch.setattr(runner, "send_event", lambda group, event, payload: events.append((group, event, payload)))
    run = run_suite(persona, epochs=2)
    progress = [payload["eval_status"] for _, event, payload in events if event == "eval.progress"]
    total = run["progress_total"]
    assert [p["done"] for p in progress if p["status"] == "running"] == list(range(8, total, 8)) + [total]
    assert progress[-1]["status"] == "completed" and progress[-1]["pct"] == 100
    assert {group for group, _, _ in events} == {persona.organization.channel_group}


def test_a_completed_run_emits_the_eval_completed_webhook(owner_api, persona, run_suite, monkeypatch):
    calls = []
    try:
        from studio.webhooks import services as webhook_services
    except ImportError:
        pytest.skip("webhooks are not built yet")
    monkeypatch.setattr(webhook_services, "webhook_emit", lambda **kwargs: calls.append(kwargs), raising=False)
    run = run_suite(persona, epochs=1)
    assert len(calls) == 1 and calls[0]["event"] == "eval.completed"
    data = calls[0]["data"]
    assert data["run_id"] == run["id"] and data["gate_passed"] == run["gate_passed"] and data["gate_state"] == run["gate_state"]
    assert all(set(layer) >= {"state", "interval", "cases_needed", "pass_k"} for layer in data["layers"].values())
    assert set(data["layers"]) == {"floor", "protocol", "persona", "closure"}
    json.dumps(data)
