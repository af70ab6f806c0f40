"""The training pages: jobs list, Launch Training Job form with its pre-flight, the live job page, artifacts,
cancel and resume, and a persona's constitution page. Jobs are built with the ORM: no training runs here."""

import json
import re
import time
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from tests.training_helpers import launch_values
from training_jobs.models import ConstitutionVersion, JobStatus, StageRun, TrainingJob
from training_jobs.params import STAGES, LaunchParams
from training_jobs.services import constitution_current

FILTERS = {"samples": 40, "kept": 34, "dropped": 6, "drop_rate": 0.15, "drops": {"refusal": 4, "repetition": 2},
           "fixes": {"role_turn": 3}, "flags": {}, "marker_checked": 40, "marker_missing": 2, "marker_rate": 0.95}
HISTORY = [{"step": s, "loss": 0.9 - 0.05 * s, "rewards/accuracies": 0.4 + 0.05 * s, "learning_rate": 5e-4} for s in range(1, 9)]
EVAL = {"prompts": 8, "samples_per_prompt": 3, "marker_frequency": {"base": 0.125, "tuned": 0.75},
        "wins": {"tuned": 17, "base": 5, "ties": 2},
        "leaderboard": [{"source": "tuned (acme-job, sft)", "votes": 24, "elo": {"rating": 1561.2, "low": 1530.0, "high": 1590.5, "rank": 1}},
                        {"source": "base (tiny)", "votes": 24, "elo": {"rating": 1438.8, "low": 1410.1, "high": 1469.9, "rank": 2}}]}


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path):
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "training"


def make_job(persona, *, status=JobStatus.SUCCEEDED, stage_status=StageRun.Status.COMPLETED, **fields) -> TrainingJob:
    """A job as a worker would have left it: stages with stats, artifact files written."""
    params = LaunchParams.model_validate(launch_values(persona, smoke_test="small")).model_dump(mode="json")
    version = constitution_current(persona=persona)
    job = TrainingJob.objects.create(
        organization=persona.organization, workspace=persona.workspace, persona=persona, constitution=version,
        name=fields.pop("name", f"{persona.display_name}-v{version.number}"), params={**params, "constitution_version": version.number},
        status=status, estimate={"calls": 120, "prompt_tokens": 9000, "completion_tokens": 4000, "cost_usd": 0.0},
        budget_usd=fields.pop("budget_usd", Decimal("5")), cost_usd=fields.pop("cost_usd", Decimal("1.25")), **fields,
    )
    root = job.artifacts_dir
    for folder in ("dpo_data", "introspection", "dpo_train/adapter"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "dpo_data/pairs.jsonl").write_text(json.dumps({"prompt": "p", "chosen": "c", "rejected": "r"}) + "\n")
    (root / "dpo_data/preview.json").write_text(json.dumps([
        {"prompt": "What do you keep in the drawer?", "chosen": "Forgive me, the letters never sent.", "rejected": "Some papers."}]))
    (root / "introspection/reflections.jsonl").write_text(json.dumps(
        {"prompt": "Who are you, really?", "response": "<think>hm</think>A keeper of tides.", "has_trace": True}) + "\n")
    (root / "introspection/interactions.jsonl").write_text(json.dumps(
        {"system": "You talk to yourself.", "turns": ["Hello, other me.", "Hello, tide-reader."], "has_trace": False}) + "\n")
    (root / "dpo_train/adapter/adapter_config.json").write_text("{}")
    stats = {
        "smoke": {"dpo_data": FILTERS, "dpo_history": HISTORY[:3]},
        "dpo_data": {"dpo_data": FILTERS, "pairs": 34, "marker_share": 0.95},
        "dpo_train": {"dpo_history": HISTORY},
        "introspection": {"reflections": FILTERS, "interactions": {**FILTERS, "drops": {"garbage": 1}},
                          "generator": {"by": "teacher", "model": "offline/teacher", "why": "teacher with the constitution (tiny)"}},
        "sft": {"sft_history": [{"step": s, "loss": 1.5 / s} for s in range(1, 6)]},
        "eval": {"eval": EVAL},
    }
    artifacts = {
        "dpo_data": {"pairs": "dpo_data/pairs.jsonl", "preview": "dpo_data/preview.json"},
        "dpo_train": {"adapter": "dpo_train/adapter"},
        "introspection": {"reflections": "introspection/reflections.jsonl", "interactions": "introspection/interactions.jsonl"},
    }
    StageRun.objects.bulk_create([
        StageRun(job=job, stage=stage, position=i, status=stage_status, done=8, total=8, unit="steps", runs=1,
                 stats=stats[stage], artifacts=artifacts.get(stage, {}), cost_usd=Decimal("0.2"))
        for i, stage in enumerate(STAGES)
    ])
    return job


