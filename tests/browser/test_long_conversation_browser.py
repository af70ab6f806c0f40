"""Issue 20.3 in Chromium: a long-conversation case run from the persona's Evals page, its progress shown live (turn
by turn, over the WebSocket), then the drift-vs-turn chart on the run's page: the band, the threshold line and the
first crossing marked."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in, shots
from tests.browser.test_training_browser import PASSWORD, _seed

pytestmark = pytest.mark.browser

# The fingerprint (run inline in the command) and a long-conversation case whose threshold sits inside the offline
# persona's drift range, so some repeats cross it and the chart has a crossing to mark.
PREPARE = """
from audits.evals.services import eval_case_create
from audits.models import AuditJob
from audits.services import audit_job_execute, audit_job_start
from personas.models import Persona
from studio.models import Membership
from studio.principal import Principal
persona = Persona.objects.get(public_id="{persona_id}")
import time
job = audit_job_start(persona=persona, kind=AuditJob.Kind.FINGERPRINT)
audit_job_execute(job.pk)
# In services mode the server's Celery worker may claim the job first: then this waits for it to finish there.
deadline = time.monotonic() + 170
while persona.fingerprints.latest("id").status not in ("ready", "failed") and time.monotonic() < deadline:
    time.sleep(0.5)
member = Membership.objects.get(organization__slug="anvil", user__email="tess@anvil.test")
eval_case_create(principal=Principal.from_membership(member), persona=persona, data={{
    "layer": "persona", "title": "Keeps its voice over a long talk",
    "check": {{"kind": "long_conversation", "turns": 30, "threshold": 0.22, "before_turn": 25, "repeats": 3}}}})
print(persona.fingerprints.latest("id").status)
"""
WATCH = """() => {
    window.sameDocument = true;
    window.seen = [];
    new MutationObserver(() => {
        const status = document.querySelector('[data-testid=eval-status] .run-meta');
        if (status) window.seen.push(status.textContent.trim());
    }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""


def test_a_long_conversation_runs_live_and_its_drift_curve_is_drawn(studio_server, page):
    studio_server.manage("create_org", "--name", "Anvil", "--slug", "anvil")
    studio_server.manage("add_member", "--org", "anvil", "--email", "tess@anvil.test", "--role", "editor", "--password", PASSWORD)
    persona_id = _seed(studio_server, "anvil")
    out = studio_server.manage("shell", "-c", PREPARE.format(persona_id=persona_id), OFFLINE_LLM_LATENCY_S=0)
    assert out.strip().splitlines()[-1] == "ready"
    log_in(page, studio_server, "tess@anvil.test", PASSWORD)

    page.goto(studio_server.url + f"/o/anvil/personas/{persona_id}/evals/")
    expect(page.locator("body")).to_contain_text("long conversation: 30 turns × 3, no reply drifting above 0.22 before turn 25")
    page.evaluate(WATCH)
    page.get_by_test_id("run-suite").click()
    # completed shows for a moment, then the results are reloaded (the finished run's event asks for them)
    page.wait_for_function("() => window.seen.some(t => t.startsWith('completed'))", timeout=180_000)
    assert page.evaluate("window.sameDocument") is True, "the page reloaded"
    seen = page.evaluate("window.seen")
    counts = [tuple(map(int, m.groups())) for text in seen if (m := re.search(r"(\d+) / (\d+) trials", text))]
    total = counts[-1][1]
    assert counts[-1] == (total, total) and total - 90 == 3 * 25, counts  # the catalog × 3 epochs, then 30 turns × 3 repeats
    turns = {done for done, _ in counts if total - 90 < done < total}
    assert len(turns) >= 10, counts  # the long conversation's progress shown turn by turn, as it went

    page.goto(studio_server.url + f"/o/anvil/personas/{persona_id}/evals/")
    page.locator("#eval-results a[href*='/eval-runs/']").first.click()
    page.wait_for_url(re.compile(r".*/o/anvil/eval-runs/[0-9a-f-]{36}/$"))
    chart = page.get_by_test_id("drift-curve")
    expect(chart).to_be_visible()
    expect(chart.get_by_test_id("band")).to_have_count(1)
    expect(chart.get_by_test_id("threshold-line")).to_have_count(1)
    expect(chart.locator("circle")).to_have_count(30 + page.get_by_test_id("first-crossing").count())
    crossings = page.get_by_test_id("crossings").inner_text()
    assert crossings.startswith("First crossing of 0.22:"), crossings
    chart.scroll_into_view_if_needed()
    shots(page, "long-conversation-drift-curve")
