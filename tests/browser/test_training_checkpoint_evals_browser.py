"""Issue 20.5 in Chromium: the launch form's checkpoint-evaluation toggles, the evaluations drawn beside the loss while the
job trains (over the WebSocket, no reload), and the early stop shown as a normal end with its reason."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, TAKE_SCREENSHOTS, log_in, screenshot
from tests.browser.test_training_browser import PASSWORD, _seed

pytestmark = pytest.mark.browser

SMALL = {"dpo_pairs": "24", "reflections": "10", "interactions": "2", "interaction_turns": "3", "batch_size": "4",
         "lora_rank": "4", "lora_alpha": "8", "max_new_tokens": "32", "budget_usd": "5"}
# A rise of 1 (0 % → 100 %) is the only improvement min delta 1 admits, and it can happen once: with patience 2 the
# six DPO steps (24 pairs / 4) must stop by step 5 whatever the judge says.
CHECKPOINTS = {"eval_every_steps": "1", "eval_holdout_prompts": "6", "early_stop_patience": "2", "early_stop_min_delta": "1"}
# Counts the checkpoint evaluations drawn on the page each time the socket swaps the panel, with the job's status.
OBSERVE = """() => {
    window.sameDocument = true;
    window.liveEvals = [];
    const record = () => {
        const panel = document.querySelector('[data-testid=job-panel]');
        if (panel) window.liveEvals.push([panel.dataset.status, panel.querySelectorAll('[data-testid=eval-point]').length]);
    };
    new MutationObserver(record).observe(document.body, {subtree: true, childList: true});
}"""


def test_checkpoint_evaluations_are_plotted_live_beside_the_loss_and_the_plateau_ends_the_job_normally(studio_server, page):
    studio_server.manage("create_org", "--name", "Bellows", "--slug", "bellows")
    studio_server.manage("add_member", "--org", "bellows", "--email", "tess@bellows.test", "--role", "editor", "--password", PASSWORD)
    persona_id = _seed(studio_server, "bellows")
    log_in(page, studio_server, "tess@bellows.test", PASSWORD)

    page.goto(studio_server.url + f"/o/bellows/training/new/?persona={persona_id}")
    for name, value in SMALL.items():
        page.get_by_test_id(f"field-{name}").fill(value)
    page.get_by_test_id("field-smoke_test").select_option("none")
    section = page.get_by_test_id("section-checkpoint_evals")
    assert not section.get_attribute("open")
    section.locator("summary").click()
    # A bad value is refused naming the field, and what was typed stays.
    page.get_by_test_id("field-early_stop_min_delta").fill("2")
    page.get_by_test_id("launch-submit").click()
    expect(page.get_by_test_id("field-early_stop_min_delta")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("body")).to_contain_text("must be at most 1 (you entered 2)")
    page.get_by_test_id("section-checkpoint_evals").evaluate("el => el.open = true")
    for name, value in CHECKPOINTS.items():
        page.get_by_test_id(f"field-{name}").fill(value)
    page.get_by_test_id("field-early_stop_metric").select_option("win_rate")
    expect(page.get_by_test_id("preflight")).to_have_attribute("data-ok", "true")  # the live pre-flight clears the error
    expect(page.get_by_test_id("estimate-time")).to_be_visible()
    screenshot(page, "training-checkpoint-evals-form")
    page.get_by_test_id("launch-submit").click()
    page.wait_for_url(re.compile(r".*/o/bellows/training/[0-9a-f-]{36}/$"))

    page.evaluate(OBSERVE)
    page.locator("[data-testid=job-panel][data-status=succeeded]").wait_for(timeout=180_000)
    assert page.evaluate("window.sameDocument") is True, "the page reloaded"
    live = page.evaluate("window.liveEvals")
    assert any(status != "succeeded" and n > 0 for status, n in live), f"no evaluation was drawn while the job ran: {live}"

    chart = page.get_by_test_id("checkpoint-chart-dpo_train")
    expect(chart).to_be_visible()
    steps = sorted({int(s) for s in chart.locator("[data-testid=eval-point]").evaluate_all("els => els.map(e => e.dataset.step)")})
    assert steps == list(range(1, steps[-1] + 1)) and steps[-1] <= 5
    note = page.get_by_test_id("early-stop")
    expect(note).to_contain_text(re.compile(r"Stopped early: win rate plateaued for 2 evals at step \d"))
    assert page.get_by_test_id("job-status").inner_text() == "succeeded"
    assert page.get_by_test_id("stage-sft").get_attribute("data-state") == "skipped"
    assert page.get_by_test_id("stage-eval").get_attribute("data-state") == "completed"
    screenshot(page, "training-checkpoint-evals-job")
    if TAKE_SCREENSHOTS:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.get_by_test_id("training-curves").screenshot(path=str(SCREENSHOTS / "training-checkpoint-evals-chart.png"))