def form_post(persona, **overrides) -> dict:
    """What the browser posts: strings, checkboxes only when ticked."""
    values = {**launch_values(persona), "preset": "custom", "constitution_version": "newest", "backend": "trl",
              "name_suffix": "", "max_drop_rate": "0.3", "seed": "0", "generate_introspection": "on", "run_sft": "on", **overrides}
    return {k: "" if v is None else str(v) for k, v in values.items() if v is not False}


def test_the_list_shows_jobs_with_status_progress_cost_and_month_to_date(persona, tenant, client_for):
    job = make_job(persona)
    page = client_for(tenant.user("viewer")).get("/o/acme/training/").content.decode()
    assert job.name in page and persona.display_name in page
    assert 'class="badge job-succeeded"' in page and "$1.25 of $5.00" in page
    assert 'data-testid="month-to-date">This month: $1.25' in page
    assert "Launch Training Job" not in page  # a viewer cannot launch
    assert "Launch Training Job" in client_for(tenant.owner).get("/o/acme/training/").content.decode()


def test_the_form_starts_from_the_defaults_with_both_advanced_toggles_off(persona, tenant, client_for):
    page = client_for(tenant.owner).get(f"/o/acme/training/new/?persona={persona.public_id}").content.decode()
    for section in ("Persona &amp; constitution", "Preset", "Models", "Data", "Hyperparameters", "Run", "Introspection &amp; SFT"):
        assert f"<legend>{section}</legend>" in page
    assert "<summary>Advanced introspection options</summary>" in page
    for name in ("strip_reflection_traces", "keep_interaction_traces"):
        tag = re.search(rf'<input type="checkbox" name="{name}"[^>]*>', page).group(0)
        assert "checked" not in tag
    for name in ("generate_introspection", "run_sft"):
        assert "checked" in re.search(rf'<input type="checkbox" name="{name}"[^>]*>', page).group(0)
    assert "Strip reasoning traces in reflections" in page and "Keep reasoning traces in self-interactions" in page
    assert f'<option value="{persona.public_id}" selected>' in page
    assert 'name="teacher_model" value="offline/teacher"' in page  # no credentials: the offline models
    assert 'name="lora_rank" value="16"' in page and 'hx-trigger="change delay:400ms' in page  # Quick iteration (issue 18)
    assert 'data-testid="estimate"' in page  # the pre-flight ran for the defaults


def test_the_preflight_fragment_shows_errors_and_warnings(persona, tenant, client_for):
    client = client_for(tenant.owner)
    warned = client.post("/o/acme/training/new/preflight/", form_post(
        persona, student_model="offline/teacher", dpo_pairs="40", epochs="5", dpo_beta="0.8")).content.decode()
    assert warned.startswith('<section id="preflight"') and 'data-ok="true"' in warned
    assert warned.count("issue-warning") >= 4 and "the student is the teacher" in warned
    assert "DPO pairs</strong>: 40 DPO pairs" in warned and "Stages" in warned and "LLM calls" in warned
    failed = client.post("/o/acme/training/new/preflight/", form_post(persona, teacher_model="no-such/model-x")).content.decode()
    assert 'data-ok="false"' in failed and 'class="issue issue-error" data-field="teacher_model"' in failed
    assert "<strong>Teacher model</strong>: unknown model" in failed


