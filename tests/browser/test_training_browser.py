"""Launch a training job in Chromium: a preset, small sizes, both advanced introspection toggles, the
pre-flight's warning; then watch the job page follow every stage live to the end on the tiny model, and
check that the stored introspection data honours the toggles."""

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, screenshot

pytestmark = pytest.mark.browser

PASSWORD = "browser-pass-5678"
STAGES = ("smoke", "dpo_data", "dpo_train", "introspection", "sft", "eval")
QUICK_ITERATION = {"dpo_pairs": "48", "reflections": "20", "interactions": "6", "interaction_turns": "3",
                   "lora_rank": "16", "lora_alpha": "32", "lora_layers": "0", "batch_size": "2", "max_new_tokens": "64"}
# Small sizes train the built-in tiny model in seconds; short samples keep the evaluation's 48 generations quick.
SMALL = {"dpo_pairs": "12", "reflections": "10", "interactions": "2", "interaction_turns": "3", "batch_size": "4",
         "lora_rank": "4", "lora_alpha": "8", "max_new_tokens": "32"}
# A ready persona, generated inline by the offline engine (no worker, no pacing: see _seed).
SEED = """
from unittest import mock
from pipeline.runner import run_execute
from pipeline.services import persona_generate
from studio.models import Membership
from studio.principal import Principal
member = Membership.objects.get(organization__slug="forge", user__email="tess@forge.test")
with mock.patch("pipeline.tasks.execute_run.delay"):
    persona, run = persona_generate(principal=Principal.from_membership(member),
                                    brief="A glassblower in Murano who explains every craft through the furnace's moods")
run_execute(run.pk)
persona.refresh_from_db()
print(persona.public_id, persona.status)
"""
# What the job stored, read where the worker wrote it (the server's database and artifact folder).
STORED = """
import json
from training_jobs.models import TrainingJob
from training_jobs.engine import read_jsonl
job = TrainingJob.objects.get(public_id="{job_id}")
intro = job.stages.get(stage="introspection")
print(json.dumps({{
    "status": job.status, "params": job.params,
    "stages": {{s.stage: s.status for s in job.stages.all()}},
    "reflections": read_jsonl(job.artifacts_dir / intro.artifacts["reflections"]),
    "interactions": read_jsonl(job.artifacts_dir / intro.artifacts["interactions"]),
}}))
"""
# Records the job's status and progress and each stage row's state as the socket swaps the panel in.
OBSERVE = """() => {
    window.sameDocument = true;
    window.wsMessages = 0;
    document.body.addEventListener('htmx:wsAfterMessage', () => { window.wsMessages += 1; });
    const record = () => {
        const panel = document.querySelector('[data-testid=job-panel]');
        if (!panel) return;
        const bar = panel.querySelector('.job-status-line [role=progressbar]');
        const rows = {};
        panel.querySelectorAll('tr[data-testid^=stage-]').forEach(row => { rows[row.dataset.testid.slice(6)] = row.dataset.state; });
        window.recordPanel(panel.dataset.status, Number(bar.getAttribute('aria-valuenow')), rows);
    };
    new MutationObserver(record).observe(document.body, {subtree: true, childList: true, attributes: true});
    record();
}"""


def _seed(server, org: str = "forge") -> str:
    """The persona, generated in the command process at full speed and without the post-generation audits, for
    tess@<org>.test in org `org` (each browser test has an org of its own: they share one server)."""
    out = server.manage("shell", "-c", SEED.replace("forge", org), OFFLINE_LLM_LATENCY_S=0, POST_GENERATION_JOBS=False)
    persona_id, status = out.strip().splitlines()[-1].split()
    assert status in {"ready", "flagged"}, status
    return persona_id


def _values(page, names) -> dict:
    return {name: page.get_by_test_id(f"field-{name}").input_value() for name in names}


