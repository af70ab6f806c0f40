"""The training API for unified jobs: pre-flight and launch dispatched on "kind", detail and list with no persona,
cancel, resume, events and artifacts unchanged. Launches run inside on-commit capture without executing: nothing trains."""

import pytest

from tests.test_runs_events import parse_sse
from tests.unified_helpers import make_dataset, make_unified_job
from training_jobs.composition import DEFAULT_SHARES
from training_jobs.categories import CATEGORIES
from training_jobs.models import JobStatus, TrainingJob

QUICK = {"total_rows": 100, "max_steps_per_phase": 2, "grad_accum": 1, "eval_repeats": 1}


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path):
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "training"


@pytest.fixture
def dataset(tenant):
    return make_dataset(tenant.org, name="acme mixed")


def body(*datasets, **changes) -> dict:
    return {"kind": "unified", "dataset_ids": [str(d.public_id) for d in datasets], **QUICK, **changes}


def preflight(api, payload) -> dict:
    response = api.post("/v1/training-jobs/preflight", json=payload)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def launch(owner_api, django_capture_on_commit_callbacks):
    def run(payload, client=None):
        with django_capture_on_commit_callbacks(execute=False):
            return (client or owner_api).post("/v1/training-jobs", json=payload)

    return run


def fields(issues) -> list[str]:
    return [issue["field"] for issue in issues]


def test_the_unified_preflight_reports_rows_the_mix_the_phases_and_the_estimate(owner_api, dataset):
    report = preflight(owner_api, body(dataset))
    assert report["kind"] == "unified" and report["ok"] and report["errors"] == []
    assert report["stages"] == ["compose", "curriculum", "eval"]
    assert report["counts"]["technical"] == 30 and report["counts"]["specialized"] == 0
    assert report["mix"]["total"] == 100 and sum(report["mix"]["counts"].values()) == 100
    bars = {bar["category"]: bar for bar in report["mix"]["bars"]}
    assert bars["technical"] == {"category": "technical", "target": 24.0, "achieved": 24.0, "count": 24, "low": 25.0, "high": 30.0}
    assert [p["name"] for p in report["phases"]] == ["foundation", "analytical", "empathic+creative", "mixed", "fine-tuning"]
    assert report["phases"][3]["rows"] == 100 and report["phases"][0]["learning_rate"] == 2e-5
    estimate = report["estimate"]
    assert estimate["training_tokens"] > 0 and len(estimate["steps"]) == 5 and max(estimate["steps"]) == 2
    assert estimate["judge_calls"] == 0 and estimate["cost_usd"] == 0 and not TrainingJob.objects.exists()


@pytest.mark.parametrize("changes, field", [
    ({"composition": {**DEFAULT_SHARES, "technical": 30}}, "composition"),  # sums to 106
    ({"composition": {**DEFAULT_SHARES, "gossip": 0}}, "composition.gossip"),
    ({"composition": {**DEFAULT_SHARES, "technical": 0, "instructional": 43}}, "composition.instructional"),  # over 40
    ({"phases": [{"name": "one", "categories": ["gossip"], "learning_rate": 1e-5}]}, "curriculum.phases.0.categories"),
    ({"phases": [{"name": "one", "categories": "all", "learning_rate": 0.5}]}, "curriculum.phases.0.learning_rate"),
    ({"phases": []}, "curriculum.phases"),
    ({"lora_rank": 0}, "lora_rank"),
    ({"total_rows": 5}, "total_rows"),
    ({"judge_model": "no-such/model-x"}, "judge_model"),
])
def test_problems_are_errors_naming_the_field_and_a_launch_is_a_422(owner_api, dataset, launch, changes, field):
    report = preflight(owner_api, body(dataset, **changes))
    assert not report["ok"] and report["mix"] is None or field.startswith("curriculum") or field == "judge_model"
    assert fields(report["errors"])[0] == field
    response = launch(body(dataset, **changes))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [field]
    assert not TrainingJob.objects.exists()