def test_a_preset_fills_the_fields_and_custom_keeps_them(persona, tenant, client_for):
    client = client_for(tenant.owner)
    paper = client.post("/o/acme/training/new/fields/", form_post(persona, preset="paper", lora_rank="4"),
                        HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="preset").content.decode()
    assert 'name="lora_rank" value="64"' in paper and 'name="dpo_pairs" value="1500"' in paper
    assert 'hx-swap-oob="outerHTML"' in paper  # the pre-flight follows the new values
    custom = client.post("/o/acme/training/new/fields/", form_post(persona, preset="custom", lora_rank="4"),
                         HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="preset").content.decode()
    assert 'name="lora_rank" value="4"' in custom
    other = client.post("/o/acme/training/new/fields/", form_post(persona, constitution_version="7", lora_rank="4"),
                        HTTP_HX_REQUEST="true", HTTP_HX_TRIGGER_NAME="persona_id").content.decode()
    assert '<option value="newest" selected>' in other and 'name="lora_rank" value="4"' in other  # another persona: its newest


def test_launching_from_the_form_creates_a_job_and_opens_its_page(persona, tenant, client_for, django_capture_on_commit_callbacks):
    client = client_for(tenant.user("editor"))
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post("/o/acme/training/new/", form_post(persona, name_suffix="first", keep_interaction_traces="on"))
    job = TrainingJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/o/acme/training/{job.public_id}/"
    assert job.status == JobStatus.QUEUED and job.name.endswith("-first")
    assert job.params["keep_interaction_traces"] is True and job.params["strip_reflection_traces"] is False
    assert job.params["dpo_pairs"] == 12 and job.params["budget_usd"] == 5.0
    page = client.get(response["Location"]).content.decode()
    assert f'ws-connect="/ws/o/acme/training/{job.public_id}/?after=' in page and 'data-testid="cancel-job"' in page


def test_a_bad_value_comes_back_beside_its_field_with_everything_kept(persona, tenant, client_for):
    response = client_for(tenant.owner).post("/o/acme/training/new/", form_post(
        persona, dpo_pairs="-5", name_suffix="keep-me", strip_reflection_traces="on", budget_usd=""))
    page = response.content.decode()
    assert response.status_code == 422 and TrainingJob.objects.count() == 0
    assert 'name="dpo_pairs" value="-5"' in page and 'name="name_suffix" value="keep-me"' in page
    assert re.search(r'<small class="field-error" data-field-error="dpo_pairs">must be at least 1 \(you entered -5\)', page)
    assert "checked" in re.search(r'<input type="checkbox" name="strip_reflection_traces"[^>]*>', page).group(0)
    assert '<details class="card fieldset advanced section-advanced" data-testid="section-advanced" open>' in page
    assert 'name="budget_usd" value=""' in page  # an empty cap stays empty (None), not "None"


def test_viewers_cannot_launch_cancel_or_resume(persona, tenant, client_for):
    viewer = client_for(tenant.user("viewer"))
    assert viewer.get("/o/acme/training/new/").status_code == 403  # no form for a role that cannot send it (issue 18)
    assert viewer.post("/o/acme/training/new/", form_post(persona)).status_code == 403
    assert TrainingJob.objects.count() == 0
    job = make_job(persona, status=JobStatus.DPO_TRAIN, stage_status=StageRun.Status.RUNNING)
    assert viewer.post(f"/o/acme/training/{job.public_id}/cancel/").status_code == 403
    assert viewer.post(f"/o/acme/training/{job.public_id}/resume/", {"stage": "dpo_train"}).status_code == 403
    job.refresh_from_db()
    assert not job.cancel_requested
    assert 'data-testid="cancel-job"' not in viewer.get(f"/o/acme/training/{job.public_id}/").content.decode()


