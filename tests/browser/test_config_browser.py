"""An admin edits a config value, locks it, snapshots, changes, diffs and rolls back — in Chromium."""

from tests.browser.conftest import log_in, screenshot

PASSWORD = "pw-long-enough-1"
TEMP_ROW = "#cfg-engine-pipeline-soul_draft-temperature"
RETRIES_ROW = "#cfg-engine-pipeline-audit-max_retries"


def save_value(page, row_selector: str, value: str) -> None:
    row = page.locator(row_selector)
    group = page.locator("details.config-group", has=row)
    if group.get_attribute("open") is None:  # groups start folded (issue 18)
        group.locator(":scope > summary").click()
    row.locator("input[name=value]").fill(value)
    row.get_by_role("button", name="Save").click()


def test_an_admin_edits_locks_snapshots_diffs_and_rolls_back_the_config(studio_server, page):
    studio_server.manage("create_org", "--name", "Cfg Co", "--slug", "cfgco")
    studio_server.manage("add_member", "--org", "cfgco", "--email", "cfg-owner@studio.test", "--role", "owner", "--password", PASSWORD)
    log_in(page, studio_server, "cfg-owner@studio.test", PASSWORD)
    page.goto(studio_server.url + "/o/cfgco/")
    page.get_by_role("link", name="Config", exact=True).click()
    page.wait_for_url("**/o/cfgco/config/")

    # Edit inline: a bad value is refused beside the field, a good one saved at org scope.
    save_value(page, TEMP_ROW, "5")
    page.locator(f"{TEMP_ROW} [role=alert]").wait_for()
    assert "out of range" in page.locator(f"{TEMP_ROW} [role=alert]").inner_text()
    save_value(page, TEMP_ROW, "1.4")
    page.locator(f"{TEMP_ROW} [role=status]").wait_for()
    assert page.locator(f"{TEMP_ROW} [data-testid=source]").inner_text() == "org"

    # Lock it with a reason; in the workspace the row is read-only and shows the lock.
    page.locator(f"{TEMP_ROW} summary").click()
    page.locator(f"{TEMP_ROW} input[name=reason]").fill("house style")
    page.locator(TEMP_ROW).get_by_role("button", name="Lock").click()
    page.locator(f"{TEMP_ROW} [data-testid=lock]").wait_for()
    page.select_option("[data-testid=scope-picker] select", "default")
    page.wait_for_url("**/config/?workspace=default")
    assert page.locator(f"{TEMP_ROW} input[name=value]").count() == 0
    assert "house style" in page.locator(TEMP_ROW).text_content()  # its group is folded (issue 18)
    page.select_option("[data-testid=scope-picker] select", "")
    page.wait_for_url("**/o/cfgco/config/?workspace=")

    # Snapshot, then change two things.
    page.get_by_role("link", name="Snapshots").click()
    page.fill("#snapshots-panel input[name=label]", "before tuning")
    page.get_by_role("button", name="Take snapshot").click()
    page.get_by_text("Snapshot “before tuning” saved").wait_for()
    page.get_by_role("link", name="Tree").click()
    save_value(page, TEMP_ROW, "1.8")
    page.locator(f"{TEMP_ROW} [role=status]").wait_for()
    save_value(page, RETRIES_ROW, "1")
    page.locator(f"{RETRIES_ROW} [role=status]").wait_for()

    # Diff the snapshot against now.
    page.get_by_role("link", name="Snapshots").click()
    snapshot_row = page.locator("#snapshots-panel tr", has_text="before tuning")
    snapshot_row.get_by_role("button", name="Diff").click()
    diff = page.get_by_test_id("diff")
    diff.wait_for()
    assert "engine.pipeline.soul_draft.temperature" in diff.locator("tr.diff-changed").inner_text()
    assert "engine.pipeline.audit.max_retries" in diff.locator("tr.diff-added").inner_text()
    screenshot(page, "config-diff")

    # Roll back, confirming with a reason: the values return and an undo point is listed.
    snapshot_row.locator("input[name=reason]").fill("tuning made drafts worse")
    snapshot_row.get_by_role("button", name="Roll back").click()
    page.get_by_test_id("confirm-ok").click()  # the page's own dialog, not the browser's confirm() (issue 18)
    page.get_by_text("Rolled back to “before tuning”").wait_for()
    assert page.locator("#snapshots-panel tr", has_text="Before rollback").count() == 1

    page.get_by_role("link", name="Tree").click()
    assert page.locator(f"{TEMP_ROW} input[name=value]").input_value() == "1.4"
    assert page.locator(f"{RETRIES_ROW} [data-testid=source]").text_content() == "default"

    page.get_by_role("link", name="History").click()
    rollback = page.locator("table.history tr[data-action=rollback]")  # one row per change, its keys inside (issue 18)
    assert rollback.count() == 1 and rollback.get_attribute("data-keys") == "2"
    assert "tuning made drafts worse" in page.locator("table.history").inner_text()
    page.get_by_role("link", name="Tree").click()
    screenshot(page, "config-tree")
