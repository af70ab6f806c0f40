"""The unified training pages: the launch form (datasets, composition, curriculum, hyperparameters) with its
pre-flight and phase editing, the job page (mix, phases, curves, checkpoints, behavioral-range table) and the list.
Jobs are built with the ORM or launched without running (on-commit callbacks not executed): nothing trains here."""

import re

import pytest

from tests.test_training_pages import make_job
from tests.unified_helpers import CHECKPOINTS, make_dataset, make_unified_job
from training_jobs.composition import DEFAULT_SHARES
from training_jobs.categories import CATEGORIES
from training_jobs.consumers import rendered_panel
from training_jobs.models import JobStatus, StageRun, TrainingJob

FORM = "/o/acme/training/unified/new/"


@pytest.fixture(autouse=True)
def _artifacts_in_tmp(settings, tmp_path):
    settings.TRAINING_ARTIFACTS_DIR = tmp_path / "training"


@pytest.fixture
def dataset(tenant):
    return make_dataset(tenant.org, per_category=30, name="acme mixed")


def unified_post(*datasets, **overrides) -> dict:
    """What the browser posts: the default shares and phases, quick-run sizes, checkboxes only when ticked."""
    values = {"dataset_ids": [str(d.public_id) for d in datasets], "phases-present": "1", "total_rows": "100",
              "max_steps_per_phase": "2", "student_checkpoint": "tiny", "lora_rank": "32", "lora_alpha": "64",
              "lora_dropout": "0.05", "batch_size": "4", "grad_accum": "8", "warmup_ratio": "0.03", "max_grad_norm": "1",
              "max_length": "1024", "judge_model": "offline/studio", "eval_repeats": "2", "eval_max_new_tokens": "64",
              "temperature": "0.7", "top_p": "0.95", "budget_usd": "", "max_burn_usd_per_hour": "", "concurrency": "16",
              "backend": "trl", "name_suffix": "", "seed": "0"}
    values.update({f"share-{c}": str(DEFAULT_SHARES.get(c, "")) for c in CATEGORIES})
    for i, phase in enumerate(comp_phases()):
        values.update({f"phases-{i}-name": phase["name"], f"phases-{i}-categories": phase["categories"],
                       f"phases-{i}-learning_rate": str(phase["learning_rate"]), f"phases-{i}-epochs": "1"})
    values.update(overrides)
    return values


def comp_phases() -> list[dict]:
    from training_jobs.curriculum import DEFAULT_PHASES

    return [p.as_dict() for p in DEFAULT_PHASES]


def input_value(page: str, name: str) -> str:
    return re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page).group(1)


# --- the form ------------------------------------------------------------------------------------


def test_the_form_starts_from_the_defaults_with_the_orgs_datasets_chosen(dataset, tenant, client_for):
    page = client_for(tenant.owner).get(FORM).content.decode()
    assert f'name="dataset_ids" value="{dataset.public_id}" checked' in page
    assert "acme mixed" in page and "270 rows" in page and 'data-category="technical">technical <strong>30</strong>' in page
    for category, share in DEFAULT_SHARES.items():
        assert input_value(page, f"share-{category}") == f"{share:g}"
    assert input_value(page, "share-specialized") == ""  # opt-in
    assert "25–30%" in page and "opt-in" in page and 'data-testid="share-sum">100%' in page
    for i, phase in enumerate(comp_phases()):
        assert input_value(page, f"phases-{i}-name") == phase["name"]
        assert input_value(page, f"phases-{i}-learning_rate") == f"{phase['learning_rate']:g}"
    assert 'name="phases-3-categories" value="all" data-phase-category checked' in page
    defaults = {"lora_rank": "32", "lora_alpha": "64", "lora_dropout": "0.05", "warmup_ratio": "0.03", "max_grad_norm": "1",
                "batch_size": "4", "grad_accum": "8", "judge_model": "offline/studio", "eval_repeats": "2", "budget_usd": ""}
    for name, value in defaults.items():
        assert input_value(page, name) == value, name
    assert "cosine" in page
    # the pre-flight ran for the defaults: a mix was sampled, rows per phase and the estimate shown
    assert 'data-testid="preflight" data-ok="true"' in page and 'data-testid="estimate"' in page
    assert 'data-testid="preflight-phases"' in page and "Training tokens" in page and "Judge calls" in page
    assert 'data-category="technical"' in page and 'class="achieved"' in page and 'class="band"' in page
    assert "Data mix" in page and "Behavioral range" in page


