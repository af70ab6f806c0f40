"""Character card fixtures for the tests: the JSON cards in tests/fixtures/cards (written for these tests from the
fields of character-card-spec-v2 and character-card-spec-v3, with quirks of cards in the wild: V1 with only its
six root fields, V2 with an empty `extensions`, V3 with assets and decorators), and their PNG and CHARX containers
built here with struct/zlib/zipfile — independently of personas.cards, whose reader they test."""

import base64
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures" / "cards"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def card(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def card_bytes(document: dict) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def tiny_png(rgb=(200, 40, 90), size: int = 4, extra: list[bytes] = ()) -> bytes:
    """A size×size RGB PNG of one colour, with `extra` chunks before IEND."""
    rows = b"".join(b"\0" + bytes(rgb) * size for _ in range(size))
    return (PNG_SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + b"".join(extra) + chunk(b"IEND", b""))


def text_chunk(keyword: str, text: bytes) -> bytes:
    return chunk(b"tEXt", keyword.encode("latin-1") + b"\0" + text)


def png_card(document: dict | None = None, keyword: str = "chara", *, also: dict[str, dict] | None = None, rgb=(200, 40, 90)) -> bytes:
    """A PNG carrying `document` base64-encoded in a tEXt chunk named `keyword` (and `also`: more such chunks)."""
    chunks = []
    for name, doc in {**({keyword: document} if document is not None else {}), **(also or {})}.items():
        chunks.append(text_chunk(name, base64.b64encode(card_bytes(doc))))
    return tiny_png(rgb, extra=chunks)


def charx(document: dict | None, assets: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if document is not None:
            archive.writestr("card.json", card_bytes(document))
        for path, content in (assets or {}).items():
            archive.writestr(path, content)
    return buffer.getvalue()


def v3_charx() -> bytes:
    """The V3 fixture with both of its embedded assets."""
    return charx(card("v3_assets"), {"assets/icon/images/main.png": tiny_png((10, 120, 200)),
                                     "assets/background/images/rua.png": tiny_png((240, 230, 200), size=8)})


def png_text_chunks(data: bytes) -> dict[str, bytes]:
    """{keyword: text} of a PNG's tEXt chunks (an independent reader, for the export tests)."""
    found, offset = {}, len(PNG_SIGNATURE)
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset:offset + 8])
        payload = data[offset + 8:offset + 8 + length]
        if kind == b"tEXt":
            keyword, _, text = payload.partition(b"\0")
            found[keyword.decode("latin-1")] = text
        offset += 12 + length
    return found


def png_card_json(data: bytes, keyword: str) -> dict:
    return json.loads(base64.b64decode(png_text_chunks(data)[keyword]))


@pytest.fixture
def import_card(owner_api, django_capture_on_commit_callbacks):
    """import_card(content, name) → the response of POST /v1/personas/import, the run executed inline."""

    def run(content: bytes, name: str = "card.json", client=None, **fields):
        upload = io.BytesIO(content)
        upload.name = name
        with django_capture_on_commit_callbacks(execute=True):
            return (client or owner_api).client.post("/v1/personas/import", {"file": upload, **fields})

    return run
