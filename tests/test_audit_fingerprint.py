"""The voice fingerprint: a post-generation job (start, offline and against a real provider over HTTP),
started by hand through the API, with live progress; failures and dead workers end the job."""

import math

import pytest

from audits.models import AuditJob, Fingerprint


@pytest.fixture
def jobs_on(settings):
    settings.POST_GENERATION_JOBS = True


@pytest.fixture
def start(owner_api, django_capture_on_commit_callbacks):
    """start(persona_id) → POST /v1/personas/{id}/fingerprint, the job executed inline."""

    def run(persona_id, client=None):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or owner_api).post(f"/v1/personas/{persona_id}/fingerprint")

    return run


def test_a_generated_persona_gets_a_fingerprint_from_the_offline_engine(generate, jobs_on):
    body = generate().json()
    fingerprint = Fingerprint.objects.get(persona__public_id=body["id"])
    assert fingerprint.status == "ready", fingerprint.error
    assert fingerprint.engine == "offline"
    assert fingerprint.embedding_model == "offline/studio-embed"
    assert fingerprint.scenarios == 50
    assert math.isclose(sum(v * v for v in fingerprint.vector), 1.0, rel_tol=1e-9)
    job = fingerprint.job
    # 50 answers and their embedding, then (the org's first fingerprint) the generic assistant's baseline on the same 50.
    assert (job.status, job.trigger, job.done, job.total) == ("completed", "generation", 102, 102)


def test_no_job_runs_after_generation_when_post_generation_jobs_are_off(generate):
    generate()
    assert not AuditJob.objects.exists()


def test_the_provocation_suite_is_skipped_when_disabled_in_the_config_tree(generate, jobs_on, tenant):
    from studio.config.services import config_set
    from studio.principal import Principal

    config_set(actor=Principal.from_membership(tenant.membership("owner")), key="engine.pipeline.provocation.enabled", value=False)
    generate()
    assert list(AuditJob.objects.values_list("kind", flat=True)) == ["fingerprint"]


def test_the_fingerprint_is_computed_by_a_provider_over_http(start, generate, tenant, llm_server, owner_api):
    from studio.llm.offline.engine import offline_reply
    from studio.config.services import config_set
    from studio.principal import Principal
    from tests.generation_helpers import use_test_server

    llm_server.default_reply = lambda request: offline_reply(request.messages)
    use_test_server(tenant, llm_server)
    owner = Principal.from_membership(tenant.membership("owner"))
    config_set(actor=owner, key="engine.pipeline.fingerprint.scenarios", value=12)
    config_set(actor=owner, key="engine.pipeline.fingerprint.embedding_model", value="openai/embed-test")
    persona_id = generate().json()["id"]
    llm_server.requests.clear()
    response = start(persona_id)
    assert response.status_code == 202
    job = owner_api.get(f"/v1/audit-jobs/{response.json()['job_id']}").json()
    # The persona's 12 answers and their embedding, then the generic assistant's baseline (the org's first fingerprint).
    assert (job["status"], job["done"], job["total"], job["engine"]) == ("completed", 26, 26, "providers")
    chats = [r for r in llm_server.requests if r.path == "/v1/chat/completions"]
    in_persona = [r for r in chats if "Stay in character" in r.messages[0]["content"]]
    assert len(chats) == 24 and len(in_persona) == 12 and in_persona[0].messages[0]["role"] == "system"
    embedding, baseline = [r for r in llm_server.requests if r.path == "/v1/embeddings"]
    assert embedding.model == "embed-test" and len(embedding.body["input"]) == 12 == len(baseline.body["input"])
    fingerprint = owner_api.get(f"/v1/personas/{persona_id}/fingerprint?vector=true").json()
    assert fingerprint["engine"] == "providers" and fingerprint["chat_model"] == "openai/gpt-test"
    assert fingerprint["dimensions"] == llm_server.embedding_dim == len(fingerprint["vector"])
    assert math.isclose(sum(v * v for v in fingerprint["vector"]), 1.0, rel_tol=1e-9)


def test_a_missing_embedding_credential_fails_the_job_with_a_readable_error(start, generate, tenant, llm_server, owner_api):
    from studio.llm.offline.engine import offline_reply
    from studio.config.services import config_set
    from studio.principal import Principal
    from tests.generation_helpers import use_test_server

    llm_server.default_reply = lambda request: offline_reply(request.messages)
    use_test_server(tenant, llm_server)
    owner = Principal.from_membership(tenant.membership("owner"))
    config_set(actor=owner, key="engine.pipeline.fingerprint.scenarios", value=3)
    config_set(actor=owner, key="engine.pipeline.fingerprint.embedding_model", value="gemini/gemini-embedding-001")
    persona_id = generate().json()["id"]
    job_id = start(persona_id).json()["job_id"]
    job = AuditJob.objects.get(public_id=job_id)
    assert job.status == "failed" and "no credentials for provider 'google'" in job.error
    assert job.fingerprint.status == "failed" and job.fingerprint.error == job.error