def test_the_list_and_the_character_form_link_to_the_unified_form(dataset, tenant, client_for):
    client = client_for(tenant.owner)
    assert 'href="/o/acme/training/unified/new/"' in client.get("/o/acme/training/").content.decode()
    character = client.get("/o/acme/training/new/").content.decode()
    assert 'data-testid="training-kind-tabs"' in character and 'href="/o/acme/training/unified/new/"' in character
    unified = client.get(FORM).content.decode()
    assert 'class="active" aria-current="page" data-testid="unified-training-tab"' in unified


def test_without_datasets_the_form_says_where_to_get_one(tenant, client_for):
    page = client_for(tenant.owner).get(FORM).content.decode()
    assert "No dataset yet" in page and 'href="/o/acme/datasets/"' in page
    assert 'data-ok="false"' in page and "choose at least one dataset" in page


@pytest.mark.parametrize("changes, field, label", [
    ({"share-technical": "30"}, "composition", "Composition"),  # sums to 106
    ({"share-technical": "-1", "share-instructional": "44"}, "composition.technical", "Share · technical"),
    ({"share-technical": "lots"}, "composition.technical", "Share · technical"),
    ({"phases-1-learning_rate": "fast"}, "curriculum.phases.1.learning_rate", "Phase 2 · learning rate"),
    ({"phases-0-categories": []}, "curriculum.phases.0.categories", "Phase 1 · categories"),
    ({"phases-2-name": "foundation"}, "curriculum.phases.2.name", "Phase 3 · name"),
    ({"lora_rank": "0"}, "lora_rank", "LoRA rank r"),
    ({"total_rows": "5"}, "total_rows", "Rows in the mix"),
])
def test_the_preflight_names_the_field_of_each_problem(dataset, tenant, client_for, changes, field, label):
    panel = client_for(tenant.owner).post(f"{FORM}preflight/", unified_post(dataset, **changes)).content.decode()
    assert panel.startswith('<section id="preflight"') and 'data-ok="false"' in panel
    assert f'class="issue issue-error" data-field="{field}"><strong>{label}</strong>' in panel


def test_a_category_without_rows_a_phase_without_data_and_too_little_data(tenant, client_for):
    no_ethics = make_dataset(tenant.org, categories=[c for c in CATEGORIES[:-1] if c != "ethical"], name="no ethics")
    client = client_for(tenant.owner)
    panel = client.post(f"{FORM}preflight/", unified_post(no_ethics)).content.decode()
    assert 'data-field="composition.ethical"' in panel and "no rows in the data for this category" in panel

    shares = {"share-ethical": "", "share-technical": "27"}
    ethics_only = {"phases-present": "1", "phases-0-name": "ethics", "phases-0-categories": ["ethical"], "phases-0-learning_rate": "1e-5"}
    base = {k: v for k, v in unified_post(no_ethics).items() if not k.startswith("phases-")}
    panel = client.post(f"{FORM}preflight/", {**base, **shares, **ethics_only}).content.decode()
    assert 'data-field="curriculum.phases.0.categories"' in panel and "would train on nothing" in panel

    small = make_dataset(tenant.org, per_category=2, name="tiny set")
    panel = client.post(f"{FORM}preflight/", unified_post(small, total_rows="1000")).content.decode()
    assert 'class="issue issue-warning" data-field="composition.technical"' in panel and "the mix will have" in panel


def test_the_preflight_swaps_the_mix_chart_in_with_achieved_shares(dataset, tenant, client_for):
    panel = client_for(tenant.owner).post(f"{FORM}preflight/", unified_post(dataset)).content.decode()
    assert '<div id="mix-chart" class="mix-chart" hx-swap-oob="outerHTML"' in panel
    assert "24% → 24.0%<" in panel and "100 rows sampled" in panel
    broken = client_for(tenant.owner).post(f"{FORM}preflight/", unified_post(dataset, **{"share-technical": "30"})).content.decode()
    assert 'class="achieved"' not in broken and "sampled once the pre-flight passes" in broken  # the targets alone


