"""Reading and writing Character Cards (personas.cards): V1, V2 and V3 detected by content, in JSON, PNG and CHARX;
every bad input refused with the field (and the byte) named."""

import base64
import io
import json
import struct
import zipfile
import zlib

import pytest

from personas.cards import (
    MAX_ASSET_BYTES,
    MAX_FILE_BYTES,
    CardError,
    card_document,
    charx_with_card,
    png_chunks,
    png_with_cards,
    placeholder_png,
    read_card,
    v2_backfill,
    without_cards,
)
from tests.card_helpers import card, card_bytes, charx, png_card, png_card_json, png_text_chunks, text_chunk, tiny_png, v3_charx


def refused(content: bytes) -> CardError:
    with pytest.raises(CardError) as caught:
        read_card(content)
    return caught.value


def test_a_v1_card_with_only_its_six_root_fields_is_read_with_every_v2_default():
    parsed = read_card(card_bytes(card("v1_six_fields")))
    assert (parsed.spec, parsed.container) == ("v1", "json")
    assert parsed.data["name"] == "Marisol Vega" and parsed.data["first_mes"].startswith("*adjusts")
    assert parsed.data["creator_notes"] == "" and parsed.data["alternate_greetings"] == [] and parsed.data["extensions"] == {}
    assert parsed.book is None


def test_a_v2_card_with_empty_extensions_keeps_its_lorebook():
    parsed = read_card(card_bytes(card("v2_lorebook")))
    assert parsed.spec == "v2"
    assert parsed.data["extensions"] == {} and len(parsed.book["entries"]) == 6
    assert parsed.book["entries"][2]["enabled"] is False
    null_extensions = card("v2_lorebook")
    null_extensions["data"]["extensions"] = None  # another quirk of cards in the wild
    assert read_card(card_bytes(null_extensions)).data["extensions"] == {}


def test_a_v3_card_keeps_its_v3_fields():
    parsed = read_card(card_bytes(card("v3_assets")))
    assert parsed.spec == "v3"
    assert parsed.data["nickname"] == "Ines" and parsed.data["creator_notes_multilingual"] == {"pt": "Notas em português."}
    assert parsed.data["source"] == ["https://example.test/cards/ines"] and parsed.data["group_only_greetings"] == []
    assert [a["name"] for a in parsed.data["assets"]] == ["main", "rua"]


def test_v3_assets_default_to_the_card_itself_as_the_main_icon():
    document = card("v3_assets")
    del document["data"]["assets"]
    assert read_card(card_bytes(document)).data["assets"] == [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}]


@pytest.mark.parametrize("fixture, keyword, spec", [("v1_six_fields", "chara", "v1"), ("v2_lorebook", "chara", "v2"), ("v3_assets", "ccv3", "v3")])
def test_a_png_carries_the_card_in_a_base64_text_chunk(fixture, keyword, spec):
    parsed = read_card(png_card(card(fixture), keyword))
    assert (parsed.spec, parsed.container) == (spec, "png")
    assert parsed.document == card(fixture) and parsed.image.startswith(b"\x89PNG")


def test_a_png_with_both_chunks_is_read_from_ccv3():
    v2 = card("v2_lorebook")
    parsed = read_card(png_card(card("v3_assets"), "ccv3", also={"chara": v2}))
    assert parsed.spec == "v3" and parsed.data["name"] == "Ines Carvalho"


def test_a_charx_is_read_with_its_assets_and_main_icon():
    parsed = read_card(v3_charx())
    assert (parsed.spec, parsed.container) == ("v3", "charx")
    assert sorted(parsed.assets) == ["assets/background/images/rua.png", "assets/icon/images/main.png"]
    assert parsed.image == parsed.assets["assets/icon/images/main.png"]


# --- bad input ------------------------------------------------------------------------------------


def test_a_png_without_a_card_chunk_is_refused():
    error = refused(tiny_png(extra=[text_chunk("Comment", b"just a picture")]))
    assert error.field == "file" and "no tEXt chunk named 'chara'" in error.message