def test_a_category_with_no_rows_and_a_phase_with_no_data_are_errors(owner_api, tenant, launch):
    no_ethics = make_dataset(tenant.org, categories=[c for c in CATEGORIES[:-1] if c != "ethical"], name="no ethics")
    assert "composition.ethical" in fields(preflight(owner_api, body(no_ethics))["errors"])
    shares = {**DEFAULT_SHARES, "ethical": 0, "technical": 27}
    phases = [{"name": "ethics only", "categories": ["ethical"], "learning_rate": 1e-5}]
    report = preflight(owner_api, body(no_ethics, composition=shares, phases=phases))
    assert fields(report["errors"]) == ["curriculum.phases.0.categories"] and "would train on nothing" in report["errors"][0]["message"]
    assert launch(body(no_ethics, composition=shares, phases=phases)).json()["detail"][0]["loc"] == ["curriculum.phases.0.categories"]


def test_a_dataset_too_small_for_the_total_is_a_warning_and_the_mix_shrinks(owner_api, tenant):
    small = make_dataset(tenant.org, per_category=3, name="small")
    report = preflight(owner_api, body(small, total_rows=1000))
    assert report["ok"] and "composition.technical" in fields(report["warnings"])
    assert report["mix"]["total"] < 1000


def test_type_errors_are_422_before_the_preflight(owner_api, dataset):
    response = owner_api.post("/v1/training-jobs/preflight", json=body(dataset, dataset_ids=["not-a-uuid"]))
    assert response.status_code == 422 and "dataset_ids" in response.json()["detail"][0]["loc"]
    response = owner_api.post("/v1/training-jobs/preflight", json=body(dataset, phases=[{"name": "x", "categories": "all",
                                                                                           "learning_rate": "fast"}]))
    assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == "learning_rate"
    response = owner_api.post("/v1/training-jobs/preflight", json={**body(dataset), "kind": "hybrid"})
    assert response.status_code == 422 and "kind must be character or unified" in response.content.decode()


def test_launching_a_unified_job_answers_202_with_no_persona(owner_api, dataset, launch):
    response = launch(body(dataset, name_suffix="api-1", budget_usd=4))
    assert response.status_code == 202, response.content
    job = response.json()
    assert job["kind"] == "unified" and job["persona_id"] is None and job["persona_name"] is None
    assert job["constitution_version"] is None and job["status"] == "queued" and job["name"] == "unified-api-1"
    assert [(s["stage"], s["label"]) for s in job["stages"]] == [("compose", "Data mix"), ("curriculum", "Curriculum"),
                                                                ("eval", "Behavioral range")]
    assert job["params"]["dataset_ids"] == [str(dataset.public_id)] and job["params"]["lora_rank"] == 32
    assert job["estimate"]["training_tokens"] > 0 and job["budget_usd"] == 4.0
    assert owner_api.get(f"/v1/training-jobs/{job['id']}").json()["kind"] == "unified"


def test_the_list_has_the_kind_and_filters_by_it(owner_api, dataset, persona, launch):
    from tests.test_training_pages import make_job

    character = make_job(persona)
    unified = make_unified_job(dataset.organization, dataset)
    items = {item["id"]: item for item in owner_api.get("/v1/training-jobs").json()["items"]}
    assert items[str(unified.public_id)]["kind"] == "unified" and items[str(unified.public_id)]["persona_id"] is None
    assert items[str(character.public_id)]["kind"] == "character"
    assert items[str(character.public_id)]["persona_id"] == str(persona.public_id)
    only = owner_api.get("/v1/training-jobs?kind=unified").json()
    assert only["count"] == 1 and only["items"][0]["id"] == str(unified.public_id)
    assert owner_api.get("/v1/training-jobs?kind=hybrid").status_code == 422


def test_the_detail_of_a_finished_unified_job_has_its_stats(owner_api, dataset):
    job = make_unified_job(dataset.organization, dataset)
    detail = owner_api.get(f"/v1/training-jobs/{job.public_id}").json()
    assert detail["stage"] == "eval" and detail["resumable_stages"] == ["compose", "curriculum", "eval"]
    stages = {s["stage"]: s for s in detail["stages"]}
    assert stages["compose"]["stats"]["mix"]["total"] == 100
    assert stages["curriculum"]["artifacts"]["phase_5_adapter"] == "curriculum/phase_5/adapter"
    assert stages["eval"]["stats"]["eval"]["table"][0]["kind"] == "overall"
    # its outcome: 7 of 12 cases improved on the last checkpoint, none regressed (exact McNemar p = 2 · ½^7)
    assert detail["outcome"] == "improved"
    paired = detail["outcome_detail"]["paired"]
    assert (paired["improved_cases"], paired["regressed_cases"], paired["cases"]) == (7, 0, 12)
    assert paired["p_value"] == pytest.approx(2 / 2 ** 7) and paired["method"] == "mcnemar"
    assert paired["interval"] == pytest.approx([0.2400, 0.7574], abs=1e-4)  # Newcombe's paired interval, textbook
    listed = owner_api.get("/v1/training-jobs?kind=unified").json()["items"]
    assert [item["outcome"] for item in listed] == ["improved"]