def test_launching_redirects_to_the_job_page_of_a_queued_unified_job(dataset, tenant, client_for, django_capture_on_commit_callbacks):
    post = unified_post(dataset, **{"name_suffix": "range-1", "phases-4-epochs": "2", "lora_rank": "16", "budget_usd": "2.5"})
    with django_capture_on_commit_callbacks(execute=False):
        response = client_for(tenant.user("editor")).post(FORM, post)
    job = TrainingJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/o/acme/training/{job.public_id}/"
    assert job.kind == "unified" and job.persona is None and job.constitution is None and job.status == JobStatus.QUEUED
    assert job.name == "unified-range-1" and job.params["lora_rank"] == 16 and float(job.budget_usd) == 2.5
    assert job.params["dataset_ids"] == [str(dataset.public_id)] and job.params["total_rows"] == 100
    assert job.params["composition"] == {c: float(s) for c, s in DEFAULT_SHARES.items()}
    assert [p["name"] for p in job.params["phases"]] == [p["name"] for p in comp_phases()]
    assert job.params["phases"][4]["epochs"] == 2 and job.params["phases"][3]["categories"] == "all"


def test_errors_re_render_the_form_with_everything_kept(dataset, tenant, client_for):
    post = unified_post(dataset, **{"share-technical": "30", "phases-0-name": "basics", "lora_rank": "48", "judge_model": "offline/studio"})
    response = client_for(tenant.owner).post(FORM, post)
    page = response.content.decode()
    assert response.status_code == 422 and not TrainingJob.objects.exists()
    assert input_value(page, "share-technical") == "30" and input_value(page, "phases-0-name") == "basics"
    assert input_value(page, "lora_rank") == "48" and f'value="{dataset.public_id}" checked' in page
    assert 'data-field-error="composition">shares sum to 106, not 100' in page  # beside the composition
    assert 'data-testid="share-sum">106%' in page and 'share-sum off' in page


def test_phase_errors_show_in_their_row(dataset, tenant, client_for):
    page = client_for(tenant.owner).post(FORM, unified_post(dataset, **{"phases-1-epochs": "50"})).content.decode()
    assert 'data-field-error="phases.1.epochs"' in page and 'name="phases-1-epochs" value="50"' in page


@pytest.mark.parametrize("op, names", [
    ("up:1", ["analytical", "foundation", "empathic+creative", "mixed", "fine-tuning"]),
    ("down:4", ["foundation", "analytical", "empathic+creative", "mixed", "fine-tuning"]),  # the last stays last
    ("remove:0", ["analytical", "empathic+creative", "mixed", "fine-tuning"]),
    ("add", ["foundation", "analytical", "empathic+creative", "mixed", "fine-tuning", "phase 6"]),
])
def test_phase_buttons_add_remove_and_reorder_phases(dataset, tenant, client_for, op, names):
    response = client_for(tenant.owner).post(f"{FORM}phases/", {**unified_post(dataset), "phase_op": op})
    page = response.content.decode()
    assert response.status_code == 200 and page.startswith('<fieldset id="curriculum-editor"')
    assert re.findall(r'name="phases-\d+-name" value="([^"]*)"', page) == names
    assert '<section id="preflight" class="card preflight" hx-swap-oob="outerHTML"' in page  # and a fresh pre-flight
    assert '<div id="mix-chart" class="mix-chart" hx-swap-oob="outerHTML"' in page


def test_without_javascript_a_phase_button_edits_the_form_and_launches_nothing(dataset, tenant, client_for):
    response = client_for(tenant.owner).post(FORM, {**unified_post(dataset), "phase_op": "remove:4"})
    assert response.status_code == 200 and not TrainingJob.objects.exists()
    assert "fine-tuning" not in re.findall(r'name="phases-\d+-name" value="([^"]*)"', response.content.decode())


