"""Issue 18, small things: favicon, a way back from the API docs, a copy button for a new key, an inviting empty
list, one rounding rule for scores, notes cut at a word, plurals that agree, and a console free of litellm noise."""

import asyncio
import re
import threading

from django.contrib.staticfiles import finders

from studio.words import clip, plural, score


def test_every_page_names_a_favicon_and_favicon_ico_leads_to_it(tenant, client_for):
    page = client_for(tenant.owner).get("/o/acme/").content.decode()
    icon = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page).group(1)
    assert finders.find(icon.removeprefix("/static/"))
    response = client_for(tenant.owner).get("/favicon.ico")
    assert response.status_code == 301 and response["Location"] == icon


def test_the_api_docs_link_back_to_the_app(tenant, client_for):
    page = client_for(tenant.owner).get("/v1/docs").content.decode()
    assert 'href="/" data-testid="back-to-studio"' in page
    assert 'rel="icon"' in page


def test_a_new_api_key_comes_with_a_copy_button_for_its_secret(tenant, client_for):
    response = client_for(tenant.owner).post("/o/acme/api-keys/new/", {"name": "ci", "scopes": ["personas:read"]})
    page = response.content.decode()
    assert 'id="new-key-secret"' in page and 'data-copy="#new-key-secret"' in page


def test_an_empty_persona_list_invites_the_first_persona(tenant, client_for):
    page = client_for(tenant.user("editor")).get("/o/acme/personas/").content.decode()
    assert "No personas yet." in page and 'href="/o/acme/personas/new/"' in page
    assert "No personas match" not in page
    filtered = client_for(tenant.user("editor")).get("/o/acme/personas/?q=nobody").content.decode()
    assert "No personas match these filters." in filtered


def test_a_viewer_s_empty_list_does_not_offer_what_it_cannot_do(tenant, client_for):
    page = client_for(tenant.user("viewer")).get("/o/acme/personas/").content.decode()
    assert "an editor can create the first one" in page and "/personas/new/" not in page


def test_scores_are_rounded_one_way_half_up_to_two_places():
    assert [score(v) for v in (4.745, 4.75, 4.8, 3, 0.125, None)] == ["4.75", "4.75", "4.80", "3.00", "0.13", "—"]


def test_the_list_and_the_page_show_a_persona_s_audit_score_alike(persona, tenant, client_for):
    version = persona.current_version
    version.audit = {**(version.audit or {}), "overall": 4.745, "coherence": 4.745}
    version.save(update_fields=["audit"])
    client = client_for(tenant.owner)
    listed = client.get("/o/acme/personas/").content.decode()
    detail = client.get(f"/o/acme/personas/{persona.public_id}/").content.decode()
    assert "4.75" in listed and "4.75" in detail
    assert "4.7<" not in detail and "4.8<" not in detail


def test_notes_are_cut_at_a_word_never_inside_one():
    text = "an aunt who raised her after the fire and never once asked what she wanted from her own life"
    assert clip(text, 10) == "an aunt…"
    assert clip(text, 400) == text
    for limit in range(5, len(text)):
        cut = clip(text, limit)
        assert len(cut) <= limit and cut.endswith("…")
        assert text.startswith(cut[:-1]) and (text[len(cut) - 1] == " ")


def test_the_offline_audit_s_notes_quote_the_desire_by_whole_words_and_count_words_right():
    from pipeline import offline_audit

    _, note = offline_audit._field_depth("growth_arc", "Ordinary", set())
    assert "1 word," in note and "1 words" not in note


def test_counts_agree_with_their_nouns():
    assert plural(1, "item") == "1 item" and plural(14, "item") == "14 items"
    assert plural(1500, "pair") == "1,500 pairs" and plural(2, "reply") == "2 replies" and plural(0, "match") == "0 matches"


def test_a_one_item_snapshot_says_item(tenant, client_for):
    client = client_for(tenant.owner)
    client.post("/o/acme/config/set/", {"key": "engine.pipeline.audit.max_retries", "value": "2", "workspace": ""})
    page = client.post("/o/acme/config/snapshots/new/", {"label": "one", "workspace": ""}).content.decode()
    assert "(1 item)" in page


def test_litellm_queues_no_logging_task_that_could_fill_the_console_at_a_loop_s_end():
    """The studio has no litellm callbacks; the success-logging coroutines litellm queued on its process-wide worker
    spilled ~80 lines of asyncio tracebacks per generation when their event loop closed."""
    from studio.llm import runtime

    module = runtime.litellm()
    from litellm.litellm_core_utils import logging_worker

    async def two_calls():
        for _ in range(2):
            await module.acompletion(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], mock_response="hello")

    thread = threading.Thread(target=lambda: asyncio.run(two_calls()))
    thread.start()
    thread.join()
    assert logging_worker.GLOBAL_LOGGING_WORKER.pending_count == 0
    assert logging_worker.GLOBAL_LOGGING_WORKER._worker_task is None


def test_the_api_docs_document_parses_without_a_repeated_key(tenant, client_for):
    """Swagger UI refused the whole document ("duplicated mapping key") when an operation declared an int status code
    beside the string one added to every operation."""
    import json

    repeated = []

    def keep(pairs):
        keys = [key for key, _ in pairs]
        repeated.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(pairs)

    json.loads(client_for(tenant.owner).get("/v1/openapi.json").content, object_pairs_hook=keep)
    assert repeated == []


def test_the_api_document_is_built_once_and_each_caller_gets_a_copy_of_its_own(tenant, client_for):
    from studio.api import api

    first = api.get_openapi_schema(path_params={})
    first["paths"].clear()
    first["info"]["title"] = "changed by a caller"
    served = client_for(tenant.owner).get("/v1/openapi.json").json()

    assert served["info"]["title"] == "Persona Studio API" and served["paths"]
    assert served == api._build_openapi_schema(path_params={})  # the cached document is the one built fresh
    assert api.get_openapi_schema(path_params={}) is not api.get_openapi_schema(path_params={})
