"""Generate a persona with the offline engine in the browser and watch all six steps complete live."""

from tests.browser.conftest import BACKGROUND_WAIT_MS, log_in, screenshot

PASSWORD = "browser-pass-5678"
STEPS = ("intent_parse", "soul_draft", "self_enrich", "mask_build", "surface_ground", "audit")


def test_an_editor_generates_a_persona_and_watches_the_steps_live(studio_server, page):
    studio_server.manage("create_org", "--name", "Lumen", "--slug", "lumen")
    studio_server.manage("add_member", "--org", "lumen", "--email", "eve@lumen.test", "--role", "editor", "--password", PASSWORD)
    log_in(page, studio_server, "eve@lumen.test", PASSWORD)

    seen_states: dict[str, set] = {step: set() for step in STEPS}
    page.goto(studio_server.url + "/o/lumen/personas/new/")
    page.fill("textarea[name=brief]", "A night-shift radio host in Glasgow who answers callers' letters with old records")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_url("**/o/lumen/runs/**")
    screenshot(page, "run-live")
    # Record the states each step passes through while the page updates over the WebSocket.
    page.expose_function("recordState", lambda step, state: seen_states[step].add(state))
    page.evaluate(
        """() => new MutationObserver(() => document.querySelectorAll('[data-testid^=step-]').forEach(
               row => window.recordState(row.dataset.testid.slice(5), row.dataset.state))
           ).observe(document.body, {subtree: true, childList: true, attributes: true})"""
    )
    page.wait_for_url("**/o/lumen/personas/**", timeout=BACKGROUND_WAIT_MS)  # the run page moves on when the run ends
    assert page.get_by_test_id("persona-status").inner_text() in {"ready", "flagged"}
    for layer in ("soul", "self", "mask", "surface"):
        assert page.get_by_test_id(f"layer-{layer}").is_visible()
    assert page.get_by_test_id("audit-chart").is_visible()
    screenshot(page, "persona-page")
    completed = [step for step, states in seen_states.items() if "completed" in states]
    assert completed, f"no live step updates were seen: {seen_states}"