def test_every_phase_removed_is_an_error_not_the_defaults(dataset, tenant, client_for):
    post = {k: v for k, v in unified_post(dataset).items() if not k.startswith("phases-") or k == "phases-present"}
    panel = client_for(tenant.owner).post(f"{FORM}preflight/", post).content.decode()
    assert 'data-ok="false"' in panel and "1 to 10 phases, got 0" in panel


def test_another_orgs_dataset_is_refused_without_showing_it(dataset, tenant, client_for, outsider_tenant):
    theirs = make_dataset(outsider_tenant.org, name="globex secret set")
    client = client_for(tenant.owner)
    panel = client.post(f"{FORM}preflight/", unified_post(theirs)).content.decode()
    assert 'data-field="dataset_ids"' in panel and "not found" in panel and "globex secret set" not in panel
    assert client.post(FORM, unified_post(dataset, theirs)).status_code == 422
    assert not TrainingJob.objects.exists()
    assert "globex secret set" not in client.get(FORM).content.decode()


def test_viewers_read_the_form_but_cannot_launch(dataset, tenant, client_for):
    viewer = client_for(tenant.user("viewer"))
    page = viewer.get(FORM).content.decode()
    assert 'data-testid="launch-submit"' not in page and "training:write" in page
    assert viewer.post(FORM, unified_post(dataset)).status_code == 403
    assert not TrainingJob.objects.exists()


def test_outsiders_get_404_on_the_form(dataset, outsider, client_for):
    client = client_for(outsider)
    assert client.get(FORM).status_code == 404
    assert client.post(f"{FORM}preflight/", unified_post(dataset)).status_code == 404


# --- the job page and the list -------------------------------------------------------------------


def test_the_unified_job_page_shows_the_mix_phases_curves_checkpoints_and_range_table(dataset, tenant, client_for):
    job = make_unified_job(tenant.org, dataset)
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert 'class="badge kind-unified">Unified' in page and "acme mixed" in page and "judge <code>offline/studio</code>" in page
    for stage, label in (("compose", "Data mix"), ("curriculum", "Curriculum"), ("eval", "Behavioral range")):
        assert f'data-testid="stage-{stage}" data-state="completed"' in page and f"<td>{label}" in page
    # the composition: target vs achieved per category over its reference range
    assert 'data-testid="job-mix"' in page and 'data-category="technical"' in page and "24% → 24.0% · 24 rows" in page
    # the phases table and one loss curve per phase
    assert 'data-testid="phases"' in page and "1. foundation" in page and "5. fine-tuning" in page and "1.8000" in page
    assert "2e-05" in page and "3e-06" in page
    for n in range(1, 6):
        assert f'data-testid="curves-curriculum-phase-{n}"' in page
    assert "Phase 3 · empathic+creative" in page and page.count("<polyline") == 5
    # each phase's checkpoint among the artifacts
    assert "checkpoint after phase 1" in page and "checkpoint after phase 5" in page
    assert f'href="/o/acme/training/{job.public_id}/artifacts/curriculum/phase_2/adapter/adapter_config.json"' in page
    # the behavioral-range table: a column per checkpoint, rate with interval, a delta
    assert 'data-testid="range-eval"' in page
    for label in CHECKPOINTS:
        assert f'<th class="num">{label}</th>' in page
    for row in ("range-overall", "range-range", "range-consistency", "range-transition", "range-range-technical",
                "range-transition-technical→empathetic"):
        assert f'data-testid="{row}"' in page, row
    assert "<strong>30%</strong><small class=\"muted interval\">15%–45%</small>" in page and "+40 pp" in page
    assert "Evaluation: base vs tuned" not in page and "Persona <a" not in page


