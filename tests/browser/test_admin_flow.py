"""An org admin's flow in Chromium (issue 18): create a second organization and switch between them, find a config
key by search in folded groups, apply a preset and roll back through the page's own dialogs, see the diff come back
against the tree now, undo the rollback without nested labels, read history one row per change, copy a new API key,
and find the way back from the API docs."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import log_in, shots

PASSWORD = "browser-pass-5678"
TEMP_ROW = "#cfg-engine-pipeline-soul_draft-temperature"


def test_an_admin_runs_orgs_config_history_and_keys(studio_server, page):
    studio_server.manage("create_org", "--name", "Harbor Admin", "--slug", "harbor")
    studio_server.manage("add_member", "--org", "harbor", "--email", "ada@harbor.test", "--role", "owner", "--password", PASSWORD)
    log_in(page, studio_server, "ada@harbor.test", PASSWORD)

    # Every page names an icon; the old /favicon.ico address leads to it.
    icon = page.request.get(studio_server.url + "/favicon.ico")
    assert icon.ok and "svg" in icon.headers["content-type"]

    # Organizations: create one from the switcher's page, land in it, switch back.
    page.goto(studio_server.url + "/o/harbor/")
    page.get_by_test_id("org-switcher").locator("summary").click()
    page.get_by_test_id("organizations-link").click()
    page.wait_for_url("**/orgs/")
    page.fill("input[name=name]", "Harbor Labs")
    page.get_by_test_id("org-create-submit").click()
    page.wait_for_url("**/o/harbor-labs/")
    expect(page.locator(".msg-success")).to_contain_text("Organization “Harbor Labs” created")
    page.goto(studio_server.url + "/orgs/")
    expect(page.get_by_test_id("org-list")).to_contain_text("Harbor Labs")
    shots(page, "admin-organizations")
    page.get_by_test_id("switch-harbor").click()
    page.wait_for_url("**/o/harbor/")

    # Config: groups start folded; a search opens the one key asked for.
    page.get_by_role("link", name="Config", exact=True).click()
    page.wait_for_url("**/o/harbor/config/")
    assert page.locator("details.config-group[open]").count() == 0
    shots(page, "admin-config-folded")
    page.get_by_test_id("config-search").fill("soul_draft temperature")
    expect(page.locator("tr.config-row")).to_have_count(1)
    expect(page.get_by_test_id("config-count")).to_contain_text("1 key of")
    row = page.locator(TEMP_ROW)
    row.locator("input[name=value]").fill("1.4")
    row.get_by_role("button", name="Save").click()
    page.locator(f"{TEMP_ROW} [role=status]").wait_for()
    shots(page, "admin-config-search")

    # A snapshot, then a preset through the page's own dialog (no browser confirm()).
    page.on("dialog", lambda dialog: (_ for _ in ()).throw(AssertionError(f"native dialog: {dialog.message}")))
    page.get_by_role("link", name="Snapshots").click()
    page.fill("#snapshots-panel input[name=label]", "calm")
    page.get_by_role("button", name="Take snapshot").click()
    page.get_by_text("Snapshot “calm” saved (1 item)").wait_for()
    page.get_by_role("link", name="Tree").click()
    page.get_by_role("button", name="Apply preset").click()
    dialog = page.get_by_test_id("confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Apply this preset to the organization?")
    shots(page, "admin-config-dialog")
    page.get_by_test_id("confirm-ok").click()
    page.get_by_text(re.compile(r"Applied preset “.+”: \d+ keys changed")).wait_for()

    # Diff the snapshot, roll back: the diff panel comes back against the tree now.
    page.get_by_role("link", name="Snapshots").click()
    calm = page.locator("#snapshots-panel tr", has_text="calm")
    calm.get_by_role("button", name="Diff").click()
    expect(page.get_by_test_id("diff").locator("tr.diff-added, tr.diff-changed").first).to_be_visible()
    calm.locator("input[name=reason]").fill("the preset was too much")
    calm.get_by_role("button", name="Roll back").click()
    expect(page.get_by_test_id("confirm-ok")).to_have_text("Roll back")
    page.get_by_test_id("confirm-ok").click()
    page.get_by_text("Rolled back to “calm”").wait_for()
    expect(page.get_by_test_id("diff")).to_contain_text("No differences.")
    shots(page, "admin-snapshots-after-rollback")

    # Undo the rollback: the new undo point names the original snapshot once.
    undo = page.locator("#snapshots-panel tr", has_text="Before rollback to “calm”")
    undo.locator("input[name=reason]").fill("undo")
    undo.get_by_role("button", name="Roll back").click()
    page.get_by_test_id("confirm-ok").click()
    page.get_by_text("Before undoing the rollback to “calm”").first.wait_for()
    labels = page.locator("#snapshots-panel tbody tr td:first-child").all_inner_texts()
    assert all(label.count("“") <= 1 for label in labels), labels

    # History: one row per change; the preset's row opens to its keys, which wrap only after dots.
    page.get_by_role("link", name="History").click()
    preset = page.locator("table.history tr[data-action=preset]")
    expect(preset).to_have_count(1)
    preset.locator("summary").click()
    expect(preset.locator(".change-keys li").first).to_be_visible()
    assert int(preset.get_attribute("data-keys")) == preset.locator(".change-keys li").count()
    expect(page.locator("table.history tr[data-action=rollback]")).to_have_count(2)
    shots(page, "admin-history")

    # A new API key with a copy button.
    page.get_by_role("link", name="API keys").click()
    page.fill("input[name=name]", "ci")
    page.locator("input[name=scopes][value='personas:read']").check()
    page.get_by_role("button", name="Create key").click()
    page.get_by_test_id("copy-key").click()
    expect(page.get_by_test_id("copy-key")).to_have_text("Copied")
    shots(page, "admin-api-key")

    # An empty persona list invites the first persona.
    page.get_by_role("link", name="Personas", exact=True).click()
    expect(page.get_by_test_id("personas-empty")).to_contain_text("Write a brief and generate your first persona")
    shots(page, "admin-personas-empty")

    # The API docs lead back to the app.
    page.goto(studio_server.url + "/v1/docs")
    page.locator(".opblock-tag").first.wait_for()  # Swagger UI builds the page from the 420 KB document in the browser
    shots(page, "admin-api-docs")
    page.get_by_test_id("back-to-studio").click()
    page.wait_for_url(re.compile(r".*/o/harbor[^/]*/$"))
