"""A reviewer's flow in Chromium (issue 18): the nav and pages offer a reviewer only what the role can do; an editor
writes guidelines for a prompt set; the reviewer sees them above the pair, reads the axes in words, votes and skips
with the keyboard and takes both back with undo."""

from playwright.sync_api import expect

from tests.browser.conftest import log_in, shots

PASSWORD = "browser-pass-5678"
SEED = """
from audits.reviews.services import comparisons_create, reviewer_grant
from personas.models import Persona
from studio.models import Membership, Organization
from studio.principal import Principal
org = Organization.objects.get(slug="ledger")
owner = Principal.from_membership(Membership.objects.get(organization=org, user__email="own@ledger.test"))
reviewer = Membership.objects.get(organization=org, user__email="rob@ledger.test")
persona = Persona.objects.create(organization=org, workspace=org.workspaces.get(), brief="A night-ferry captain", name="Captain", status="ready")
rows = [{"prompt": f"Ferry question {i}: what do you say to a passenger who is afraid of the dark water?",
         "text_a": f"Plain answer {i}.", "text_b": f"Steady, low answer {i}, in the captain's own words.",
         "source_a": "hidden-base", "source_b": "hidden-tuned"} for i in range(3)]
comparisons_create(principal=owner, persona=persona, rows=rows, prompt_set="night")
reviewer_grant(actor=owner, persona=persona, member=reviewer)
print(persona.public_id)
"""


def log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/accounts/login/**")


def test_a_reviewer_reads_guidelines_votes_skips_and_undoes(studio_server, page):
    studio_server.manage("create_org", "--name", "Ledger", "--slug", "ledger")
    studio_server.manage("add_member", "--org", "ledger", "--email", "own@ledger.test", "--role", "owner", "--password", PASSWORD)
    studio_server.manage("add_member", "--org", "ledger", "--email", "eve@ledger.test", "--role", "editor", "--password", PASSWORD)
    studio_server.manage("add_member", "--org", "ledger", "--email", "rob@ledger.test", "--role", "reviewer", "--password", PASSWORD)
    persona_id = studio_server.manage("shell", "-c", SEED).strip().splitlines()[-1]

    # The editor writes guidelines for the prompt set; import and write-pairs are two cards.
    log_in(page, studio_server, "eve@ledger.test", PASSWORD)
    page.goto(studio_server.url + f"/o/ledger/reviews/personas/{persona_id}/?prompt_set=night")
    expect(page.get_by_test_id("import-pairs")).to_contain_text("Preview import")
    expect(page.get_by_test_id("write-pairs")).to_contain_text("Write pairs")
    page.get_by_test_id("guidelines-text").fill("The captain never promises calm water; a reply that does fails in character.")
    page.get_by_role("button", name="Save guidelines").click()
    expect(page.locator(".msg-success")).to_contain_text("Guidelines for the prompt set “night” saved")
    shots(page, "reviewer-persona-reviews")
    log_out(page)

    # The reviewer's nav and pages: no Config, Training or Datasets; no New persona; a launch form is refused.
    log_in(page, studio_server, "rob@ledger.test", PASSWORD)
    nav = page.get_by_test_id("mainnav").inner_text()
    assert "Reviews" in nav and not any(word in nav for word in ("Config", "Training", "Datasets", "API keys"))
    page.goto(studio_server.url + "/o/ledger/personas/")
    assert page.get_by_role("link", name="New persona").count() == 0
    response = page.goto(studio_server.url + "/o/ledger/training/new/")
    assert response.status == 403 and page.locator("main form").count() == 0

    # The queue: guidelines above the pair, the axes in words.
    page.goto(studio_server.url + "/o/ledger/reviews/queue/")
    expect(page.get_by_test_id("guidelines")).to_contain_text("never promises calm water")
    expect(page.locator("fieldset[data-axis=in_character] legend")).to_contain_text("In character")
    expect(page.get_by_test_id("axis-help").first).to_be_visible()
    assert "in_character" not in page.locator("#vote-form").inner_text()
    expect(page.get_by_test_id("progress")).to_have_text("Pair 1 of 3")
    first_prompt = page.get_by_test_id("prompt").inner_text()
    shots(page, "reviewer-queue")

    # Vote with the keyboard, then undo with u: the same pair comes back first.
    page.keyboard.press("1")
    for key in ("r", "f", "v"):
        page.keyboard.press(key)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("progress")).to_have_text("Pair 2 of 3")
    expect(page.get_by_test_id("undo-form")).to_contain_text("Your last vote")
    shots(page, "reviewer-queue-after-vote")
    page.keyboard.press("u")
    expect(page.get_by_test_id("review-notice")).to_contain_text("Undone")
    expect(page.get_by_test_id("progress")).to_have_text("Pair 1 of 3")
    assert page.get_by_test_id("prompt").inner_text() == first_prompt

    # Skip with n, undo with the button.
    page.keyboard.press("n")
    expect(page.get_by_test_id("undo-form")).to_contain_text("Your last skip")
    assert page.get_by_test_id("prompt").inner_text() != first_prompt
    page.get_by_test_id("undo").click()
    expect(page.get_by_test_id("review-notice")).to_contain_text("Undone")
    assert page.get_by_test_id("prompt").inner_text() == first_prompt