def test_the_unified_job_page_shows_the_outcome_and_base_vs_last_checkpoint_replies(dataset, tenant, client_for):
    job = make_unified_job(tenant.org, dataset)  # 12 cases: 2 pass on base, 9 on the last checkpoint, none regresses
    page = client_for(tenant.user("viewer")).get(f"/o/acme/training/{job.public_id}/").content.decode()
    outcome = page[page.index('data-testid="outcome"'):page.index('data-testid="side-by-side"')]
    # 7 cases improved, 0 regressed: exact McNemar p = 2 · ½^7 = 0.0156; pass rate 2/12 → 9/12 (+58 pp); Newcombe's
    # paired interval (both 2, tuned only 7, base only 0, neither 3) is +24 to +76 pp (tests/test_training_outcome.py)
    assert 'data-outcome="improved"' in outcome and 'data-testid="outcome-badge">Improved</span>' in outcome
    assert "Pass rate, base → 5. fine-tuning" in outcome and "<strong>+58 pp</strong>" in outcome and "[+24 pp, +76 pp]" in outcome
    assert "17% → 75% over 12 cases: 7 improved, 0 regressed; exact McNemar p = 0.0156" in outcome and "yes: better" in outcome
    samples = page[page.index('data-testid="side-by-side"'):page.index('data-testid="range-eval"')]
    assert "Base vs 5. fine-tuning" in samples and samples.count('data-testid="sample"') == 5
    contexts = re.findall(r'<p class="muted">(\w[\w→_]*) · ', samples)
    assert contexts[:3] == ["technical", "empathetic", "creative"]  # one case per context before a second one
    case = re.search(r" · (range\.[\w.]+) · ", samples).group(1)
    assert f"base reply 1 to {case}" in samples and f"5. fine-tuning reply 1 to {case}" in samples


def test_a_queued_unified_job_shows_its_planned_phases(dataset, tenant, client_for):
    job = make_unified_job(tenant.org, dataset, status=JobStatus.QUEUED, trained=False)
    page = client_for(tenant.owner).get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert 'data-testid="job-status">queued' in page and 'data-testid="cancel-job"' in page
    assert 'data-testid="phase-1"' in page and "1. foundation" in page and "2e-05" in page
    assert 'data-testid="range-eval"' not in page and 'data-testid="job-mix"' not in page
    assert "150,000 training tokens" in page or "150000 training tokens" in page


def test_an_ended_unified_job_offers_resume_at_its_own_stages(dataset, tenant, client_for):
    job = make_unified_job(tenant.org, dataset, status=JobStatus.FAILED)
    page = client_for(tenant.owner).get(f"/o/acme/training/{job.public_id}/").content.decode()
    assert '<option value="eval"' in page and ">Behavioral range</option>" in page and ">Data mix</option>" in page


def test_the_live_panel_renders_for_a_unified_job(dataset, tenant):
    job = make_unified_job(tenant.org, dataset, status=JobStatus.CURRICULUM, stage_status=StageRun.Status.RUNNING)
    html = rendered_panel(job.pk, None, can_write=True, results=True)
    assert 'id="job-panel"' in html and 'id="job-results"' in html and "Phase 1 · foundation" in html
    assert 'class="badge job-running"' in html


def test_the_list_shows_the_kind_and_a_unified_job_without_a_persona(dataset, persona, tenant, client_for):
    character = make_job(persona)
    unified = make_unified_job(tenant.org, dataset, status=JobStatus.CURRICULUM, stage_status=StageRun.Status.RUNNING)
    page = client_for(tenant.user("viewer")).get("/o/acme/training/").content.decode()
    row = re.search(rf'<tr data-testid="job-{unified.public_id}">.*?</tr>', page, re.S).group(0)
    assert 'class="badge kind-unified" data-testid="kind">Unified' in row and '<span class="muted">—</span>' in row
    assert 'class="badge job-running"' in row and "<td>Curriculum</td>" in row
    other = re.search(rf'<tr data-testid="job-{character.public_id}">.*?</tr>', page, re.S).group(0)
    assert "Character" in other and persona.display_name in other


def test_outsiders_get_404_on_a_unified_job(dataset, tenant, outsider, client_for):
    job = make_unified_job(tenant.org, dataset)
    client = client_for(outsider)
    assert client.get(f"/o/acme/training/{job.public_id}/").status_code == 404
    assert client.get(f"/o/acme/training/{job.public_id}/artifacts/curriculum/phase_1/adapter/adapter_config.json").status_code == 404
