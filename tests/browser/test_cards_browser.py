"""A character card's trip through the studio in Chromium: import a PNG card, watch its run, see its audit and
provocation suite, fork it, and export it as a V3 PNG card."""

import base64
import json
import re

from tests.browser.conftest import BACKGROUND_WAIT_MS, log_in, screenshot
from tests.card_helpers import card, png_card, png_text_chunks

PASSWORD = "browser-pass-5678"
NO_ACTIVE_JOB = """() => ![...document.querySelectorAll('[data-testid=audit-job]')]
    .some(job => job.dataset.status === 'queued' || job.dataset.status === 'running')"""
PERSONA_PAGE = re.compile(r".*/o/tern/personas/[0-9a-f-]{36}/$")


def test_an_editor_imports_a_png_card_audits_forks_and_exports_it(studio_server, page, tmp_path):
    studio_server.manage("create_org", "--name", "Tern", "--slug", "tern")
    studio_server.manage("add_member", "--org", "tern", "--email", "kai@tern.test", "--role", "editor", "--password", PASSWORD)
    log_in(page, studio_server, "kai@tern.test", PASSWORD)

    # Import: the personas page's "Import a character", a V2 card inside a PNG.
    page.goto(studio_server.url + "/o/tern/personas/")
    page.get_by_test_id("persona-import").click()
    page.wait_for_url("**/o/tern/personas/import/")
    page.set_input_files("input[name=file]", files=[{"name": "tomas.png", "mimeType": "image/png", "buffer": png_card(card("v2_lorebook"))}])
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/o/tern/runs/**")
    page.wait_for_url(PERSONA_PAGE, timeout=BACKGROUND_WAIT_MS)
    parent_url = page.url
    assert page.get_by_test_id("persona-status").inner_text() in {"ready", "flagged"}
    assert "Imported from a Character Card V2 (PNG, tomas.png)" in page.get_by_test_id("card-origin").inner_text()
    assert "Tomas Lindqvist" in page.get_by_test_id("layer-surface").inner_text()
    assert "Mind the gap, the sea does not wait." in page.get_by_test_id("layer-mask").inner_text()
    assert "Card fidelity" in page.get_by_test_id("audit-chart").text_content()
    screenshot(page, "cards-imported")

    # Its audit and provocation suite (run after generation) on the Tests tab.
    page.goto(parent_url + "tests/")
    page.wait_for_function(NO_ACTIVE_JOB, timeout=BACKGROUND_WAIT_MS)
    page.goto(parent_url + "tests/")
    assert page.get_by_test_id("provocation-result").count() == 33
    assert "ready" in page.get_by_test_id("fingerprint").inner_text()
    screenshot(page, "cards-tests")

    # Fork it: the child's run, then its page with the family tree.
    page.goto(parent_url)
    assert re.search(r"Distinctiveness: \d\.\d{4}", page.get_by_test_id("distinctiveness").inner_text())
    page.get_by_test_id("fork-form").locator("input[name=note]").fill("same man, but on shore leave")
    page.get_by_test_id("fork-form").get_by_role("button", name="Fork").click()
    page.wait_for_url("**/o/tern/runs/**")
    page.wait_for_url(PERSONA_PAGE, timeout=BACKGROUND_WAIT_MS)
    assert page.url != parent_url
    assert "same man, but on shore leave" in page.get_by_test_id("fork-of").inner_text()
    tree = page.get_by_test_id("family-tree")
    assert tree.locator("li").count() == 2 and "Tomas Lindqvist" in tree.inner_text()
    screenshot(page, "cards-fork")

    # Export the parent as a V3 PNG card: the card is in the ccv3 chunk, with a V2 back-fill in chara.
    page.goto(parent_url)
    page.get_by_test_id("card-export").locator("summary").click()
    with page.expect_download() as download:
        page.get_by_test_id("export-v3-png").click()
    saved = tmp_path / "exported.png"
    download.value.save_as(saved)
    chunks = png_text_chunks(saved.read_bytes())
    exported = json.loads(base64.b64decode(chunks["ccv3"]))
    assert exported["spec"] == "chara_card_v3" and exported["data"]["name"] == "Tomas Lindqvist"
    assert exported["data"]["source"][-1] == parent_url
    assert exported["data"]["extensions"]["persona_studio"]["layers"]["surface"]["name"] == "Tomas Lindqvist"
    assert json.loads(base64.b64decode(chunks["chara"]))["spec"] == "chara_card_v2"
