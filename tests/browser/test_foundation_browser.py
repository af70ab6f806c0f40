"""Log in, switch org, check the worker over WebSocket, invite, create an API key and use it."""

import json
import urllib.request

from playwright.sync_api import expect

from tests.browser.conftest import BACKGROUND_WAIT_MS, log_in, screenshot

PASSWORD = "browser-pass-1234"


def test_an_admin_logs_in_switches_org_and_creates_an_api_key(studio_server, page):
    studio_server.manage("create_org", "--name", "Northwind", "--slug", "northwind")
    studio_server.manage("create_org", "--name", "Contoso", "--slug", "contoso")
    studio_server.manage("add_member", "--org", "northwind", "--email", "ada@studio.test", "--role", "owner", "--password", PASSWORD)
    studio_server.manage("add_member", "--org", "contoso", "--email", "ada@studio.test", "--role", "admin")

    log_in(page, studio_server, "ada@studio.test", PASSWORD)
    page.wait_for_selector("h1")
    first = page.locator("h1").inner_text()
    assert first in {"Northwind", "Contoso"}
    assert page.get_by_test_id("offline-banner").is_visible()

    # Switch org through the switcher.
    other = "Contoso" if first == "Northwind" else "Northwind"
    page.get_by_test_id("org-switcher").locator("summary").click()
    page.get_by_role("link", name=other).click()
    page.wait_for_url(f"**/o/{other.lower()}/")
    assert page.locator("h1").inner_text() == other
    slug = other.lower()

    # The worker answers over the WebSocket: proves background work and realtime events in this mode.
    # The check is enabled once the page's socket has joined the org's events (a pong sent before would be lost).
    expect(page.get_by_test_id("worker-check")).to_be_enabled()
    page.get_by_test_id("worker-check").click()
    pong = page.get_by_test_id("worker-pong")
    pong.wait_for(timeout=BACKGROUND_WAIT_MS)
    assert "answered in" in pong.inner_text()
    screenshot(page, "dashboard")

    # A quick worker's pong can come over the socket before the check's own "waiting" reply: held back here until
    # the pong is on the page, that reply must not cover it (it did: the page then waited for a pong forever).
    held = []

    def hold_the_reply(route):  # the server gets the check (and queues the ping); the page gets its reply later
        held.append((route, route.fetch()))

    page.route("**/worker-check/", hold_the_reply)
    page.get_by_test_id("worker-check").click()
    for _ in range(BACKGROUND_WAIT_MS // 50):  # until the server has answered the check (and queued the ping)
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the worker check never reached the server"
    expect(pong).to_be_visible(timeout=BACKGROUND_WAIT_MS)  # the new pong (the click emptied the status)
    route, reply = held.pop()
    route.fulfill(response=reply)
    expect(page.locator("#worker-status")).not_to_contain_text("Waiting")
    expect(pong).to_be_visible()
    page.unroute("**/worker-check/")

    # Invite a member: the row shows up as pending.
    page.get_by_role("link", name="Members").click()
    page.fill("input[name=email]", "grace@studio.test")
    page.select_option("#members-panel form select[name=role]", "editor")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("Invitation sent to grace@studio.test").wait_for()
    # Bad input is shown beside the form, nothing lost.
    page.fill("input[name=email]", "not-an-email@")
    page.evaluate("document.querySelector('#members-panel input[name=email]').type='text'")
    page.get_by_role("button", name="Send invitation").click()
    page.get_by_text("email is not a valid address").wait_for()
    screenshot(page, "members")

    # Create an API key; it is shown once.
    page.get_by_role("link", name="API keys").click()
    page.fill("input[name=name]", "browser key")
    page.check("input[value='config:read']")
    page.check("input[value='personas:read']")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-key-secret").inner_text().strip()
    assert secret.startswith("ps_")
    screenshot(page, "api-keys")

    # The key works against the API and names its org.
    request = urllib.request.Request(studio_server.url + "/v1/org", headers={"Authorization": f"Bearer {secret}"})
    body = json.load(urllib.request.urlopen(request))
    assert body["slug"] == slug and body["scopes"] == ["config:read", "personas:read"]

    # After a reload the secret is gone for good: only its prefix is listed.
    page.reload()
    assert secret not in page.content()
    assert secret[:9] in page.content()
