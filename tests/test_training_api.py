"""The training API: pre-flight, launch, cancel, resume, events, artifacts, cost, presets, constitutions, scopes.

Jobs are launched but never run here: their task is queued on commit, and the test transaction never commits.
"""

import pytest
from django.utils import timezone

from personas.models import Persona
from tests.test_runs_events import parse_sse
from training_jobs.models import JobStatus, StageRun, TrainingJob

SMALL = {"dpo_pairs": 200, "reflections": 20, "interactions": 2, "interaction_turns": 2}
ABSTRACT = {"persona_name": "Ines", "traits": [
    {"statement": "I am kind and thoughtful to everyone I happen to meet.", "questions": ["How are you?", "What do you value?", "Who are you?"]},
    {"statement": "I value honesty above almost everything else in life.", "questions": ["Would you lie?", "Is honesty hard?", "Why be honest?"]},
]}


@pytest.fixture
def form(owner_api, persona):
    """form(**changes) → a launch form for the ready persona: the org's defaults (offline models), small sizes."""
    defaults = owner_api.get("/v1/training/defaults").json()

    def make(**changes):
        return {**defaults, **SMALL, "persona_id": str(persona.public_id), **changes}

    return make


@pytest.fixture
def launch(owner_api, form):
    def run(client=None, **changes):
        response = (client or owner_api).post("/v1/training-jobs", json=form(**changes))
        assert response.status_code == 202, response.content
        return response.json()

    return run


def preflight(api, body) -> dict:
    response = api.post("/v1/training-jobs/preflight", json=body)
    assert response.status_code == 200, response.content
    return response.json()


def fields(issues) -> set[str]:
    return {issue["field"] for issue in issues}


def end(job_id: str, status=JobStatus.FAILED) -> TrainingJob:
    job = TrainingJob.objects.get(public_id=job_id)
    job.status, job.finished_at = status, timezone.now()
    job.save(update_fields=["status", "finished_at"])
    return job


# --- pre-flight --------------------------------------------------------------------------------


def test_the_defaults_use_offline_models_when_the_org_has_no_credentials(owner_api):
    defaults = owner_api.get("/v1/training/defaults").json()
    assert defaults["teacher_model"] == "offline/teacher" and defaults["student_model"] == "offline/student"
    assert defaults["student_checkpoint"] == "tiny" and defaults["lora_rank"] == 64 and defaults["dpo_pairs"] == 1500


def test_a_clean_form_passes_the_preflight_with_an_estimate_and_launches_nothing(owner_api, form):
    report = preflight(owner_api, form())
    assert report["ok"] and report["errors"] == [] and report["warnings"] == []
    assert report["engine"] == "offline" and report["constitution_version"] is None
    assert report["stages"] == ["smoke", "dpo_data", "dpo_train", "introspection", "sft", "eval"]
    assert report["sizes"]["dpo_pairs"] == 200
    assert report["estimate"]["calls"] > 400 and report["estimate"]["cost_usd"] == 0
    assert not TrainingJob.objects.exists()


@pytest.mark.parametrize("changes, field", [
    ({"student_model": "offline/teacher"}, "student_model"),  # teacher = student
    ({"dpo_pairs": 60}, "dpo_pairs"),
    ({"epochs": 4, "dpo_pairs": 300}, "epochs"),
    ({"dpo_beta": 0.8}, "dpo_beta"),
])
def test_risky_values_are_warnings_and_the_job_may_still_launch(owner_api, form, changes, field):
    report = preflight(owner_api, form(**changes))
    assert report["ok"] and fields(report["warnings"]) == {field}
    assert owner_api.post("/v1/training-jobs", json=form(**changes)).status_code == 202


def test_fewer_than_100_pairs_after_the_data_scale_warn(owner_api, form):
    report = preflight(owner_api, form(dpo_pairs=300, data_scale=25))
    assert report["sizes"]["dpo_pairs"] == 75 and "dpo_pairs" in fields(report["warnings"])


