"""An ML engineer's flow in Chromium (issue 18): the launch form starts at Quick iteration with no persona picked,
the estimate gives a time beside calls, tokens and cost and stays while a field is in error (named in plain words and
highlighted), edits turn the preset into "Custom (edited)"; a dataset import says what its one button does and rows
are numbered from 1; two jobs' curves are laid over each other and show their values on hover."""

import json

from playwright.sync_api import expect

from tests.browser.conftest import log_in, shots

PASSWORD = "browser-pass-5678"
SEED = """
from unittest import mock
from pipeline.runner import run_execute
from pipeline.services import persona_generate
from studio.models import Membership
from studio.principal import Principal
member = Membership.objects.get(organization__slug="lathe", user__email="max@lathe.test")
with mock.patch("pipeline.tasks.execute_run.delay"):
    persona, run = persona_generate(principal=Principal.from_membership(member),
                                    brief="A clockmaker in Geneva who measures every feeling in escapements and springs")
run_execute(run.pk)
persona.refresh_from_db()
print(persona.public_id, persona.status)
"""
JOBS = """
import json
from personas.models import Persona
from training_jobs.models import StageRun, TrainingJob
from training_jobs.params import LaunchParams
from training_jobs.services import constitution_current
from tests.training_helpers import launch_values
persona = Persona.objects.get(public_id="{persona_id}")
params = LaunchParams.model_validate(launch_values(persona)).model_dump(mode="json")
ids = []
for name, slope, steps in (("clock-calm", 0.03, 10), ("clock-hot", 0.05, 14)):
    job = TrainingJob.objects.create(organization=persona.organization, workspace=persona.workspace, persona=persona,
                                     constitution=constitution_current(persona=persona), name=name, params=params, status="succeeded")
    history = [{{"step": s, "loss": round(0.9 - slope * s, 4), "rewards/accuracies": round(min(1.0, 0.45 + slope * s), 4)}} for s in range(1, steps + 1)]
    StageRun.objects.create(job=job, stage="dpo_train", position=2, status="completed", done=steps, total=steps, unit="steps",
                            stats={{"dpo_history": history}})
    (job.artifacts_dir / "dpo_data").mkdir(parents=True, exist_ok=True)
    pairs = [json.dumps({{"prompt": f"{{name}} question {{i}}: how long is a second when you wait for someone?",
                          "chosen": f"Answer {{i}}: " + "the escapement ticks " * (8 + i), "rejected": "A second."}}) for i in range(8)]
    (job.artifacts_dir / "dpo_data" / "pairs.jsonl").write_text("".join(p + chr(10) for p in pairs))
    StageRun.objects.create(job=job, stage="dpo_data", position=1, status="completed", artifacts={{"pairs": "dpo_data/pairs.jsonl"}})
    ids.append(str(job.public_id))
print(" ".join(ids))
"""


