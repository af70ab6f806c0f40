"""Exporting a persona as a character card (GET /v1/personas/{id}/card and the page's Export buttons): standard
fields from the layers, the layers/constitution/version in extensions.persona_studio, V3 sources, the avatar or a
placeholder in PNG, the imported card's assets in CHARX; and the round trip through the studio is lossless."""

import base64
import io
import json
import zipfile

import pytest

from personas.cards import placeholder_png, read_card, without_cards
from tests.card_helpers import card, card_bytes, png_card, png_card_json, png_text_chunks, tiny_png, v3_charx


def export(api, persona_id, spec="v2", fmt="json"):
    return api.get(f"/v1/personas/{persona_id}/card?spec={spec}&format={fmt}")


def test_a_v2_json_export_writes_the_standard_fields_from_the_layers(generate, owner_api):
    persona = owner_api.get(f"/v1/personas/{generate().json()['id']}").json()
    response = export(owner_api, persona["id"])
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    document = json.loads(response.content)
    assert (document["spec"], document["spec_version"]) == ("chara_card_v2", "2.0")
    data, layers = document["data"], persona["layers"]
    assert data["name"] == layers["surface"]["name"]
    assert layers["soul"]["desire"] in data["description"] and layers["surface"]["appearance"] in data["description"]
    assert layers["self"]["archetype"] in data["personality"] and layers["mask"]["tone"] in data["personality"]
    assert data["first_mes"].startswith(layers["mask"]["signature_phrases"][0])
    assert all(phrase in data["mes_example"] for phrase in layers["mask"]["signature_phrases"][1:])
    studio = data["extensions"]["persona_studio"]
    assert studio["layers"] == layers and studio["version"] == persona["version"]
    assert studio["constitution"]["persona_name"] == layers["surface"]["name"]
    # The system prompt is the constitution's: its name, then its trait statements.
    assert data["system_prompt"].startswith(f"You are {layers['surface']['name']}. Stay in character.")
    assert all(t["statement"] in data["system_prompt"] for t in studio["constitution"]["traits"])


def test_a_v3_export_appends_the_personas_url_to_the_cards_sources(import_card, owner_api, tenant):
    persona_id = import_card(card_bytes(card("v3_assets"))).json()["id"]
    data = json.loads(export(owner_api, persona_id, "v3").content)["data"]
    url = f"http://testserver/o/acme/personas/{persona_id}/"
    assert data["source"] == ["https://example.test/cards/ines", url]
    # The rest of the imported card travels on: its lorebook, tags, creator, notes in other languages.
    assert [e["content"][:8] for e in data["character_book"]["entries"]] == ["@@depth ", "Tram 28 "]
    assert data["tags"] == ["lisbon", "craft"] and data["creator_notes_multilingual"] == {"pt": "Notas em português."}
    assert data["scenario"] == card("v3_assets")["data"]["scenario"] and data["creation_date"] == 1700000000


@pytest.mark.parametrize("spec, fmt", [("v2", "json"), ("v2", "png"), ("v3", "json"), ("v3", "png"), ("v3", "charx")])
def test_the_round_trip_through_the_studio_is_lossless(spec, fmt, generate, owner_api, outsider_tenant, api_for, import_card):
    persona = owner_api.get(f"/v1/personas/{generate().json()['id']}").json()
    exported = export(owner_api, persona["id"], spec, fmt)
    assert exported.status_code == 200
    other = api_for(outsider_tenant.org)  # another org: the name is free there too
    response = import_card(exported.content, f"card.{fmt}", client=other)
    assert response.status_code == 202, response.content
    back = other.get(f"/v1/personas/{response.json()['id']}").json()
    assert back["layers"] == persona["layers"]


def test_a_png_export_uses_the_imported_cards_picture(import_card, owner_api):
    original = png_card(card("v2_lorebook"), rgb=(12, 34, 56))
    persona_id = import_card(original, "tomas.png").json()["id"]
    response = export(owner_api, persona_id, "v3", "png")
    assert response["Content-Type"] == "image/png"
    assert without_cards(response.content) == without_cards(original)
    assert set(png_text_chunks(response.content)) == {"ccv3", "chara"}
    assert png_card_json(response.content, "ccv3")["spec"] == "chara_card_v3"
    assert png_card_json(response.content, "chara")["spec"] == "chara_card_v2"


def test_a_png_export_of_a_persona_without_a_picture_draws_a_placeholder(generate, owner_api):
    persona_id = generate().json()["id"]
    response = export(owner_api, persona_id, "v2", "png")
    assert without_cards(response.content) == placeholder_png(persona_id)
    assert list(png_text_chunks(response.content)) == ["chara"]


def test_a_charx_export_carries_the_imported_assets_and_the_icon(import_card, owner_api):
    persona_id = import_card(v3_charx(), "ines.charx").json()["id"]
    response = export(owner_api, persona_id, "v3", "charx")
    assert response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert sorted(archive.namelist()) == ["assets/background/images/rua.png", "assets/icon/images/main.png", "card.json"]
    parsed = read_card(response.content)
    assert [a["uri"] for a in parsed.data["assets"]][:2] == ["embeded://assets/icon/images/main.png",
                                                               "embeded://assets/background/images/rua.png"]


@pytest.mark.parametrize("fmt", ["json", "png"])
def test_a_charx_card_exported_without_its_zip_carries_its_files_as_data_uris(fmt, import_card, owner_api):
    persona_id = import_card(v3_charx(), "ines.charx").json()["id"]
    response = export(owner_api, persona_id, "v3", fmt)
    document = json.loads(response.content) if fmt == "json" else png_card_json(response.content, "ccv3")
    uris = {a["name"]: a["uri"] for a in document["data"]["assets"]}
    assert not any(uri.startswith("embeded://") for uri in uris.values())  # nothing points into a zip that is not there
    background = uris["rua"]
    assert background.startswith("data:image/png;base64,")
    assert base64.b64decode(background.partition(",")[2]) == tiny_png((240, 230, 200), size=8)


@pytest.mark.parametrize("query, field", [("spec=v9", "spec"), ("format=gif", "format"), ("spec=v2&format=charx", "spec")])
def test_an_unknown_spec_or_format_is_a_422_naming_it(query, field, generate, owner_api):
    response = owner_api.get(f"/v1/personas/{generate().json()['id']}/card?{query}")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == [field]


def test_the_page_exports_the_card_and_outsiders_get_404(generate, tenant, client_for, outsider):
    persona_id = generate().json()["id"]
    client = client_for(tenant.owner)
    page = client.get(f"/o/acme/personas/{persona_id}/").content.decode()
    assert f"/o/acme/personas/{persona_id}/card/?spec=v3&amp;format=charx" in page
    response = client.get(f"/o/acme/personas/{persona_id}/card/?spec=v3&format=png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert read_card(response.content).spec == "v3"
    assert client_for(outsider).get(f"/o/acme/personas/{persona_id}/card/?spec=v3&format=png").status_code == 404