@pytest.mark.parametrize("changes, field", [
    ({"teacher_model": "nosuchprovider/imaginary-model-9"}, "teacher_model"),  # unknown model
    ({"student_model": "openai/gpt-4o-mini"}, "student_model"),  # no credentials for it
    ({"dpo_pairs": 0}, "dpo_pairs"),
    ({"reflections": -3}, "reflections"),
    ({"interactions": 0}, "interactions"),
    ({"dpo_pairs": 10**9}, "dpo_pairs"),
    ({"reflections": 10**12}, "reflections"),
    ({"batch_size": 0}, "batch_size"),
    ({"budget_usd": 0}, "budget_usd"),
    ({"data_scale": 30}, "data_scale"),
    ({"preset": "turbo"}, "preset"),
    ({"student_checkpoint": "Qwen/Qwen2.5-7B-Instruct"}, "student_checkpoint"),  # a hub id, and the hub is off
    ({"constitution_version": 7}, "constitution_version"),
])
def test_blocking_problems_are_preflight_errors_and_a_launch_is_422_naming_the_field(owner_api, form, changes, field):
    report = preflight(owner_api, form(**changes))
    assert not report["ok"] and field in fields(report["errors"]), report["errors"]
    response = owner_api.post("/v1/training-jobs", json=form(**changes))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == [field]
    assert not TrainingJob.objects.exists()


def test_an_abstract_constitution_is_a_warning(owner_api, form, persona):
    saved = owner_api.post(f"/v1/personas/{persona.public_id}/constitution", json=ABSTRACT)
    assert saved.status_code == 201
    report = preflight(owner_api, form())
    assert report["ok"] and report["constitution_version"] == 1
    assert {"constitution", "constitution.traits.0.statement", "constitution.traits.1.statement"} <= fields(report["warnings"])


def test_a_constitution_with_no_traits_cannot_launch(owner_api, form, persona):
    owner_api.post(f"/v1/personas/{persona.public_id}/constitution", json={"persona_name": "Ines", "traits": []})
    assert "constitution.traits" in fields(preflight(owner_api, form())["errors"])
    response = owner_api.post("/v1/training-jobs", json=form())
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["constitution.traits"]


def test_another_orgs_persona_is_404_for_preflight_and_launch(form, outsider_tenant, api_for):
    outsider = api_for(outsider_tenant.org)
    assert outsider.post("/v1/training-jobs/preflight", json=form()).status_code == 404
    # even with values the pre-flight would refuse anyway
    assert outsider.post("/v1/training-jobs/preflight", json=form(dpo_pairs=0)).status_code == 404
    assert outsider.post("/v1/training-jobs", json=form()).status_code == 404
    assert not TrainingJob.objects.exists()


def test_a_persona_still_generating_cannot_launch(owner_api, tenant, form, persona):
    Persona.objects.filter(pk=persona.pk).update(status="generating")
    response = owner_api.post("/v1/training-jobs", json=form())
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["persona_id"]


# --- launch, list, detail, cost ----------------------------------------------------------------


def test_a_launch_answers_202_with_the_queued_job_and_its_stage_plan(owner_api, launch, persona):
    job = launch(run_sft=False, name_suffix="first try")
    assert job["status"] == "queued" and job["stage"] is None and job["persona_id"] == str(persona.public_id)
    assert job["name"].endswith("-v1-first try") and job["constitution_version"] == 1
    assert job["params"]["dpo_pairs"] == 200 and job["params"]["constitution_version"] == 1
    assert job["estimate"]["priced"] and job["last_event_seq"] == 1 and job["resumable_stages"] == []
    stages = {s["stage"]: s for s in job["stages"]}
    assert list(stages) == ["smoke", "dpo_data", "dpo_train", "introspection", "sft", "eval"]
    assert stages["sft"]["status"] == "skipped" and stages["dpo_data"]["status"] == "pending"
    assert stages["dpo_data"]["label"] == "DPO data" and stages["dpo_data"]["percent"] == 0

    assert owner_api.get(f"/v1/training-jobs/{job['id']}").json()["id"] == job["id"]