def test_an_unexpected_error_fails_the_job_instead_of_leaving_it_running(start, generate, owner_api, monkeypatch):
    persona_id = generate().json()["id"]
    monkeypatch.setattr("audits.services.persona_system_prompt", lambda layers: 1 / 0)
    job_id = start(persona_id).json()["job_id"]
    job = owner_api.get(f"/v1/audit-jobs/{job_id}").json()
    assert job["status"] == "failed" and job["error"].startswith("internal error: ZeroDivisionError")


def test_a_job_whose_worker_died_is_failed_by_the_reaper_naming_where_and_a_read_does_not_reap(start, generate, owner_api, settings):
    from datetime import timedelta

    from django.utils import timezone

    from studio.work.reaper import reap

    persona_id = generate().json()["id"]
    job_id = start(persona_id).json()["job_id"]
    AuditJob.objects.filter(public_id=job_id).update(
        status="running", done=3, total=9, heartbeat_at=timezone.now() - timedelta(seconds=settings.WORK_STALE_AFTER_S + 1))
    assert owner_api.get(f"/v1/audit-jobs/{job_id}").json()["status"] == "running"  # a read never reaps
    assert reap() == {"audit job": {"resumed": 0, "failed": 1}}
    job = AuditJob.objects.get(public_id=job_id)
    assert job.status == "failed"
    assert job.error == f"the worker stopped after 3 of 9 calls (no heartbeat for {settings.WORK_STALE_AFTER_S} s); start it again"
    assert "reap-stale-work" in settings.CELERY_BEAT_SCHEDULE


def test_progress_is_broadcast_as_calls_finish_as_an_htmx_fragment(start, generate, owner_api, monkeypatch, tenant):
    from django.template.loader import render_to_string

    from studio.config.services import config_set
    from studio.principal import Principal

    config_set(actor=Principal.from_membership(tenant.membership("owner")), key="engine.pipeline.fingerprint.scenarios", value=5)
    persona_id = generate().json()["id"]
    sent = []
    monkeypatch.setattr("audits.services.send_event", lambda group, event, payload: sent.append((group, event, payload)))
    start(persona_id)
    assert {group for group, _, _ in sent} == {tenant.org.channel_group}
    progress = [(p["job"]["status"], p["job"]["done"]) for _, event, p in sent if event == "audit.progress"]
    # 5 answers + their embedding, then the org's baseline on the same 5 scenarios (its first fingerprint): 12 calls.
    assert progress[0] == ("queued", 0) and progress[-1] == ("completed", 12)
    running = [done for status, done in progress if status == "running"]
    # saved and sent as calls finish, at most every Progress.SAVE_EVERY_S (and for the last call)
    assert running == sorted(running) and running[-1] == 12 and any(0 < done < 12 for done in running)
    html = render_to_string("events/audit.progress.html", sent[-1][2])
    assert 'hx-swap-oob="outerHTML"' in html and f'id="audit-job-{sent[-1][2]["job"]["job_id"]}"' in html


def test_the_ready_webhook_is_emitted(start, generate, owner_api, monkeypatch, django_capture_on_commit_callbacks):
    persona_id = generate().json()["id"]
    emitted = []
    monkeypatch.setattr("studio.webhooks.services.webhook_emit", lambda **kwargs: emitted.append(kwargs))
    start(persona_id)
    (event,) = emitted
    assert event["event"] == "persona.fingerprint.ready"
    assert event["data"]["persona_id"] == persona_id and event["data"]["engine"] == "offline"


def test_a_viewer_cannot_recompute_the_fingerprint_but_can_read_it(generate, tenant, api_for):
    from studio.roles import ROLE_SCOPES, Role

    persona_id = generate().json()["id"]
    viewer_api = api_for(tenant.org, scopes=sorted(ROLE_SCOPES[Role.VIEWER]))
    assert viewer_api.post(f"/v1/personas/{persona_id}/fingerprint").status_code == 403
    assert viewer_api.get(f"/v1/personas/{persona_id}/fingerprint").status_code == 404  # none yet
    assert viewer_api.get(f"/v1/personas/{persona_id}/audits").status_code == 200


def test_a_persona_still_generating_cannot_be_fingerprinted(owner_api, tenant):
    from pipeline.services import persona_generate
    from studio.principal import Principal

    persona, _ = persona_generate(principal=Principal.from_membership(tenant.membership("owner")), brief="A tide-reader")
    response = owner_api.post(f"/v1/personas/{persona.public_id}/fingerprint")
    assert response.status_code == 409
    assert "still generating" in response.json()["detail"]


def test_outsiders_get_404(generate, outsider_tenant, api_for):
    persona_id = generate().json()["id"]
    outsider_api = api_for(outsider_tenant.org)
    for path in (f"/v1/personas/{persona_id}/fingerprint", f"/v1/personas/{persona_id}/audits"):
        assert outsider_api.get(path).status_code == 404
    assert outsider_api.post(f"/v1/personas/{persona_id}/fingerprint").status_code == 404