def test_an_ml_engineer_launches_imports_and_compares(studio_server, page, tmp_path):
    studio_server.manage("create_org", "--name", "Lathe", "--slug", "lathe")
    studio_server.manage("add_member", "--org", "lathe", "--email", "max@lathe.test", "--role", "editor", "--password", PASSWORD)
    out = studio_server.manage("shell", "-c", SEED, OFFLINE_LLM_LATENCY_S=0, POST_GENERATION_JOBS=False)
    persona_id, status = out.strip().splitlines()[-1].split()
    assert status in {"ready", "flagged"}
    log_in(page, studio_server, "max@lathe.test", PASSWORD)

    # The form: Quick iteration, and the persona is the engineer's to choose.
    page.goto(studio_server.url + "/o/lathe/training/new/")
    assert page.get_by_test_id("field-preset").input_value() == "quick"
    assert page.get_by_test_id("field-dpo_pairs").input_value() == "48"
    assert page.get_by_test_id("field-persona_id").input_value() == ""
    page.get_by_test_id("field-persona_id").select_option(persona_id)
    expect(page.get_by_test_id("estimate-time")).to_contain_text("≈")
    expect(page.get_by_test_id("estimate-time")).to_contain_text("typical for the offline engine")
    expect(page.get_by_test_id("estimate")).to_contain_text("LLM calls")
    shots(page, "ml-launch-quick")

    # A field in error: named in plain words, highlighted; the plan and the estimate stay.
    page.get_by_test_id("field-learning_rate").fill("5")
    error = page.get_by_test_id("preflight-errors").locator("[data-field=learning_rate]")
    expect(error).to_have_text("Learning rate: must be at most 1 (you entered 5)")
    expect(page.get_by_test_id("field-learning_rate")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("stage-plan")).to_be_visible()
    expect(page.get_by_test_id("estimate-time")).to_be_visible()
    expect(page.get_by_test_id("estimate-note")).to_contain_text("counted at their defaults")
    # Editing a field the preset fills: the preset says so.
    assert page.locator("[data-testid=field-preset] option:checked").inner_text() == "Custom (edited)"
    shots(page, "ml-launch-error")
    page.get_by_test_id("field-learning_rate").fill("0.002")
    expect(page.get_by_test_id("preflight-errors")).to_have_count(0)
    expect(page.get_by_test_id("field-learning_rate")).not_to_have_attribute("aria-invalid", "true")

    first, second = studio_server.manage("shell", "-c", JOBS.format(persona_id=persona_id)).strip().splitlines()[-1].split()

    # A dataset import: the button says what it does, one click does it, rows are numbered from 1.
    rows = [{"instruction": f"How do I oil escapement number {i} without stopping the clock?", "output": f"Answer {i}: " + "tick " * (20 + i),
             "_category": "technical", "_source": "handbook"} for i in range(5)]
    upload = tmp_path / "clock.jsonl"
    upload.write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"instruction": "no answer", "_category": "technical"}\n{oops\n')
    page.goto(studio_server.url + "/o/lathe/datasets/import/")
    page.get_by_test_id("import-dataset-name").fill("clock rows")
    page.set_input_files("input[type=file]", str(upload))
    page.get_by_test_id("preview-import").click()
    button = page.get_by_test_id("confirm-import")
    expect(button).to_have_text("Import 5 valid rows, skip 2 invalid")
    shots(page, "ml-dataset-preview")
    button.click()
    expect(page.get_by_test_id("row-count")).to_have_text("5 rows")
    numbers = page.locator(".rows-table tbody tr td:first-child").all_inner_texts()
    assert numbers == ["1", "2", "3", "4", "5"], numbers

    # Including a job's pairs: the effect on the mix shows before anything is added.
    include = page.get_by_test_id("include-job")
    include.get_by_test_id("include-job-select").select_option(first)
    effect = page.get_by_test_id("mix-effect")
    expect(effect.locator("tr[data-category=conversational]")).to_contain_text("+8")
    expect(effect.locator("tr[data-category=technical]")).to_contain_text("100.0 % → 38.5 %")  # 5 of 13 rows
    expect(page.get_by_test_id("mix-skew")).to_contain_text("skews the mix")
    expect(page.get_by_test_id("row-count")).to_have_text("5 rows")  # nothing added yet
    shots(page, "ml-dataset")

    # The unified form says why three default shares sit below their ranges.
    page.goto(studio_server.url + "/o/lathe/training/unified/new/")
    expect(page.get_by_test_id("section-composition")).to_contain_text("add up to 103 %")
    expect(page.locator(".share-table .below")).to_have_count(3)
    shots(page, "ml-unified-form")

    # Two jobs' curves on one chart; a point shows its value on hover.
    page.goto(studio_server.url + "/o/lathe/training/")
    page.get_by_test_id("compare-jobs").click()
    page.locator(f"input[name=jobs][value='{first}']").check()
    page.locator(f"input[name=jobs][value='{second}']").check()
    page.get_by_test_id("compare-submit").click()
    expect(page.get_by_test_id("compare-chart")).to_have_count(2)
    loss = page.get_by_test_id("compare-chart").first
    expect(loss.locator("polyline.series")).to_have_count(2)
    point = loss.locator("[data-testid=chart-point]").nth(3)
    label = point.locator(".hover-value")
    assert label.evaluate("e => getComputedStyle(e).opacity") == "0"
    point.locator(".hit-dot").hover()
    expect(label).to_have_css("opacity", "1")
    assert label.text_content() == "clock-hot · step 4 · 0.7"  # the picker lists newest first: 0.9 − 0.05 × 4
    shots(page, "ml-compare")

    # The job page's own curve shows its values too.
    page.goto(studio_server.url + f"/o/lathe/training/{second}/")
    chart_point = page.get_by_test_id("curves-dpo_train-dpo").locator("[data-testid=chart-point]").first
    chart_point.locator(".hit").hover()
    expect(chart_point.locator(".hover-value")).to_have_text("step 1 · 0.85")
    shots(page, "ml-job-curves")
