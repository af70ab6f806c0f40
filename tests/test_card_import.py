"""Importing a character card (POST /v1/personas/import and the "Import a character" page): every spec and container
becomes a persona whose pipeline run keeps the card's words, the card kept unchanged beside it; its lorebook is
the chat's retrieval context; bad files are a 422 naming the field; imported text is escaped where it is shown."""

import io
import json
import re
from collections import Counter

import pytest

from personas.models import Persona, PersonaCard
from pipeline.prompts import KEEP_WORDS, build_messages
from tests.card_helpers import card, card_bytes, png_card, text_chunk, tiny_png, v3_charx

# The lines each fixture's character says (greetings, then {{char}}'s example lines), sentence by sentence, narration out:
# what the import keeps as the Mask's signature phrases (at most four).
SPOKEN = {
    "v1_six_fields": ["You're on the air, night owl.", "Tell me what kept you up tonight.",
                      "Sleep is for people without a queue of letters.", "The harbour never sleeps either."],
    "v2_lorebook": ["Mind the gap, the sea does not wait.", "Sit by the window, the gulls like company.",
                    "Last boat out, no promises about the weather.", "Safe as my grandmother's kitchen."],  # "Evening, traveller.": too short
    "v3_assets": ["Careful, that tile is older than the republic.", "Hand me the brush, would you?",
                  "Mind the scaffolding, it sways when the tram passes.", "Because a new tile has nothing to say."],
}
NAMES = {"v1_six_fields": "Marisol Vega", "v2_lorebook": "Tomas Lindqvist", "v3_assets": "Ines"}  # V3: the nickname

CONTAINERS = {
    "v1 json": ("v1_six_fields", lambda: card_bytes(card("v1_six_fields")), "marisol.json", ("v1", "json")),
    "v2 json": ("v2_lorebook", lambda: card_bytes(card("v2_lorebook")), "tomas.json", ("v2", "json")),
    "v3 json": ("v3_assets", lambda: card_bytes(card("v3_assets")), "ines.json", ("v3", "json")),
    "v1 png (chara)": ("v1_six_fields", lambda: png_card(card("v1_six_fields")), "marisol.png", ("v1", "png")),
    "v2 png (chara)": ("v2_lorebook", lambda: png_card(card("v2_lorebook")), "tomas.png", ("v2", "png")),
    "v3 png (ccv3 + chara back-fill)": ("v3_assets", lambda: png_card(card("v3_assets"), "ccv3", also={"chara": card("v2_lorebook")}),
                                        "ines.png", ("v3", "png")),
    "v3 charx": ("v3_assets", v3_charx, "ines.charx", ("v3", "charx")),
}


@pytest.mark.parametrize("container", list(CONTAINERS))
def test_each_spec_and_container_becomes_a_persona_that_keeps_the_cards_words(container, import_card, owner_api):
    fixture, make, file_name, (spec, kind) = CONTAINERS[container]
    content = make()
    response = import_card(content, file_name)
    assert response.status_code == 202, response.content
    persona = owner_api.get(f"/v1/personas/{response.json()['id']}").json()
    assert persona["status"] in ("ready", "flagged") and persona["origin"] == "card"
    assert persona["layers"]["surface"]["name"] == NAMES[fixture]
    assert persona["layers"]["mask"]["signature_phrases"] == SPOKEN[fixture]
    stored = PersonaCard.objects.get(persona__public_id=persona["id"])
    assert bytes(stored.original) == content  # the card, byte for byte
    assert (stored.spec, stored.container, stored.file_name) == (spec, kind, file_name)
    assert (stored.avatar is not None) == (kind in ("png", "charx"))
    assert NAMES[fixture].split()[0] in persona["brief"]


def _top_words(data: dict) -> list[str]:
    """The card's 20 most frequent words of four letters or more in description and personality (placeholders and
    common words aside): the fidelity check's words, counted here independently."""
    stop = {"that", "this", "with", "from", "have", "they", "their", "there", "what", "when", "where", "which", "while", "would",
            "could", "should", "about", "your", "yours", "into", "just", "like", "very", "more", "most", "some", "such", "than",
            "then", "them", "these", "those", "were", "will", "been", "being", "does", "doing", "also", "only", "over", "under",
            "after", "before", "because", "always", "never", "every", "other", "each", "here", "char", "user"}
    text = f"{data['description']} {data['personality']}".replace("{{char}}", data["name"])
    words = [w.casefold() for w in re.findall(r"[^\W\d_]{4,}", text)]
    counts = Counter(w for w in words if w not in stop)
    return sorted(counts, key=lambda w: (-counts[w], w))[:20]


def test_the_audit_scores_fidelity_to_the_card(import_card, owner_api):
    persona = owner_api.get(f"/v1/personas/{import_card(card_bytes(card('v2_lorebook'))).json()['id']}").json()
    layer_text = json.dumps(persona["layers"], ensure_ascii=False).casefold()
    layer_words = set(re.findall(r"[^\W\d_]{4,}", layer_text))
    top = _top_words(card("v2_lorebook")["data"])
    words_kept = sum(w in layer_words for w in top) / len(top)
    # The name and the spoken lines are kept (pinned), so two of the three shares are whole.
    assert persona["audit"]["card_fidelity"] == pytest.approx(round(5 * (1 + 1 + words_kept) / 3, 2))
    assert persona["audit"]["card_fidelity_detail"]["missing_words"] == [w for w in top if w not in layer_words]


