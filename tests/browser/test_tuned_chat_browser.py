"""Chat with a trained model in Chromium: from the job page to the chat, a message sent with Enter (Shift+Enter is a
new line), the tuned and base replies side by side with their drift badges, the progress line while the model
answers, the newest turn in view, and the conversation still there after a reload."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import BACKGROUND_WAIT_MS, log_in, screenshot
from tests.browser.test_training_browser import PASSWORD, SEED

pytestmark = pytest.mark.browser

# A finished job holding a really trained tiny checkpoint, written where the server reads its artifacts.
SEED_JOB = """
from personas.models import Persona
from tests.tuned_model_helpers import tiny_checkpoint_folders, trained_job
persona = Persona.objects.get(public_id="{persona_id}")
job = trained_job(persona, tiny_checkpoint_folders(), name="glassblower-v1")  # trained once in this process
print(job.public_id)
"""


def _shell(server, code: str, **settings) -> str:
    return server.manage("shell", "-c", code, **settings).strip().splitlines()[-1]


def _seed_job(server) -> str:
    """A ready persona of the kiln org (as the training browser test seeds forge's), and a finished job for it."""
    persona_id, _status = _shell(server, SEED.replace("forge", "kiln"), OFFLINE_LLM_LATENCY_S=0, POST_GENERATION_JOBS=False).split()
    return _shell(server, SEED_JOB.format(persona_id=persona_id))


def _send(page, text: str) -> None:
    box = page.get_by_test_id("chat-message")
    box.fill(text)
    box.press("Enter")


def test_an_editor_chats_with_the_tuned_model_beside_the_base_model(studio_server, page):
    studio_server.manage("create_org", "--name", "Kiln", "--slug", "kiln")
    studio_server.manage("add_member", "--org", "kiln", "--email", "tess@kiln.test", "--role", "editor", "--password", PASSWORD)
    job_id, org = _seed_job(studio_server), "kiln"
    log_in(page, studio_server, "tess@kiln.test", PASSWORD)

    page.goto(studio_server.url + f"/o/{org}/training/{job_id}/")
    page.get_by_test_id("chat-with-model").click()
    page.wait_for_url(re.compile(rf".*/o/{org}/training/{job_id}/chat/$"))
    expect(page.get_by_test_id("chat-checkpoint")).to_contain_text("No constitution or system prompt is sent")
    page.get_by_test_id("compare-base").check()

    # Shift+Enter is a new line, not a send.
    box = page.get_by_test_id("chat-message")
    box.fill("Tell me about the furnace.")
    box.press("Shift+Enter")
    box.type("And the glass?")
    assert box.input_value() == "Tell me about the furnace.\nAnd the glass?"
    assert page.get_by_test_id("chat-turn").count() == 0

    # Enter sends; the progress line shows while the models answer; both replies arrive side by side.
    box.press("Enter")
    page.locator("#chat-thinking.htmx-request").wait_for()
    turn = page.get_by_test_id("chat-turn").first
    turn.get_by_test_id("reply-base").wait_for(timeout=BACKGROUND_WAIT_MS)
    expect(turn.locator(".bubble.user")).to_have_text("Tell me about the furnace.\nAnd the glass?")
    expect(turn.get_by_test_id("reply-tuned").locator(".reply-label")).to_have_text("tuned (DPO)")
    expect(turn.get_by_test_id("reply-base").locator(".reply-label")).to_have_text("base (tiny)")
    expect(page.locator("#chat-thinking")).not_to_have_class(re.compile("htmx-request"))
    assert box.input_value() == ""
    tuned_box, base_box = (turn.get_by_test_id(f"reply-{side}").bounding_box() for side in ("tuned", "base"))
    assert abs(tuned_box["y"] - base_box["y"]) < 2 and tuned_box["x"] + tuned_box["width"] <= base_box["x"]  # side by side
    page.wait_for_url(re.compile(r".*\?session=[0-9a-f-]{36}$"))

    # More turns: the newest stays in view.
    for text in ("What colour is the flame today?", "Do you ever break a piece on purpose?"):
        count = page.get_by_test_id("chat-turn").count()
        _send(page, text)
        expect(page.get_by_test_id("chat-turn")).to_have_count(count + 1, timeout=BACKGROUND_WAIT_MS)
    page.wait_for_function("() => { const log = document.getElementById('chat-log');"
                           " return log.scrollHeight > log.clientHeight && log.scrollTop + log.clientHeight >= log.scrollHeight - 2; }")
    screenshot(page, "tuned-chat-side-by-side")

    # A reload shows the same conversation.
    page.reload()
    expect(page.get_by_test_id("chat-turn")).to_have_count(3)
    expect(page.get_by_test_id("chat-turn").last.locator(".bubble.user")).to_have_text("Do you ever break a piece on purpose?")