def test_a_character_launch_still_works_with_or_without_kind(owner_api, persona, launch):
    defaults = owner_api.get("/v1/training/defaults").json()
    form = {**defaults, "dpo_pairs": 200, "reflections": 20, "interactions": 2, "interaction_turns": 2, "persona_id": str(persona.public_id)}
    assert preflight(owner_api, form)["kind"] == "character"
    assert preflight(owner_api, {**form, "kind": "character"})["stages"][0] == "smoke"
    response = launch({**form, "kind": "character"})
    assert response.status_code == 202 and response.json()["kind"] == "character"
    assert response.json()["persona_id"] == str(persona.public_id)


def test_another_orgs_dataset_is_404_for_preflight_and_launch(owner_api, dataset, outsider_tenant, launch):
    theirs = make_dataset(outsider_tenant.org, name="globex set")
    assert owner_api.post("/v1/training-jobs/preflight", json=body(theirs)).status_code == 404
    assert owner_api.post("/v1/training-jobs/preflight", json=body(dataset, theirs)).status_code == 404
    # even with values the pre-flight would refuse anyway
    assert owner_api.post("/v1/training-jobs/preflight", json=body(theirs, lora_rank=0)).status_code == 404
    assert launch(body(theirs)).status_code == 404
    assert not TrainingJob.objects.exists()


def test_outsiders_get_404_for_a_unified_job(dataset, outsider_tenant, api_for):
    job = make_unified_job(dataset.organization, dataset)
    outsider = api_for(outsider_tenant.org)
    for path in ("", "/artifacts", "/events", "/artifacts/curriculum/phase_1/adapter/adapter_config.json"):
        assert outsider.get(f"/v1/training-jobs/{job.public_id}{path}").status_code == 404, path
    assert outsider.post(f"/v1/training-jobs/{job.public_id}/cancel").status_code == 404
    assert outsider.get("/v1/training-jobs?kind=unified").json()["count"] == 0


def test_a_read_only_key_can_preflight_but_not_launch(tenant, dataset, api_for, launch):
    reader = api_for(tenant.org, scopes=["training:read"])
    assert preflight(reader, body(dataset))["ok"]
    assert launch(body(dataset), client=reader).status_code == 403


def test_cancel_events_artifacts_and_resume_work_on_unified_jobs(owner_api, dataset, launch, django_capture_on_commit_callbacks):
    queued = launch(body(dataset)).json()
    cancelled = owner_api.post(f"/v1/training-jobs/{queued['id']}/cancel")
    assert cancelled.status_code == 202 and cancelled.json()["status"] == "cancelled"
    events = parse_sse(b"".join(owner_api.client.get(f"/v1/training-jobs/{queued['id']}/events")).decode())
    assert [e["event"] for e in events] == ["job.queued", "job.cancelled"] and '"kind":"unified"' in events[0]["data"]

    job = make_unified_job(dataset.organization, dataset, status=JobStatus.FAILED, name="unified-failed")
    paths = {a["path"] for a in owner_api.get(f"/v1/training-jobs/{job.public_id}/artifacts").json()["items"]}
    assert {f"curriculum/phase_{n}/adapter/adapter_config.json" for n in range(1, 6)} <= paths
    download = owner_api.get(f"/v1/training-jobs/{job.public_id}/artifacts/curriculum/phase_3/adapter/adapter_config.json")
    assert download.status_code == 200
    with django_capture_on_commit_callbacks(execute=False):
        resumed = owner_api.post(f"/v1/training-jobs/{job.public_id}/resume", json={"stage": "eval"})
    assert resumed.status_code == 202 and resumed.json()["resume_from"] == "eval" and resumed.json()["status"] == "queued"