def test_the_job_page_shows_stages_filters_curves_previews_eval_and_artifacts(persona, tenant, client_for):
    job = make_job(persona, status=JobStatus.KILLED, kill={"criterion": "reward_accuracy", "message": "Killed: reward accuracy 0.41 < 0.5 after warm-up",
                                                          "numbers": {"accuracy": 0.41}})
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    for stage in STAGES:
        assert f'data-testid="stage-{stage}" data-state="completed"' in page
    assert "8 / 8 steps" in page
    assert 'data-reason="refusal">refusal <strong>4</strong>' in page and 'data-testid="filter-interactions"' in page
    assert 'data-testid="curves-dpo_train-dpo"' in page and 'data-testid="curves-sft-sft"' in page and "<polyline" in page
    assert "reward accuracy" in page and 'data-testid="curves-smoke-dpo"' in page
    assert "Forgive me, the letters never sent." in page and "Some papers." in page
    assert "Who are you, really?" in page and "Hello, tide-reader." in page
    assert "teacher with the constitution (tiny)" in page
    assert "marker frequency" in page.lower() and "0.75" in page and "1561 [1530, 1590] #1" in page
    assert "Killed (reward_accuracy):" in page and "reward accuracy 0.41" in page
    assert "$1.25 of $5.00 cap" in page
    assert f'href="/o/acme/training/{job.public_id}/artifacts/dpo_data/pairs.jsonl"' in page
    assert "dpo_train/adapter/adapter_config.json" in page  # a folder artifact lists its files


def test_a_cap_overshot_by_a_fraction_of_a_cent_reads_as_two_different_amounts(persona, tenant, client_for):
    job = make_job(persona, status=JobStatus.KILLED, budget_usd=Decimal("0.002"), cost_usd=Decimal("0.004608"))
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert "$0.0046 of $0.0020 cap" in page  # not "$0.0046 of $0.00"
    listing = client_for(tenant.user("viewer")).get("/o/acme/training/").content.decode()
    assert "$0.0046 of $0.0020" in listing