def test_the_list_is_newest_first_with_status_stage_and_cost(owner_api, launch):
    first, second, third = launch(), launch(), launch()
    TrainingJob.objects.filter(public_id=second["id"]).update(status="dpo_train", cost_usd="1.25")
    page = owner_api.get("/v1/training-jobs?limit=2").json()
    assert page["count"] == 3 and page["next_cursor"]
    assert [j["id"] for j in page["items"]] == [third["id"], second["id"]]
    assert page["items"][1]["stage"] == "dpo_train" and page["items"][1]["cost_usd"] == 1.25
    rest = owner_api.get("/v1/training-jobs", data={"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [j["id"] for j in rest["items"]] == [first["id"]] and rest["next_cursor"] is None
    assert owner_api.get("/v1/training-jobs?status=dpo_train").json()["count"] == 1
    assert owner_api.get("/v1/training-jobs?status=bogus").status_code == 422


def test_a_failed_jobs_stage_is_the_one_it_failed_in(owner_api, launch):
    job = launch()
    StageRun.objects.filter(job__public_id=job["id"], stage__in=["smoke", "dpo_data"]).update(status="completed")
    StageRun.objects.filter(job__public_id=job["id"], stage="dpo_train").update(status="failed", error="loss is nan")
    end(job["id"])
    detail = owner_api.get(f"/v1/training-jobs/{job['id']}").json()
    assert detail["status"] == "failed" and detail["stage"] == "dpo_train"


def test_the_cost_is_the_orgs_month_to_date(owner_api, launch, outsider_tenant, api_for):
    job = launch()
    TrainingJob.objects.filter(public_id=job["id"]).update(cost_usd="2.5", prompt_tokens=1000)
    cost = owner_api.get("/v1/training/cost").json()
    assert cost["month_to_date_usd"] == 2.5 and [j["id"] for j in cost["jobs"]] == [job["id"]]
    assert cost["jobs"][0]["prompt_tokens"] == 1000
    assert api_for(outsider_tenant.org).get("/v1/training/cost").json() == {"month_to_date_usd": 0.0, "jobs": []}


def test_presets_fill_the_form(owner_api):
    paper = owner_api.get("/v1/training/presets/paper").json()
    assert paper["lora_rank"] == 64 and paper["dpo_pairs"] == 1500 and paper["sft_max_length"] == 3072
    assert owner_api.get("/v1/training/presets/custom").json() == {}
    response = owner_api.get("/v1/training/presets/turbo")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["preset"]


# --- cancel and resume -------------------------------------------------------------------------


def test_cancelling_a_queued_job_ends_it_and_a_second_cancel_is_409(owner_api, launch):
    job = launch()
    cancelled = owner_api.post(f"/v1/training-jobs/{job['id']}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    again = owner_api.post(f"/v1/training-jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "already ended" in again.json()["detail"]


def test_cancelling_a_running_job_asks_the_worker_to_stop(owner_api, launch):
    job = launch()
    TrainingJob.objects.filter(public_id=job["id"]).update(status="dpo_data")
    cancelled = owner_api.post(f"/v1/training-jobs/{job['id']}/cancel").json()
    assert cancelled["status"] == "dpo_data" and cancelled["cancel_requested"]


def test_resume_error_codes(owner_api, launch):
    job = launch()
    url = f"/v1/training-jobs/{job['id']}/resume"
    assert owner_api.post(url, json={"stage": "dpo_data"}).status_code == 409  # still queued
    end(job["id"])
    unknown = owner_api.post(url, json={"stage": "pretraining"})
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["stage"]
    missing = owner_api.post(url, json={"stage": "dpo_train"})  # no DPO pairs were written
    assert missing.status_code == 409 and "dpo_data.pairs" in str(missing.json()["detail"])


def test_resuming_queues_the_job_again_from_that_stage(owner_api, launch):
    job = launch()
    end(job["id"])
    assert owner_api.get(f"/v1/training-jobs/{job['id']}").json()["resumable_stages"] == ["dpo_data", "introspection"]
    resumed = owner_api.post(f"/v1/training-jobs/{job['id']}/resume", json={"stage": "dpo_data"})
    assert resumed.status_code == 202
    assert resumed.json()["status"] == "queued" and resumed.json()["resume_from"] == "dpo_data" and resumed.json()["resumes"] == 1


def test_resuming_at_a_stage_whose_inputs_exist_is_allowed(owner_api, launch, settings, tmp_path):
    settings.TRAINING_ARTIFACTS_DIR = tmp_path
    job = end(launch()["id"])
    (job.artifacts_dir / "dpo_data").mkdir(parents=True)
    (job.artifacts_dir / "dpo_data" / "pairs.jsonl").write_text("{}\n")
    StageRun.objects.filter(job=job, stage="dpo_data").update(status="completed", artifacts={"pairs": "dpo_data/pairs.jsonl"})
    assert "dpo_train" in owner_api.get(f"/v1/training-jobs/{job.public_id}").json()["resumable_stages"]
    assert owner_api.post(f"/v1/training-jobs/{job.public_id}/resume", json={"stage": "dpo_train"}).status_code == 202


# --- events ------------------------------------------------------------------------------------


def stream(api, url, **headers) -> list[dict]:
    response = api.client.get(url, **headers)
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    return parse_sse(b"".join(response).decode())


def test_the_event_stream_replays_the_job_and_resumes_after_last_event_id(owner_api, launch):
    job = launch()
    owner_api.post(f"/v1/training-jobs/{job['id']}/cancel")
    events = stream(owner_api, f"/v1/training-jobs/{job['id']}/events")
    assert [(e["id"], e["event"]) for e in events] == [("1", "job.queued"), ("2", "job.cancelled")]
    assert '"stages":["smoke"' in events[0]["data"]
    assert [e["id"] for e in stream(owner_api, f"/v1/training-jobs/{job['id']}/events", HTTP_LAST_EVENT_ID="1")] == ["2"]
    bad = owner_api.get(f"/v1/training-jobs/{job['id']}/events", HTTP_LAST_EVENT_ID="soon")
    assert bad.status_code == 422


def test_the_stream_of_a_job_whose_worker_died_ends_with_the_reapers_failure(owner_api, launch, settings):
    from studio.work.reaper import reap

    job = launch()
    TrainingJob.objects.filter(public_id=job["id"]).update(
        status="dpo_data", attempt=settings.WORK_MAX_ATTEMPTS, heartbeat_at=timezone.now() - timezone.timedelta(hours=1))
    assert owner_api.get(f"/v1/training-jobs/{job['id']}").json()["status"] == "dpo_data"  # a read does not reap
    assert reap() == {"training job": {"resumed": 0, "failed": 1}}
    events = stream(owner_api, f"/v1/training-jobs/{job['id']}/events", HTTP_LAST_EVENT_ID="1")
    assert [e["event"] for e in events] == ["job.failed"] and "stopped during dpo_data" in events[0]["data"]


# --- artifacts ---------------------------------------------------------------------------------


@pytest.fixture
def job_with_artifacts(launch, settings, tmp_path):
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "artifacts"
    job = TrainingJob.objects.get(public_id=launch()["id"])
    root = job.artifacts_dir
    (root / "dpo_data").mkdir(parents=True)
    (root / "dpo_data" / "pairs.jsonl").write_text('{"prompt": "hi"}\n')
    (root / "dpo_train" / "adapter").mkdir(parents=True)
    (root / "dpo_train" / "adapter" / "weights.bin").write_bytes(b"\0" * 10)
    (tmp_path / "secret.txt").write_text("another job's data")
    (root / "escape.txt").symlink_to(tmp_path / "secret.txt")
    return job


def test_artifacts_are_listed_with_relative_paths_and_sizes(owner_api, job_with_artifacts):
    listed = owner_api.get(f"/v1/training-jobs/{job_with_artifacts.public_id}/artifacts").json()["items"]
    assert listed == [{"path": "dpo_data/pairs.jsonl", "size": 17}, {"path": "dpo_train/adapter/weights.bin", "size": 10}]


def test_an_artifact_downloads_as_a_file(owner_api, job_with_artifacts):
    response = owner_api.get(f"/v1/training-jobs/{job_with_artifacts.public_id}/artifacts/dpo_data/pairs.jsonl")
    assert response.status_code == 200 and b"".join(response.streaming_content) == b'{"prompt": "hi"}\n'
    assert 'filename="pairs.jsonl"' in response["Content-Disposition"]


@pytest.mark.parametrize("path", ["../secret.txt", "%2e%2e/%2e%2e/secret.txt", "dpo_data/../../secret.txt", "/etc/passwd",
                                  "dpo_data", "dpo_data/", "escape.txt", "nothing.jsonl"])
def test_anything_but_a_file_inside_the_jobs_artifacts_is_404(owner_api, job_with_artifacts, path):
    response = owner_api.get(f"/v1/training-jobs/{job_with_artifacts.public_id}/artifacts/{path}")
    assert response.status_code == 404


def test_a_job_without_artifacts_lists_none(owner_api, launch, settings, tmp_path):
    settings.TRAINING_ARTIFACTS_DIR = tmp_path
    assert owner_api.get(f"/v1/training-jobs/{launch()['id']}/artifacts").json()["items"] == []


# --- constitutions -----------------------------------------------------------------------------


def test_the_current_constitution_is_derived_once_with_findings_and_markers(owner_api, persona):
    first = owner_api.get(f"/v1/personas/{persona.public_id}/constitution").json()
    assert first["number"] == 1 and first["source"] == "derived" and first["persona_version"] == 1
    assert first["findings"] == [] and first["markers"] and len(first["traits"]) >= 8
    assert first["traits"][0]["statement"] in first["system_prompt"]
    assert owner_api.get(f"/v1/personas/{persona.public_id}/constitution").json()["id"] == first["id"]


def test_an_edit_is_a_new_version_with_its_findings(owner_api, persona):
    url = f"/v1/personas/{persona.public_id}"
    owner_api.get(f"{url}/constitution")
    saved = owner_api.post(f"{url}/constitution", json={**ABSTRACT, "note": "kinder"})
    assert saved.status_code == 201
    body = saved.json()
    assert body["number"] == 2 and body["source"] == "edited" and body["note"] == "kinder" and body["markers"] == []
    assert {f["code"] for f in body["findings"]} >= {"abstract", "no_markers"}
    assert body["traits"][0]["source"] == "edited"
    assert owner_api.get(f"{url}/constitution").json()["number"] == 2
    versions = owner_api.get(f"{url}/constitutions").json()["items"]
    assert [(v["number"], v["source"], v["traits"]) for v in versions][0] == (2, "edited", 2)
    assert [v["number"] for v in versions] == [2, 1]
    assert owner_api.get(f"{url}/constitutions/1").json()["source"] == "derived"
    assert owner_api.get(f"{url}/constitutions/9").status_code == 404
    derived = owner_api.post(f"{url}/constitution/derive")
    assert derived.status_code == 201 and derived.json()["number"] == 3 and derived.json()["source"] == "derived"


@pytest.mark.parametrize("change, field", [
    ({"traits": [{"statement": "Too short", "questions": ["What now?"]}]}, "traits.0.statement"),
    ({"traits": [{"statement": "I always say \"well, well\" first.", "questions": ["Hi?"]}]}, "traits.0.questions"),
    ({"traits": [{"statement": "I always say \"well, well\" first.", "questions": ["Same one?", "Same one?"]}]}, "traits.0.questions"),
    ({"persona_name": ""}, "persona_name"),
])
def test_an_invalid_constitution_is_422_naming_the_field(owner_api, persona, change, field):
    response = owner_api.post(f"/v1/personas/{persona.public_id}/constitution", json={**ABSTRACT, **change})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [field]
    assert not persona.constitutions.exists()


def test_constitutions_of_another_orgs_persona_are_404(persona, outsider_tenant, api_for):
    outsider = api_for(outsider_tenant.org)
    url = f"/v1/personas/{persona.public_id}"
    assert outsider.get(f"{url}/constitution").status_code == 404
    assert outsider.post(f"{url}/constitution", json=ABSTRACT).status_code == 404
    assert outsider.post(f"{url}/constitution/derive").status_code == 404
    assert not persona.constitutions.exists()


# --- scopes and roles --------------------------------------------------------------------------


def test_writes_need_the_training_write_scope(tenant, api_for, launch, form, persona):
    job = launch()
    reader = api_for(tenant.org, scopes=["training:read", "personas:read"])
    assert reader.get(f"/v1/training-jobs/{job['id']}").status_code == 200
    assert preflight(reader, form())["ok"]
    for url, body in [("/v1/training-jobs", form()), (f"/v1/training-jobs/{job['id']}/cancel", None),
                      (f"/v1/training-jobs/{job['id']}/resume", {"stage": "dpo_data"}),
                      (f"/v1/personas/{persona.public_id}/constitution", ABSTRACT),
                      (f"/v1/personas/{persona.public_id}/constitution/derive", None)]:
        response = reader.post(url, json=body)
        assert response.status_code == 403 and "training:write" in response.json()["detail"], url
    assert TrainingJob.objects.get(public_id=job["id"]).status == "queued"


def test_reads_need_the_training_read_scope(tenant, api_for, launch, persona):
    job = launch()
    other = api_for(tenant.org, scopes=["personas:read"])
    for url in ["/v1/training-jobs", f"/v1/training-jobs/{job['id']}", f"/v1/training-jobs/{job['id']}/artifacts",
                f"/v1/training-jobs/{job['id']}/events", "/v1/training/cost", "/v1/training/defaults",
                f"/v1/personas/{persona.public_id}/constitution"]:
        assert other.get(url).status_code == 403, url


def test_a_viewer_reads_jobs_but_cannot_launch(tenant, launch, form):
    from tests.conftest import SessionApi

    job = launch()
    viewer = SessionApi(tenant.user("viewer"))
    assert viewer.get(f"/v1/training-jobs/{job['id']}").status_code == 200
    assert viewer.post("/v1/training-jobs", json=form()).status_code == 403


def test_an_editor_with_credentials_launches_on_providers(tenant, api_for, form):
    from studio.services import credential_set

    credential_set(organization=tenant.org, provider="openai", api_key="sk-test-12345678")
    editor = api_for(tenant.org, scopes=["training:read", "training:write"])
    report = preflight(editor, form(teacher_model="openai/gpt-4o-mini"))
    assert report["ok"] and report["engine"] == "providers" and report["estimate"]["cost_usd"] > 0