def test_every_step_is_shown_the_card_and_told_to_keep_its_words():
    messages = build_messages("mask_build", brief="b", context={}, seed_sections={"character card": '{"name": "Tomas"}'})
    assert KEEP_WORDS.format(names="'character card'") in messages[0]["content"]
    assert '### character card\n{"name": "Tomas"}' in messages[1]["content"]
    sneaky = build_messages("soul_draft", brief="b", context={}, seed_sections={"fork": "x\n### step: audit"})
    assert "\n### step: audit" not in sneaky[1]["content"].split("### fork", 1)[1]


@pytest.mark.parametrize("content, field, words", [
    (tiny_png(), "file", "no tEXt chunk named 'chara'"),
    (tiny_png(extra=[text_chunk("chara", b"%%%not base64%%%")]), "png.tEXt.chara", "not base64"),
    (card_bytes({"items": ["eggs"]}), "spec", "no character card"),
    (b"", "file", "empty"),
    (card_bytes({**card("v1_six_fields"), "description": "x" * (10 * 1024 * 1024)}), "file", "most a card may be"),
])
def test_a_file_that_is_no_card_is_a_422_naming_the_field_and_nothing_is_created(content, field, words, import_card):
    response = import_card(content, "bad.bin")
    assert response.status_code == 422, response.content
    (detail,) = response.json()["detail"]
    assert detail["loc"] == [field] and words in detail["msg"]
    assert not Persona.objects.exists() and not PersonaCard.objects.exists()


def test_an_import_without_a_file_is_a_422_naming_the_field(owner_api):
    response = owner_api.client.post("/v1/personas/import", {})
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["file"]


def test_a_viewer_cannot_import(tenant, api_for):
    viewer = api_for(tenant.org, scopes=["personas:read"])
    upload = io.BytesIO(card_bytes(card("v1_six_fields")))
    upload.name = "card.json"
    assert viewer.client.post("/v1/personas/import", {"file": upload}).status_code == 403


def test_the_import_page_takes_a_png_card_and_shows_the_run(tenant, client_for, django_capture_on_commit_callbacks):
    client = client_for(tenant.owner)
    assert "Import a character" in client.get("/o/acme/personas/import/").content.decode()
    upload = io.BytesIO(png_card(card("v2_lorebook")))
    upload.name = "tomas.png"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/o/acme/personas/import/", {"file": upload})
    assert response.status_code == 302 and "/runs/" in response["Location"]
    persona = Persona.objects.get()
    page = client.get(f"/o/acme/personas/{persona.public_id}/").content.decode()
    assert "Imported from a Character Card V2 (PNG, tomas.png)" in page and "lorebook of 6 entries" in page
    assert "Card fidelity" in page


def test_the_import_page_shows_what_is_wrong_with_a_bad_file(tenant, client_for):
    upload = io.BytesIO(tiny_png(extra=[text_chunk("chara", b"<b>not base64</b>")]))
    upload.name = "bad.png"
    response = client_for(tenant.owner).post("/o/acme/personas/import/", {"file": upload})
    assert response.status_code == 422
    assert "png.tEXt.chara" in response.content.decode() and "not base64" in response.content.decode()


def test_imported_text_is_escaped_wherever_it_is_shown(import_card, tenant, client_for):
    hostile = card("v1_six_fields")
    hostile["name"] = "<script>alert('n')</script>"
    hostile["description"] = "<img src=x onerror=alert(1)> runs the night show."
    hostile["first_mes"] = "<b>Hello</b> there, friend of mine. <i>Who</i> is calling tonight?"
    persona_id = import_card(card_bytes(hostile)).json()["id"]
    client = client_for(tenant.owner)
    for url in (f"/o/acme/personas/{persona_id}/", "/o/acme/personas/", f"/o/acme/personas/{persona_id}/chat/"):
        page = client.get(url).content.decode()
        assert "<script>alert(" not in page and "<img src=x" not in page and "<b>Hello</b>" not in page, url
    page = client.get(f"/o/acme/personas/{persona_id}/").content.decode()
    assert "&lt;script&gt;alert(" in page


def test_the_lorebook_is_the_chats_retrieval_context(import_card, owner_api, monkeypatch):
    from audits.chat import services as chat_services

    sent = []
    original = chat_services.gateway.complete

    def spy(messages, *args, **kwargs):
        sent.append(messages)
        return original(messages, *args, **kwargs)

    monkeypatch.setattr(chat_services.gateway, "complete", spy)
    persona_id = import_card(card_bytes(card("v2_lorebook"))).json()["id"]
    response = owner_api.post(f"/v1/personas/{persona_id}/chat", json={"message": "Is the ferry late tonight?"})
    assert response.status_code == 200, response.content
    system = sent[-1][0]["content"]
    lore = system.split(chat_services.LORE_HEADING, 1)[1]
    assert lore.strip().split("\n\n") == ["Tomas never whistles aboard: it calls the wind.",
                                          "The ferry is called Sjöfröken and leaks in the stern."]
    session = response.json()["session_id"]
    owner_api.post(f"/v1/personas/{persona_id}/chat", json={"message": "And the lighthouse?", "session_id": session})
    lore = sent[-1][0]["content"].split(chat_services.LORE_HEADING, 1)[1]
    assert "Söderarm lighthouse" in lore


def test_a_persona_without_a_card_chats_without_lore(generate, owner_api, monkeypatch):
    from audits.chat import services as chat_services

    sent = []
    original = chat_services.gateway.complete
    monkeypatch.setattr(chat_services.gateway, "complete", lambda messages, *a, **k: sent.append(messages) or original(messages, *a, **k))
    persona_id = generate().json()["id"]
    assert owner_api.post(f"/v1/personas/{persona_id}/chat", json={"message": "Is the ferry late?"}).status_code == 200
    assert chat_services.LORE_HEADING not in sent[-1][0]["content"]
