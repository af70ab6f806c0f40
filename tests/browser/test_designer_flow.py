"""A designer's flow in Chromium (issue 18): edit a layer in its form and see version 2 everywhere without a reload,
compare versions item by item, restore one, audit the restored version with one click, recompute a stale fingerprint
live, edit the constitution's traits, chat with Enter and reload to find the conversation and its drift chart, and say
the safe word: only the persona routes close, and the page says which."""

import re

from tests.browser.conftest import BACKGROUND_WAIT_MS, log_in, shots

PASSWORD = "browser-pass-5678"
PERSONA_PAGE = re.compile(r".*/o/inkwell/personas/[0-9a-f-]{36}/$")
NO_ACTIVE_JOB = """() => ![...document.querySelectorAll('[data-testid=audit-job]')]
    .some(job => job.dataset.status === 'queued' || job.dataset.status === 'running')"""


def mark_page(page) -> None:
    """A flag that a reload would lose: checked after live updates that must not need one."""
    page.evaluate("() => { window.__sameDocument = true; }")


def same_document(page) -> bool:
    return page.evaluate("() => window.__sameDocument === true")


def test_a_designer_edits_compares_restores_audits_and_chats(studio_server, page):
    studio_server.manage("create_org", "--name", "Inkwell", "--slug", "inkwell")
    studio_server.manage("add_member", "--org", "inkwell", "--email", "ida@inkwell.test", "--role", "editor", "--password", PASSWORD)
    console_errors = []
    page.on("console", lambda message: console_errors.append(message.text) if message.type == "error" else None)
    log_in(page, studio_server, "ida@inkwell.test", PASSWORD)

    page.goto(studio_server.url + "/o/inkwell/personas/new/")
    page.fill("textarea[name=brief]", "A lighthouse keeper on Fogo Island who writes letters to ships that never answer")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_url("**/o/inkwell/runs/**")
    run_url = page.url
    progress = []  # the bar's value at every live update: it may only grow
    page.expose_function("recordProgress", lambda value: progress.append(int(value)))
    page.evaluate("""() => new MutationObserver(() => {
        const bar = document.querySelector('[data-testid=run-progress]');
        if (bar) window.recordProgress(bar.getAttribute('aria-valuenow'));
      }).observe(document.body, {subtree: true, childList: true, attributes: true})""")
    page.wait_for_url(PERSONA_PAGE, timeout=BACKGROUND_WAIT_MS)
    persona_url = page.url
    assert progress == sorted(progress), progress
    page.goto(run_url)  # the finished run, in its audit rounds
    rounds = page.locator("[data-testid^=run-round-]")
    assert rounds.count() >= 1 and rounds.first.get_attribute("data-testid") == "run-round-1"
    if rounds.count() > 1:  # the audit sent the layers back: round 1 is kept above round 2
        assert page.locator("[data-testid=round-1-soul_draft]").get_attribute("data-state") == "completed"
        assert "below it, so the layers were redone" in page.get_by_test_id("audit-scores-round-1").inner_text()
    shots(page, "designer-run-rounds")
    page.goto(persona_url)
    assert page.get_by_test_id("persona-version").inner_text().startswith("version 1")

    # Edit the Self layer in its form: a text, a slider, a list item moved up and one added.
    mark_page(page)
    page.get_by_test_id("edit-self").locator("summary").click()
    form = page.get_by_test_id("edit-self")
    form.locator("input[name=archetype]").fill("The Patient Keeper")
    form.locator("input[name='big_five.openness']").fill("0.8")
    assert form.get_by_test_id("value-big_five.openness").inner_text() == "0.8"
    values = form.locator("input[name=values]")
    second = values.nth(1).input_value()
    form.locator(".list-item").nth(1).get_by_role("button", name="Move up").click()
    assert values.nth(0).input_value() == second
    form.get_by_test_id("add-values").click()
    values.last.fill("Letters")
    shots(page, "designer-edit-form")
    form.get_by_test_id("save-self").click()
    page.get_by_test_id("saved").wait_for()
    assert "Saved self as version 2." in page.get_by_test_id("saved").inner_text()
    # version 2 everywhere, without a reload
    assert page.get_by_test_id("persona-version").inner_text().startswith("version 2")
    assert "of version 2" in page.get_by_test_id("audit-version").inner_text()
    assert page.get_by_test_id("version-row-2").is_visible() and "current" in page.get_by_test_id("version-row-2").inner_text()
    assert "The Patient Keeper" in page.get_by_test_id("layer-self").inner_text()
    assert same_document(page)

    # A mistake is shown beside its field.
    page.get_by_test_id("edit-surface").locator("summary").click()
    page.get_by_test_id("edit-surface").locator("input[name=age]").fill("")
    page.get_by_test_id("save-surface").click()
    page.get_by_test_id("error-age").wait_for()
    assert page.get_by_test_id("error-age").inner_text() == "required"
    assert page.get_by_test_id("persona-version").inner_text().startswith("version 2")
    shots(page, "designer-edit-error")

    # Compare v1 → v2: item-level, no list reprs.
    page.get_by_test_id("compare-versions").click()
    page.wait_for_url(re.compile(r".*/versions/diff/\?(?=.*from=1)(?=.*to=2).*"))
    diff = page.get_by_test_id("diff").inner_text()
    assert "['" not in diff and "The Patient Keeper" in diff
    assert page.locator("[data-testid=change-self-values] [data-op=added]").inner_text().endswith("Letters")
    shots(page, "designer-diff")

    # Restore v1 (as version 3), then audit it with one click and watch the card fill in.
    page.get_by_test_id("restore-from-diff").click()
    page.wait_for_url(PERSONA_PAGE)
    assert page.get_by_test_id("persona-version").inner_text().startswith("version 3")
    assert page.get_by_test_id("not-audited").is_visible()
    mark_page(page)
    page.get_by_test_id("audit-this-version").click()
    page.get_by_test_id("audit-chart").wait_for(timeout=BACKGROUND_WAIT_MS)
    assert "of version 3" in page.get_by_test_id("audit-version").inner_text()
    page.wait_for_function("() => !document.querySelector('[data-testid=version-row-3]').innerText.includes('—')")
    assert re.search(r"\d\.\d\d", page.get_by_test_id("version-row-3").inner_text())
    assert same_document(page)
    page.reload()  # the Runs card lists the audit run (it is not one of the live parts)
    shots(page, "designer-persona")
    runs = page.locator("details summary", has_text="audit of v3")
    assert runs.count() == 1
    runs.locator("a").click()
    page.get_by_test_id("run-done").wait_for()
    assert "Version 3 audited" in page.get_by_test_id("run-done").inner_text()
    shots(page, "designer-audit-run")

    # The Tests page: the fingerprint was computed on v1, so it is stale; recompute it and see it update live.
    page.goto(persona_url + "tests/")
    page.wait_for_function(NO_ACTIVE_JOB, timeout=BACKGROUND_WAIT_MS)
    page.goto(persona_url + "tests/")
    assert "Computed on v1; the persona is at v3 now." in page.get_by_test_id("fingerprint-stale").inner_text()
    assert page.get_by_test_id("suite-stale").is_visible()
    mark_page(page)
    page.get_by_test_id("fingerprint-recompute").click()
    page.wait_for_function("() => document.querySelector('[data-testid=fingerprint-version]').innerText === 'of v3'",
                           timeout=BACKGROUND_WAIT_MS)
    assert page.get_by_test_id("fingerprint-stale").count() == 0 and same_document(page)
    assert "Reload" not in page.get_by_test_id("audit-jobs-section").inner_text()
    shots(page, "designer-tests")

    # The constitution, trait by trait: add a trait in place.
    page.goto(persona_url + "constitution/")
    editor = page.get_by_test_id("trait-editor")
    before = editor.locator(".trait-item").count()
    page.get_by_test_id("add-trait").click()
    assert editor.locator(".trait-item").count() == before + 1
    editor.locator(".trait-item").last.locator("textarea").fill('I sign every letter "Your keeper of the light".')
    editor.locator(".trait-item").last.get_by_role("button", name="+ Add a question").click()
    editor.locator(".trait-item").last.locator("input[type=text]").last.fill("How do you end a letter?")
    page.get_by_test_id("save-constitution").click()
    page.wait_for_url("**/constitution/")
    assert "Your keeper of the light" in page.get_by_test_id("markers").inner_text()
    shots(page, "designer-constitution")

    # Chat: Enter sends, Shift+Enter is a new line, the log follows the newest reply.
    page.goto(persona_url + "chat/")
    box = page.get_by_test_id("chat-input")
    box.click()
    box.type("How is the light tonight?")
    box.press("Shift+Enter")
    box.type("And the fog?")
    assert box.input_value() == "How is the light tonight?\nAnd the fog?"
    box.press("Enter")
    page.locator(".bubble.assistant").first.wait_for(timeout=BACKGROUND_WAIT_MS)
    for question in ("Who writes back?", "What do you tell the ships?", "Do you ever leave the island?"):
        count = page.locator(".bubble.assistant").count()
        box.fill(question)
        box.press("Enter")
        page.wait_for_function(f"() => document.querySelectorAll('.bubble.assistant').length > {count}", timeout=BACKGROUND_WAIT_MS)
    page.wait_for_function("() => { const log = document.getElementById('chat-log');"
                           " return log.scrollTop + log.clientHeight >= log.scrollHeight - 4; }")
    assert "?session=" in page.url
    assert page.get_by_test_id("chat-session").count() == 1
    dots = page.locator("#drift-chart circle").count()
    assert dots == 4
    shots(page, "designer-chat")

    # A reload keeps the conversation, its drift chart and its place in the list.
    page.reload()
    assert page.locator(".bubble.user").count() == 4 and page.locator("#drift-chart circle").count() == dots
    assert "current" in page.get_by_test_id("chat-session").get_attribute("class")
    page.get_by_test_id("chat-session").locator("summary").click()
    page.get_by_test_id("chat-session").locator("input[name=title]").fill("Fog watch")
    page.get_by_test_id("chat-session").get_by_role("button", name="Rename").click()
    page.wait_for_function("() => document.querySelector('[data-testid=chat-session] .session-label').innerText === 'Fog watch'")

    # The safe word: the persona routes close and the page lists them; the dashboard stays open.
    box = page.get_by_test_id("chat-input")
    box.fill("red")
    box.press("Enter")
    page.wait_for_url("**/o/inkwell/lockout/")
    closes = page.get_by_test_id("lockout-closes").inner_text()
    assert "Personas" in closes and "Generation runs" in closes and "dashboard" not in closes.lower()
    shots(page, "designer-lockout")
    page.goto(persona_url)
    assert page.get_by_test_id("lockout").is_visible()
    response = page.goto(studio_server.url + "/o/inkwell/")
    assert response.status == 200

    assert not [e for e in console_errors if "oobErrorNoTarget" in e or "htmx" in e.lower()], console_errors
