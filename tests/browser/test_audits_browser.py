"""Audits after generation, in Chromium: the provocation suite's live progress and per-category results,
the voice fingerprint, a chat reply scored for drift, the eval suite's ship gate, and the webhooks pages."""

import re

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.conftest import BACKGROUND_WAIT_MS, log_in, screenshot

PASSWORD = "browser-pass-5678"
# An inactive endpoint (nothing is sent from the test) with a delivery log to look at; check_url is
# patched because the sandbox may not resolve DNS.
SEED_WEBHOOK = """
from unittest import mock
from django.utils import timezone
from studio.models import Organization
from studio.webhooks.models import WebhookAttempt, WebhookDelivery
from studio.webhooks.services import webhook_endpoint_create
org = Organization.objects.get(slug="quill")
with mock.patch("studio.webhooks.services.check_url"):
    endpoint = webhook_endpoint_create(organization=org, url="https://hooks.example.com/studio/audits", description="Audit results to the QA bot",
                                       events=["persona.fingerprint.ready", "persona.test_suite_complete"], active=False).endpoint
payload = {"id": "evt-1", "event": "persona.test_suite_complete", "organization": {"slug": "quill"}, "data": {"pass_rate": 0.94}}
ok = WebhookDelivery.objects.create(organization=org, endpoint=endpoint, event="persona.test_suite_complete", payload=payload,
                                    status="succeeded", attempts=1, last_status_code=200, delivered_at=timezone.now())
WebhookAttempt.objects.create(delivery=ok, cycle=1, number=1, status_code=200, duration_ms=84)
dead = WebhookDelivery.objects.create(organization=org, endpoint=endpoint, event="persona.fingerprint.ready", payload={**payload, "event": "persona.fingerprint.ready"},
                                      status="dead", attempts=5, last_status_code=503, last_error="HTTP 503 from the receiver", last_response_excerpt="Service Unavailable")
for n in range(1, 6):
    WebhookAttempt.objects.create(delivery=dead, cycle=1, number=n, status_code=503, error="HTTP 503", duration_ms=40 + n)
print(endpoint.public_id)
"""
# Records every state an audit job's progress bar passes through and counts the WebSocket messages.
OBSERVE_JOBS = """() => {
    window.wsMessages = 0;
    document.body.addEventListener('htmx:wsAfterMessage', () => { window.wsMessages += 1; });
    new MutationObserver(() => document.querySelectorAll('[data-testid=audit-job]').forEach(
        job => window.recordJob(job.dataset.kind, job.dataset.status, Number(job.dataset.done), Number(job.dataset.total))
    )).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""
NO_ACTIVE_JOB = """() => ![...document.querySelectorAll('[data-testid=audit-job]')]
    .some(job => job.dataset.status === 'queued' || job.dataset.status === 'running')"""


def test_an_admin_watches_the_provocation_suite_chats_with_drift_and_runs_the_evals(studio_server, page):
    studio_server.manage("create_org", "--name", "Quill", "--slug", "quill")
    studio_server.manage("add_member", "--org", "quill", "--email", "ada@quill.test", "--role", "admin", "--password", PASSWORD)
    log_in(page, studio_server, "ada@quill.test", PASSWORD)

    # Generate a persona with the offline engine.
    page.goto(studio_server.url + "/o/quill/personas/new/")
    page.fill("textarea[name=brief]", "A lighthouse keeper on Fair Isle who logs the weather in verse and distrusts the mainland")
    page.get_by_role("button", name="Generate").click()
    page.wait_for_url("**/o/quill/runs/**")
    page.wait_for_url(re.compile(r".*/o/quill/personas/[0-9a-f-]{36}/$"), timeout=BACKGROUND_WAIT_MS)
    persona_url = page.url
    tests_url = persona_url + "tests/"

    # The Tests tab. The server may have started the post-generation jobs (POST_GENERATION_JOBS): let them finish.
    page.get_by_test_id("persona-tabs").get_by_role("link", name="Tests").click()
    page.wait_for_url(tests_url)
    page.wait_for_function(NO_ACTIVE_JOB, timeout=BACKGROUND_WAIT_MS)
    page.goto(tests_url)

    # Run the provocation suite and watch its progress arrive over the WebSocket.
    seen: list[tuple[str, str, int, int]] = []
    page.expose_function("recordJob", lambda kind, status, done, total: seen.append((kind, status, done, total)))
    page.evaluate(OBSERVE_JOBS)
    page.evaluate("() => { document.getElementById('suite-card').dataset.before = '1'; }")
    page.get_by_role("button", name="Run provocation suite").click()
    suite_job = page.locator("[data-testid=audit-job][data-kind=provocations]")
    suite_job.wait_for()
    try:  # a picture of the bar half-way, when the page catches it (the assertions below do not depend on it)
        page.wait_for_function("""() => { const job = document.querySelector('[data-testid=audit-job][data-kind=provocations]');
            return job && job.dataset.status === 'running' && Number(job.dataset.done) > 0; }""", timeout=10_000)
        screenshot(page, "audits-suite-live")
    except PlaywrightTimeout:
        pass
    page.locator("[data-testid=audit-job][data-kind=provocations][data-status=completed]").wait_for(timeout=BACKGROUND_WAIT_MS)
    suite_states = [s for s in seen if s[0] == "provocations"]
    total = suite_states[-1][3]
    assert total == 78  # 33 tests: every scripted turn and one verdict each
    intermediate = {done for _, status, done, _ in suite_states if status == "running" and 0 < done < total}
    assert intermediate, f"no intermediate progress was seen: {suite_states}"
    assert page.evaluate("window.wsMessages") > 0, "no progress arrived over the WebSocket"
    assert f"{total} / {total} calls" in suite_job.inner_text()
    screenshot(page, "audits-suite-done")
    # the finished job loads the new results in place of the old ones (no reload)
    page.wait_for_function("() => !document.getElementById('suite-card').dataset.before")
    page.get_by_test_id("category-chart").wait_for()
    assert page.get_by_test_id("provocation-result").count() == 33
    assert re.search(r"Overall: \d+%", page.get_by_test_id("provocation-overall").inner_text())
    assert "persona swap" in page.get_by_test_id("category-chart").text_content()
    first = page.get_by_test_id("provocation-result").first
    first.locator("summary").click()
    assert "Passing looks like:" in first.inner_text() and "Verdict:" in first.inner_text()

    # Recompute the voice fingerprint, so the chat can score drift.
    page.evaluate(OBSERVE_JOBS)
    page.get_by_role("button", name="Recompute fingerprint").click()
    page.locator("[data-testid=audit-job][data-kind=fingerprint][data-status=completed]").wait_for(timeout=BACKGROUND_WAIT_MS)
    page.goto(tests_url)
    assert "ready" in page.get_by_test_id("fingerprint").inner_text()
    assert "offline (local hashed embedding)" in page.get_by_test_id("fingerprint-engine").inner_text()
    screenshot(page, "audits-tests")

    # Chat: each reply carries its drift score, and the chart plots them.
    page.get_by_test_id("persona-tabs").get_by_role("link", name="Chat").click()
    page.wait_for_url(persona_url + "chat/")
    assert page.get_by_test_id("fingerprint-not-ready").count() == 0
    for n, message in enumerate(["What did the sea do this morning?", "Tell me about the last supply boat."], start=1):
        page.fill("textarea[name=message]", message)
        page.get_by_role("button", name="Send").click()
        page.wait_for_function(f"() => document.querySelectorAll('[data-testid=drift-badge]').length === {n}", timeout=BACKGROUND_WAIT_MS)
    badges = page.get_by_test_id("drift-badge").all_inner_texts()
    assert all(re.match(r"drift \d\.\d\d", b) for b in badges), badges
    assert page.locator("[data-testid=drift-chart] circle").count() == 2
    assert page.locator("[data-testid=drift-chart] polyline").count() == 1
    screenshot(page, "audits-chat")

    # Evals: run the suite once per case and see the ship gate's verdict.
    page.get_by_test_id("persona-tabs").get_by_role("link", name="Evals").click()
    page.wait_for_url(persona_url + "evals/")
    page.fill("input[name=epochs]", "1")
    page.get_by_test_id("run-suite").click()
    page.get_by_test_id("eval-results").get_by_test_id("ship-gate").wait_for(timeout=BACKGROUND_WAIT_MS)
    # The default suite has 6–7 cases a layer: too few to show a 96–100 % rate, so no layer can pass yet.
    assert re.fullmatch(r"ship gate: (fail|inconclusive)", page.get_by_test_id("ship-gate").inner_text())
    if page.get_by_test_id("ship-gate").get_attribute("data-state") == "inconclusive":
        assert "more case" in page.get_by_test_id("eval-results").inner_text()
    assert page.get_by_test_id("eval-chart").is_visible()
    screenshot(page, "audits-evals")

    # Webhooks: the list and an endpoint's delivery log.
    endpoint_id = studio_server.manage("shell", "-c", SEED_WEBHOOK).strip().splitlines()[-1]
    page.goto(studio_server.url + "/o/quill/webhooks/")
    assert "hooks.example.com" in page.content()
    screenshot(page, "audits-webhooks")
    page.goto(studio_server.url + f"/o/quill/webhooks/{endpoint_id}/")
    assert page.get_by_test_id("deliveries").locator("tbody tr").count() == 2
    screenshot(page, "audits-webhook-detail")
