"""Trait profiles in Chromium: from a persona's page to its profile (started from the form, the progress live until
the ranked bars with their whiskers appear, constitution traits marked), and from a finished training job's page to
its base and tuned profiles side by side with what training boosted and suppressed and Spearman's ρ."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BACKGROUND_WAIT_MS, log_in, shots
from tests.browser.test_training_browser import PASSWORD, SEED

pytestmark = pytest.mark.browser

SEED_JOB = """
from personas.models import Persona
from tests.tuned_model_helpers import tiny_checkpoint_folders, trained_job
persona = Persona.objects.get(public_id="{persona_id}")
# Answers of up to 96 tokens, as the evaluation samples them: at the small jobs' 32 the offline judge reads too little of
# each reply to tell two traits apart (orders disagreed on 55 of 60), and base and tuned showed the same profile.
job = trained_job(persona, tiny_checkpoint_folders(), name="glassblower-traits", values={{"max_new_tokens": 96}})
print(job.public_id)
"""


def _shell(server, code: str, **settings) -> str:
    return server.manage("shell", "-c", code, **settings).strip().splitlines()[-1]


def test_a_persona_trait_profile_and_a_checkpoint_beside_its_base(studio_server, page):
    studio_server.manage("create_org", "--name", "Loom", "--slug", "loom")
    studio_server.manage("add_member", "--org", "loom", "--email", "tess@loom.test", "--role", "owner", "--password", PASSWORD)
    persona_id, _status = _shell(studio_server, SEED.replace("forge", "loom"), OFFLINE_LLM_LATENCY_S=0,
                                 POST_GENERATION_JOBS=False).split()
    job_id = _shell(studio_server, SEED_JOB.format(persona_id=persona_id))
    log_in(page, studio_server, "tess@loom.test", PASSWORD)

    # The persona page → its trait profile: the form, then the live panel until the ratings are in.
    page.goto(studio_server.url + f"/o/loom/personas/{persona_id}/")
    page.get_by_test_id("persona-trait-profile").click()
    page.wait_for_url(re.compile(rf".*/personas/{persona_id}/trait-profile/$"))
    page.locator("input[name=prompts]").fill("40")
    page.get_by_test_id("trait-profile-start").click()
    page.wait_for_url(re.compile(r".*/trait-profiles/[0-9a-f-]{36}/$"))
    expect(page.get_by_test_id("trait-profile-status")).to_have_text("completed", timeout=BACKGROUND_WAIT_MS)
    expect(page.get_by_test_id("trait-judge")).to_have_text("offline judge (style features)")
    bars = page.get_by_test_id("trait-bar")
    expect(bars).to_have_count(20)
    assert bars.first.get_attribute("data-trait") and bars.first.locator("[data-testid=interval] line").count() == 3
    ratings = [float(bars.nth(i).get_attribute("data-rating")) for i in range(20)]
    assert ratings == sorted(ratings, reverse=True)  # ranked, best first
    expect(page.get_by_test_id("constitution-traits")).to_be_visible()
    shots(page, "trait-profile-persona")

    # A finished job's page → base and tuned profiled side by side.
    page.goto(studio_server.url + f"/o/loom/training/{job_id}/")
    page.get_by_test_id("job-trait-profile").click()
    page.wait_for_url(re.compile(rf".*/training/{job_id}/trait-profiles/$"))
    page.locator("input[name=prompts]").fill("60")
    page.get_by_test_id("trait-profile-start").click()
    expect(page.get_by_test_id("trait-comparison")).to_be_visible(timeout=BACKGROUND_WAIT_MS)
    for side in ("base", "tuned"):
        expect(page.get_by_test_id(f"trait-side-{side}").get_by_test_id("trait-profile-status")).to_have_text("completed")
    base_box = page.get_by_test_id("trait-side-base").bounding_box()
    tuned_box = page.get_by_test_id("trait-side-tuned").bounding_box()
    assert abs(base_box["y"] - tuned_box["y"]) < 2 and base_box["x"] + base_box["width"] <= tuned_box["x"]  # side by side
    expect(page.get_by_test_id("spearman")).to_have_text(re.compile(r"^(-?\d\.\d{3}|—)$"))
    shots(page, "trait-profile-checkpoint-vs-base")