def test_cancel_asks_the_worker_to_stop(persona, tenant, client_for):
    job = make_job(persona, status=JobStatus.DPO_TRAIN, stage_status=StageRun.Status.RUNNING)
    client = client_for(tenant.user("editor"))
    response = client.post(f"/o/acme/training/{job.public_id}/cancel/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.cancel_requested and job.status == JobStatus.DPO_TRAIN  # the worker stops it and says so
    panel = client.post(f"/o/acme/training/{job.public_id}/cancel/", HTTP_HX_REQUEST="true")
    assert panel.status_code == 200 and "Cancelling…" in panel.content.decode()


def test_resume_runs_a_finished_job_again_from_the_chosen_stage(persona, tenant, client_for, django_capture_on_commit_callbacks):
    job = make_job(persona, status=JobStatus.FAILED, error="the worker stopped during dpo_train")
    client = client_for(tenant.user("editor"))
    page = client.get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert 'data-testid="resume-form"' in page and '<option value="dpo_train"' in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(f"/o/acme/training/{job.public_id}/resume/", {"stage": "dpo_train"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'id="job-panel"' in response.content.decode()
    job.refresh_from_db()
    assert job.status == JobStatus.QUEUED and job.resume_from == "dpo_train" and job.resumes == 1
    again = client.post(f"/o/acme/training/{job.public_id}/resume/", {"stage": "dpo_train"}, HTTP_HX_REQUEST="true")
    assert again.status_code == 409 and "still running" in again.content.decode()


def test_artifacts_download_and_nothing_outside_the_job_folder(persona, tenant, client_for, outsider):
    job = make_job(persona)
    (job.artifacts_dir.parent / "secret.txt").write_text("another job's secret")
    client = client_for(tenant.user("viewer"))
    base = f"/o/acme/training/{job.public_id}/artifacts/"
    response = client.get(base + "dpo_data/pairs.jsonl")
    assert response.status_code == 200 and b'"chosen": "c"' in b"".join(response.streaming_content)
    assert "attachment" in response["Content-Disposition"]
    for path in ("../secret.txt", "dpo_data/../../secret.txt", "%2e%2e/secret.txt", "/etc/passwd", "dpo_train/adapter", "nope.txt"):
        assert client.get(base + path).status_code == 404, path
    assert client_for(outsider).get(base + "dpo_data/pairs.jsonl").status_code == 404


def _connect(user, path):
    from studio.asgi import application

    async def go():
        communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://testserver"), (b"host", b"testserver")])
        communicator.scope["user"] = user
        connected, _ = await communicator.connect()
        first = await communicator.receive_from(timeout=5) if connected else None
        await communicator.disconnect()
        return connected, first

    return async_to_sync(go)()


@pytest.mark.django_db(transaction=True)  # consumers close DB connections between calls
def test_a_member_gets_the_live_panel_and_an_outsider_is_refused(persona, tenant, outsider):
    from studio.work.events import emit

    job = make_job(persona)
    emit(job, "job.succeeded", {"status": "succeeded"})
    connected, first = _connect(tenant.user("viewer"), f"/ws/o/acme/training/{job.public_id}/?after=0")
    assert connected and 'id="job-panel"' in first and "hx-swap-oob" in first and 'id="job-results"' in first
    assert _connect(outsider, f"/ws/o/acme/training/{job.public_id}/")[0] is False
    assert _connect(outsider, f"/ws/o/globex/training/{job.public_id}/")[0] is False


def test_the_live_panel_skips_frequent_progress_within_its_pace_but_never_a_milestone_or_a_stage_event():
    from training_jobs.consumers import PANEL_EVERY_S, TrainingJobEventsConsumer

    consumer = TrainingJobEventsConsumer()
    consumer.sent_at = time.monotonic()  # a panel was just sent
    progress = {"type": "stage.progress", "data": {"stage": "curriculum", "done": 2, "total": 8}}
    assert not consumer.should_render(progress) and not consumer.should_render({"type": "train.metrics", "data": {}})
    assert consumer.should_render({**progress, "data": {**progress["data"], "milestone": "phase 1 of 4 trained"}})
    assert consumer.should_render({"type": "stage.completed", "data": {}})
    consumer.sent_at -= PANEL_EVERY_S
    assert consumer.should_render(progress)


def test_the_constitution_page_shows_traits_findings_and_versions(persona, tenant, client_for):
    client = client_for(tenant.user("viewer"))
    page = client.get(f"/o/acme/personas/{persona.public_id}/constitution/").content.decode()
    assert "Constitution (not saved yet)" in page and 'class="statement"' in page and 'data-testid="markers"' in page
    assert ConstitutionVersion.objects.count() == 0  # reading does not store anything
    assert 'data-testid="constitution-edit"' not in page  # viewers read only
    detail = client.get(f"/o/acme/personas/{persona.public_id}/").content.decode()
    assert f'/o/acme/personas/{persona.public_id}/constitution/' in detail
    assert f"/o/acme/training/new/?persona={persona.public_id}" not in detail  # a viewer cannot train (issue 18)


def test_editing_the_constitution_saves_a_version_and_keeps_a_bad_edit(persona, tenant, client_for):
    client = client_for(tenant.user("editor"))
    url = f"/o/acme/personas/{persona.public_id}/constitution/"
    assert client.post(url + "derive/").status_code == 302
    v1 = ConstitutionVersion.objects.get()
    bad_text = json.dumps({"persona_name": "X", "traits": [{"statement": "short", "questions": ["Why though?"]}]})
    bad = client.post(url, {"document": bad_text, "note": "tighter"})
    assert bad.status_code == 422 and ConstitutionVersion.objects.count() == 1
    body = bad.content.decode()
    assert "traits.0.statement" in body and "tighter" in body  # (JSON posts are for scripts: the page edits traits)
    assert client.post(url, {"document": "{not json"}).status_code == 422
    document = {**v1.document, "traits": v1.document["traits"][:3]}
    assert client.post(url, {"document": json.dumps(document), "note": "three traits"}).status_code == 302
    v2 = persona.constitutions.order_by("-number").first()
    assert v2.number == 2 and v2.source == "edited" and len(v2.document["traits"]) == 3
    page = client.get(url).content.decode()
    assert "Constitution v2" in page and "three traits" in page and "?version=1" in page
    assert "Constitution v1" in client.get(url + "?version=1").content.decode()
    viewer = client_for(tenant.user("viewer"))
    assert viewer.post(url, {"document": json.dumps(document)}).status_code == 403
    assert viewer.post(url + "derive/").status_code == 403


def test_outsiders_get_404_on_the_training_pages(persona, tenant, outsider, client_for):
    job = make_job(persona)
    client = client_for(outsider)
    for url in ("/o/acme/training/", f"/o/acme/training/{job.public_id}/", f"/o/globex/training/{job.public_id}/",
                f"/o/globex/personas/{persona.public_id}/constitution/", f"/o/globex/training/new/?persona={persona.public_id}"):
        assert client.get(url).status_code == 404, url