def test_an_editor_launches_a_small_job_and_watches_every_stage_live(studio_server, page):
    studio_server.manage("create_org", "--name", "Forge", "--slug", "forge")
    studio_server.manage("add_member", "--org", "forge", "--email", "tess@forge.test", "--role", "editor", "--password", PASSWORD)
    persona_id = _seed(studio_server)
    log_in(page, studio_server, "tess@forge.test", PASSWORD)

    # The form, for the persona, starts at Quick iteration (issue 18); Paper then Quick fill their values again.
    page.goto(studio_server.url + f"/o/forge/training/new/?persona={persona_id}")
    assert page.get_by_test_id("field-persona_id").input_value() == persona_id
    assert page.get_by_test_id("field-preset").input_value() == "quick" and _values(page, QUICK_ITERATION) == QUICK_ITERATION
    page.get_by_test_id("field-preset").select_option("paper")
    page.wait_for_function("() => document.querySelector('[data-testid=field-dpo_pairs]').value === '1500'")
    before = _values(page, QUICK_ITERATION)
    page.get_by_test_id("field-preset").select_option("quick")
    page.wait_for_function("() => document.querySelector('[data-testid=field-dpo_pairs]').value === '48'")
    assert _values(page, QUICK_ITERATION) == QUICK_ITERATION
    assert before != QUICK_ITERATION, "the preset changed nothing"
    assert page.get_by_test_id("field-preset").input_value() == "quick"

    # Small sizes, a small smoke test and a budget, then both advanced introspection toggles.
    for name, value in SMALL.items():
        page.get_by_test_id(f"field-{name}").fill(value)
    # Edited: the preset no longer describes the values, and says so.
    assert page.get_by_test_id("field-preset").input_value() == "custom"
    assert page.locator("[data-testid=field-preset] option:checked").inner_text() == "Custom (edited)"
    page.get_by_test_id("field-budget_usd").fill("5")
    page.get_by_test_id("field-smoke_test").select_option("small")
    advanced = page.get_by_test_id("section-advanced")
    assert not advanced.get_attribute("open") and not page.get_by_test_id("field-strip_reflection_traces").is_visible()
    advanced.locator("summary").click()
    page.get_by_test_id("field-strip_reflection_traces").check()
    page.get_by_test_id("field-keep_interaction_traces").check()

    # The pre-flight follows the form: fewer than 100 pairs is a warning, not an error.
    expect(page.get_by_test_id("estimate")).to_contain_text("12 pairs · 10 reflections · 2 × 3 turns")
    expect(page.get_by_test_id("preflight-warnings").locator("[data-field=dpo_pairs]")).to_contain_text("under 100")
    expect(page.get_by_test_id("preflight")).to_have_attribute("data-ok", "true")
    screenshot(page, "training-launch-form")

    page.get_by_test_id("launch-submit").click()
    page.wait_for_url(re.compile(r".*/o/forge/training/[0-9a-f-]{36}/$"))
    job_id = page.url.rstrip("/").rsplit("/", 1)[-1]

    # The job page follows the stages over the WebSocket: no reload from here to the end.
    seen: list[tuple[str, int, dict]] = []
    page.expose_function("recordPanel", lambda status, progress, rows: seen.append((status, progress, rows)))
    page.evaluate(OBSERVE)
    page.locator("[data-testid=job-panel][data-status=succeeded]").wait_for(timeout=180_000)
    assert page.evaluate("window.sameDocument") is True, "the page reloaded"
    assert page.evaluate("window.wsMessages") > 0, "no update arrived over the WebSocket"
    running = {stage for _, _, rows in seen for stage, state in rows.items() if state == "running"}
    partial = {progress for status, progress, _ in seen if 0 < progress < 100}
    assert running and partial, f"no intermediate state was seen live: {seen}"
    states = {stage: page.get_by_test_id(f"stage-{stage}").get_attribute("data-state") for stage in STAGES}
    assert states == dict.fromkeys(STAGES, "completed")
    assert page.get_by_test_id("job-status").inner_text() == "succeeded"
    page.get_by_test_id("preview-introspection").wait_for()
    screenshot(page, "training-job-done")

    # The stored data follows the toggles: reflections without <think>, self-interactions with their traces.
    stored = json.loads(studio_server.manage("shell", "-c", STORED.format(job_id=job_id)).strip().splitlines()[-1])
    assert stored["status"] == "succeeded" and set(stored["stages"].values()) == {"completed"}
    params = stored["params"]
    assert params["preset"] == "custom" and params["smoke_test"] == "small" and params["budget_usd"] == 5.0
    assert {k: str(params[k]) for k in SMALL} == SMALL
    assert params["strip_reflection_traces"] is True and params["keep_interaction_traces"] is True
    assert stored["reflections"] and not any("<think>" in r["response"] or r["has_trace"] for r in stored["reflections"])
    assert stored["interactions"] and all(row["has_trace"] for row in stored["interactions"])
    assert any("<think>" in turn for row in stored["interactions"] for turn in row["turns"][1:])