def test_a_chunk_that_is_not_base64_names_the_chunk_its_byte_and_the_character():
    content = tiny_png(extra=[text_chunk("chara", b"eyJuYW1lIj*oiWCJ9")])
    error = refused(content)
    assert error.field == "png.tEXt.chara" and "not base64" in error.message and "'*'" in error.message
    assert error.byte == content.index(b"tEXt") - 4 and f"(byte {error.byte})" in error.message


def test_a_chunk_that_is_base64_but_not_json_is_refused_naming_where_the_json_breaks():
    error = refused(tiny_png(extra=[text_chunk("chara", base64.b64encode(b'{"name": "X",'))]))
    assert error.field == "png.tEXt.chara" and "not JSON" in error.message and "line 1" in error.message


def test_a_png_whose_chunk_fails_its_crc_is_refused_at_that_byte():
    content = bytearray(png_card(card("v2_lorebook")))
    at = content.index(b"tEXt")
    content[at + 10] ^= 0xFF
    error = refused(bytes(content))
    assert "CRC" in error.message and error.byte == at - 4


@pytest.mark.parametrize("document, field", [
    ({"spec": "lorebook_v3", "data": {"entries": []}}, "spec"),
    ({"title": "a shopping list", "items": ["eggs"]}, "spec"),
    ({"spec": "chara_card_v2", "spec_version": "2.0", "data": "nope"}, "data"),
    ({"spec": "chara_card_v2", "data": {"name": 7}}, "data.name"),
    ({"spec": "chara_card_v2", "data": {"name": "A", "alternate_greetings": [1]}}, "data.alternate_greetings[0]"),
    ({"spec": "chara_card_v2", "data": {"name": "A", "description": "bad \u0000 byte"}}, "data.description"),
    ({"spec": "chara_card_v3", "data": {"name": "A", "assets": [{"type": "icon", "uri": "data:image/png;base64," + "A" * (MAX_ASSET_BYTES * 4 // 3 + 8)}]}},
     "data.assets[0].uri"),
])
def test_json_that_is_no_card_or_a_bad_field_is_refused_naming_the_field(document, field):
    assert refused(card_bytes(document)).field == field


def test_a_json_array_is_no_card():
    error = refused(b'[{"name": "A"}]')
    assert "JSON object" in error.message


def test_a_lone_surrogate_is_refused_naming_the_field():
    assert refused(b'{"name": "A", "description": "x\\ud800y"}').field == "description"


def test_a_card_of_ten_megabytes_is_refused_before_it_is_parsed():
    document = card("v1_six_fields")
    document["description"] = "x" * (10 * 1024 * 1024)
    error = refused(card_bytes(document))
    assert error.field == "file" and f"at most {MAX_FILE_BYTES:,}" in error.message


def test_a_lorebook_of_ten_thousand_entries_is_refused():
    document = card("v2_lorebook")
    document["data"]["character_book"]["entries"] = [{"keys": [f"k{i}"], "content": "c", "enabled": True, "insertion_order": i}
                                                     for i in range(10_000)]
    error = refused(card_bytes(document))
    assert error.field == "data.character_book.entries" and "10,000 entries" in error.message


@pytest.mark.parametrize("pattern", ["(a+)+$", "(x+x+)+y", "^(\\w+\\s?)*$"])
def test_a_regex_key_that_backtracks_is_refused_naming_the_key(pattern):
    document = card("v3_assets")
    document["data"]["character_book"]["entries"][1]["keys"] = ["tram", pattern]
    error = refused(card_bytes(document))
    assert error.field == "data.character_book.entries[1].keys[1]" and "backtracks" in error.message


def test_an_invalid_regex_key_is_refused_naming_the_key():
    document = card("v3_assets")
    document["data"]["character_book"]["entries"][1]["keys"] = ["tram(("]
    assert refused(card_bytes(document)).field == "data.character_book.entries[1].keys[0]"


def test_a_charx_without_card_json_is_refused():
    error = refused(charx(None, {"assets/icon/images/main.png": tiny_png()}))
    assert error.field == "charx.card.json" and "no card.json" in error.message


def test_a_charx_with_an_oversized_asset_is_refused_naming_the_asset():
    error = refused(charx(card("v3_assets"), {"assets/other/big.bin": b"\0" * (MAX_ASSET_BYTES + 1),
                                             "assets/icon/images/main.png": tiny_png(), "assets/background/images/rua.png": tiny_png()}))
    assert error.field == "charx.assets/other/big.bin" and "at most" in error.message


def test_a_charx_that_lies_about_its_sizes_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", card_bytes(card("v1_six_fields")))
        archive.writestr("assets/x.png", b"\0" * (MAX_ASSET_BYTES + 10))
    data = bytearray(buffer.getvalue())
    struct.pack_into("<I", data, data.rindex(b"PK\x01\x02") + 24, 10)  # the last member's size, as the central directory says it
    error = refused(bytes(data))
    assert "damaged" in error.message or "assets/x.png" in error.field


def test_random_bytes_are_no_card():
    error = refused(b"GIF89a\x01\x00")
    assert error.field == "file" and error.byte == 0


# --- writing --------------------------------------------------------------------------------------


def test_a_written_png_reads_back_the_same_cards_and_keeps_the_picture():
    v3 = card_document("v3", read_card(card_bytes(card("v3_assets"))).data)
    image = tiny_png((1, 2, 3))
    written = png_with_cards(image, {"ccv3": v3, "chara": v2_backfill(v3)})
    assert png_card_json(written, "ccv3") == v3
    backfill = png_card_json(written, "chara")
    assert backfill["spec"] == "chara_card_v2" and backfill["data"]["creator_notes"].startswith("This character card is Character Card V3")
    assert read_card(written).document == v3  # ccv3 wins
    assert without_cards(written) == image and set(png_text_chunks(without_cards(written))) == set()


def test_writing_a_png_replaces_the_cards_it_had():
    old = png_card(card("v2_lorebook"))
    new = png_with_cards(old, {"chara": card_document("v2", {"name": "Someone else"})})
    assert list(png_text_chunks(new)) == ["chara"] and png_card_json(new, "chara")["data"]["name"] == "Someone else"


def test_a_written_charx_reads_back_with_its_assets():
    document = card_document("v3", read_card(card_bytes(card("v3_assets"))).data)
    assets = {"assets/icon/images/main.png": tiny_png(), "assets/background/images/rua.png": tiny_png((9, 9, 9))}
    parsed = read_card(charx_with_card(document, assets))
    assert parsed.document == document and parsed.assets == assets


def test_the_placeholder_avatar_is_a_valid_png_of_the_asked_size_and_depends_on_its_seed():
    image = placeholder_png("persona-1", size=16)
    chunks = png_chunks(image)
    assert [kind for _, kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour = struct.unpack(">IIBB", chunks[0][2][:10])
    assert (width, height, depth, colour) == (16, 16, 8, 2)
    assert len(zlib.decompress(chunks[1][2])) == 16 * (1 + 16 * 3)
    assert placeholder_png("persona-1", size=16) == image != placeholder_png("persona-2", size=16)


def test_v2_documents_have_the_v2_fields_and_v3_documents_the_v3_ones():
    v2 = card_document("v2", {"name": "A"})
    assert (v2["spec"], v2["spec_version"]) == ("chara_card_v2", "2.0")
    assert set(v2["data"]) == {"name", "description", "personality", "scenario", "first_mes", "mes_example", "creator_notes",
                               "system_prompt", "post_history_instructions", "creator", "character_version",
                               "alternate_greetings", "tags", "extensions"}
    v3 = card_document("v3", {"name": "A", "source": ["x"]})
    assert (v3["spec"], v3["spec_version"]) == ("chara_card_v3", "3.0")
    assert {"group_only_greetings", "source", "assets", "creator_notes_multilingual"} <= set(v3["data"])
    assert json.loads(json.dumps(v3)) == v3
