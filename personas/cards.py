"""Character Cards (V1, V2 `chara_card_v2`, V3 `chara_card_v3`) in and out of their containers. No Django.

Reading: `read_card(data)` takes the bytes of a JSON file, a PNG (a base64 JSON `tEXt` chunk: `ccv3` for V3, `chara`
for V2/V1; `ccv3` wins when both are there) or a CHARX zip (`card.json` at the root, assets beside it), detects
the container by its first bytes and the spec by the content, and returns a `Card` whose `data` holds every
standard field with the specification's defaults. Anything wrong raises `CardError` naming the field (a JSON
path such as `data.character_book.entries[3].keys[0]`) and, inside a file, the byte offset.

Writing: `card_document(spec, data)` is the JSON of a V2 or V3 card; `png_with_cards` puts cards in a PNG's
`tEXt` chunks (V3 with a V2 `chara` back-fill); `charx_with_card` zips a V3 card with its assets; and
`placeholder_png` draws an avatar for a persona that has none.

Specifications: github.com/malfoyslastname/character-card-spec-v2 (spec_v2.md) and
github.com/kwaroran/character-card-spec-v3 (SPEC_V3.md).
"""

import base64
import binascii
import hashlib
import io
import json
import struct
import time
import zipfile
import zlib
from dataclasses import dataclass, field

from personas.lorebook import pattern_problem

MAX_FILE_BYTES = 8 * 1024 * 1024  # a whole card file (JSON, PNG or CHARX)
MAX_JSON_BYTES = MAX_FILE_BYTES  # the card's JSON itself, decoded (V3 may carry assets in it as data: URLs)
MAX_ASSET_BYTES = 4 * 1024 * 1024  # one embedded asset (a CHARX member or a data: URL)
MAX_CHARX_BYTES = 32 * 1024 * 1024  # all of a CHARX's members, uncompressed (a zip bomb stops here)
MAX_CHARX_MEMBERS = 256
MAX_TEXT_CHARS = 100_000  # one text field
MAX_LIST_ITEMS = 200  # greetings, tags, sources, assets
MAX_LOREBOOK_ENTRIES = 2_000
MAX_ENTRY_KEYS = 100
MAX_KEY_CHARS = 500
MAX_REGEX_KEYS = 200  # regex keys in one lorebook (each is probed for backtracking at import)
REGEX_CHECK_BUDGET_S = 3.0  # all of a card's regex keys probed together

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
V2, V3 = "chara_card_v2", "chara_card_v3"
V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")
V2_TEXT = (*V1_FIELDS, "creator_notes", "system_prompt", "post_history_instructions", "creator", "character_version")
V3_TEXT = (*V2_TEXT, "nickname")
LISTS = ("alternate_greetings", "tags", "group_only_greetings", "source")
V3_BACKFILL_NOTE = ("This character card is Character Card V3, but it is loaded as a Character Card V2. "
                    "Please use a Character Card V3 compatible application to use this character card properly.")


class CardError(ValueError):
    """A card that cannot be read: `field` names where (a JSON path, or `file`), `byte` the offset in the file."""

    def __init__(self, message: str, *, field: str = "file", byte: int | None = None):
        super().__init__(message)
        self.message = message + (f" (byte {byte})" if byte is not None else "")
        self.field = field
        self.byte = byte


@dataclass
class Card:
    spec: str  # "v1" | "v2" | "v3"
    container: str  # "json" | "png" | "charx"
    document: dict  # the card's JSON as read
    data: dict  # every standard field, defaults filled in (V1's root fields moved under data)
    assets: dict[str, bytes] = field(default_factory=dict)  # a CHARX's members other than card.json, by path
    image: bytes | None = None  # the PNG the card came in, or a CHARX's main icon when it is a PNG

    @property
    def book(self) -> dict | None:
        return self.data.get("character_book")

    @property
    def studio(self) -> dict:
        """What Persona Studio wrote in `extensions.persona_studio` when it exported the card ({} otherwise)."""
        value = (self.data.get("extensions") or {}).get("persona_studio")
        return value if isinstance(value, dict) else {}


# --- reading -------------------------------------------------------------------------------------


def read_card(data: bytes) -> Card:
    if len(data) > MAX_FILE_BYTES:
        raise CardError(f"the file is {len(data):,} bytes; a card may be at most {MAX_FILE_BYTES:,}")
    if not data:
        raise CardError("the file is empty")
    if data.startswith(PNG_SIGNATURE):
        document, image = _png_document(data)
        return parse_document(document, container="png", image=image)
    if data.startswith(ZIP_SIGNATURE):
        return _charx_card(data)
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"{", b"[")):
        return parse_document(_json_object(data, where="file"), container="json")
    raise CardError("not a character card: expected JSON, a PNG or a CHARX (zip) file, "
                    f"the file starts with {data[:8]!r}", byte=0)


def _json_object(raw: bytes, *, where: str, byte: int | None = None) -> dict:
    if len(raw) > MAX_JSON_BYTES:
        raise CardError(f"the card's JSON is {len(raw):,} bytes; at most {MAX_JSON_BYTES:,}", field=where, byte=byte)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CardError(f"the card's JSON is not UTF-8 (at byte {exc.start} of it)", field=where, byte=byte) from None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CardError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno} (character {exc.pos})",
                        field=where, byte=byte) from None
    except RecursionError:
        raise CardError("the JSON nests too deeply", field=where, byte=byte) from None
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise CardError(f"not JSON that can be read: {exc}", field=where, byte=byte) from None
    if not isinstance(value, dict):
        raise CardError(f"a card is a JSON object, this is a JSON {type(value).__name__}", field=where, byte=byte)
    return value


def png_chunks(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """[(offset, type, payload)] of a PNG's chunks, each checked against its CRC."""
    chunks, offset = [], len(PNG_SIGNATURE)
    while offset < len(data):
        if offset + 8 > len(data):
            raise CardError("the PNG ends inside a chunk header", byte=offset)
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        end = offset + 12 + length
        if end > len(data):
            raise CardError(f"the PNG's {kind.decode('latin-1')!r} chunk runs past the end of the file", byte=offset)
        payload = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[end - 4 : end])
        if zlib.crc32(kind + payload) & 0xFFFFFFFF != crc:
            raise CardError(f"the PNG's {kind.decode('latin-1')!r} chunk fails its CRC check", byte=offset)
        chunks.append((offset, kind, payload))
        offset = end
        if kind == b"IEND":
            break
    return chunks


def _png_document(data: bytes) -> tuple[dict, bytes]:
    texts = {}
    for offset, kind, payload in png_chunks(data):
        if kind == b"tEXt":
            keyword, _, text = payload.partition(b"\0")
            texts.setdefault(keyword.decode("latin-1").lower(), (offset, text))
    chosen = next((name for name in ("ccv3", "chara") if name in texts), None)
    if chosen is None:
        raise CardError("the PNG has no card in it: no tEXt chunk named 'chara' (V2) or 'ccv3' (V3)")
    offset, text = texts[chosen]
    where = f"png.tEXt.{chosen}"
    compact = b"".join(text.split())
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        bad = next((i for i, ch in enumerate(compact) if chr(ch) not in
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="), None)
        detail = f"character {bad} is {chr(compact[bad])!r}" if bad is not None else "its length or padding is wrong"
        raise CardError(f"the '{chosen}' chunk is not base64 ({detail})", field=where, byte=offset) from None
    return _json_object(raw, where=where, byte=offset), data


def _charx_card(data: bytes) -> Card:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, struct.error) as exc:
        raise CardError(f"not a readable CHARX (zip) file: {exc}") from None
    if len(members) > MAX_CHARX_MEMBERS:
        raise CardError(f"the CHARX holds {len(members)} files; at most {MAX_CHARX_MEMBERS}")
    if any(m.flag_bits & 0x1 for m in members):
        raise CardError("the CHARX is encrypted")
    total = 0
    for member in members:
        if member.filename != "card.json" and member.file_size > MAX_ASSET_BYTES:
            raise CardError(f"asset {member.filename!r} is {member.file_size:,} bytes; an asset may be at most {MAX_ASSET_BYTES:,}",
                            field=f"charx.{member.filename}", byte=member.header_offset)
        total += member.file_size
    if total > MAX_CHARX_BYTES:
        raise CardError(f"the CHARX unpacks to {total:,} bytes; at most {MAX_CHARX_BYTES:,}")
    names = {m.filename: m for m in members}
    if "card.json" not in names:
        raise CardError("the CHARX has no card.json at its root", field="charx.card.json")
    try:
        document = _json_object(_read_member(archive, names["card.json"], MAX_JSON_BYTES), where="charx.card.json")
        assets = {m.filename: _read_member(archive, m, MAX_ASSET_BYTES) for m in members
                  if m.filename != "card.json" and not m.is_dir()}
    except CardError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, OSError, ValueError, struct.error) as exc:
        raise CardError(f"the CHARX is damaged: {exc}") from None
    card = parse_document(document, container="charx", assets=assets)
    card.image = _main_icon(card)
    return card


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, stopped at `limit` whatever its header claims (a zip may lie about its sizes)."""
    with archive.open(member) as handle:
        content = handle.read(limit + 1)
    if len(content) > limit:
        raise CardError(f"{member.filename!r} unpacks to more than {limit:,} bytes", field=f"charx.{member.filename}",
                        byte=member.header_offset)
    return content


def _main_icon(card: Card) -> bytes | None:
    for asset in card.data.get("assets") or []:
        uri = asset.get("uri", "")
        if asset.get("type") == "icon" and asset.get("name") == "main" and uri.startswith("embeded://"):
            content = card.assets.get(uri.removeprefix("embeded://"))
            return content if content and content.startswith(PNG_SIGNATURE) else None
    return None


# --- the card's fields ---------------------------------------------------------------------------


def detect_spec(document: dict) -> str:
    spec = document.get("spec")
    if spec == V3:
        return "v3"
    if spec == V2:
        return "v2"
    if spec is not None:
        raise CardError(f"spec {spec!r} is not a character card (expected {V2!r} or {V3!r})", field="spec")
    if isinstance(document.get("name"), str) and any(isinstance(document.get(f), str) for f in V1_FIELDS[1:]):
        return "v1"
    raise CardError(f"this JSON is no character card: no 'spec' ({V2!r} or {V3!r}) and not the V1 fields "
                    f"({', '.join(V1_FIELDS)})", field="spec")


def parse_document(document: dict, *, container: str = "json", assets: dict | None = None, image: bytes | None = None) -> Card:
    """A card's JSON, checked field by field: every standard field present with its default when it was missing."""
    _check_text(document, "")
    spec = detect_spec(document)
    if spec == "v1":
        source, prefix = document, ""
    else:
        source, prefix = document.get("data"), "data."
        if not isinstance(source, dict):
            raise CardError("a V2/V3 card keeps its fields in a 'data' object", field="data")
    data: dict = {}
    for name in V3_TEXT if spec == "v3" else V2_TEXT:
        data[name] = _text(source.get(name), f"{prefix}{name}")
    for name in LISTS:
        if spec == "v3" or name in ("alternate_greetings", "tags"):
            data[name] = _texts(source.get(name), f"{prefix}{name}")
    extensions = source.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise CardError("extensions must be an object", field=f"{prefix}extensions")
    data["extensions"] = extensions or {}  # V2 cards in the wild carry {} or null here
    if source.get("character_book") is not None:
        data["character_book"] = _book(source["character_book"], f"{prefix}character_book")
    if spec == "v3":
        data["creator_notes_multilingual"] = _notes(source.get("creator_notes_multilingual"), f"{prefix}creator_notes_multilingual")
        data["assets"] = _assets(source.get("assets"), f"{prefix}assets", assets or {})
        for name in ("creation_date", "modification_date"):
            if source.get(name) is not None:
                data[name] = _number(source.get(name), f"{prefix}{name}")
    return Card(spec=spec, container=container, document=document, data=data, assets=assets or {}, image=image)


def _check_text(value, where: str) -> None:
    """No NUL and no lone surrogate anywhere in the document (keys included): neither can be stored or shown."""
    stack = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, inner in item.items():
                here = f"{path}.{key}" if path else str(key)
                _check_string(str(key), here)
                stack.append((inner, here))
        elif isinstance(item, list):
            stack.extend((inner, f"{path}[{i}]") for i, inner in enumerate(item))
        elif isinstance(item, str):
            _check_string(item, path)


def _check_string(text: str, where: str) -> None:
    if "\0" in text:
        raise CardError(f"contains a NUL character at position {text.index(chr(0))}", field=where or "card")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CardError(f"contains a lone UTF-16 surrogate at position {exc.start}", field=where or "card") from None


def _text(value, where: str, limit: int = MAX_TEXT_CHARS) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CardError(f"must be text, not {type(value).__name__}", field=where)
    if len(value) > limit:
        raise CardError(f"is {len(value):,} characters; at most {limit:,}", field=where)
    return value


def _texts(value, where: str, limit: int = MAX_LIST_ITEMS) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):  # some V2 writers put one comma-separated string here
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list):
        raise CardError(f"must be a list of text, not {type(value).__name__}", field=where)
    if len(value) > limit:
        raise CardError(f"has {len(value):,} items; at most {limit:,}", field=where)
    return [_text(item, f"{where}[{i}]") for i, item in enumerate(value)]


def _number(value, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CardError(f"must be a number, not {type(value).__name__}", field=where)
    return value


def _notes(value, where: str) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise CardError("must be an object of language code → text", field=where)
    return {str(k): _text(v, f"{where}.{k}") for k, v in value.items()}


def _assets(value, where: str, embedded: dict) -> list[dict]:
    if value is None:
        return [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}]  # V3's default
    if not isinstance(value, list) or len(value) > MAX_LIST_ITEMS:
        raise CardError(f"must be a list of at most {MAX_LIST_ITEMS} assets", field=where)
    assets = []
    for i, asset in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(asset, dict):
            raise CardError("an asset is an object {type, uri, name, ext}", field=here)
        item = {name: _text(asset.get(name), f"{here}.{name}") for name in ("type", "name", "ext")}
        uri = item["uri"] = _text(asset.get("uri"), f"{here}.uri", limit=MAX_FILE_BYTES)  # a data: URL is the asset itself
        if uri.startswith("data:"):
            payload = uri.partition(",")[2]
            if len(payload) * 3 // 4 > MAX_ASSET_BYTES:
                raise CardError(f"the asset's data URL holds about {len(payload) * 3 // 4:,} bytes; an asset may be at most "
                                f"{MAX_ASSET_BYTES:,}", field=f"{here}.uri")
        elif uri.startswith("embeded://") and embedded and uri.removeprefix("embeded://") not in embedded:
            raise CardError(f"names {uri!r}, which the CHARX does not hold", field=f"{here}.uri")
        assets.append({**asset, **item})
    return assets


def _book(value, where: str) -> dict:
    if not isinstance(value, dict):
        raise CardError("a lorebook is an object with 'entries'", field=where)
    entries = value.get("entries")
    if not isinstance(entries, list):
        raise CardError("must be a list", field=f"{where}.entries")
    if len(entries) > MAX_LOREBOOK_ENTRIES:
        raise CardError(f"the lorebook has {len(entries):,} entries; at most {MAX_LOREBOOK_ENTRIES:,}", field=f"{where}.entries")
    book = {k: v for k, v in value.items() if k != "entries"}
    for name in ("scan_depth", "token_budget"):
        if book.get(name) is not None:
            _number(book[name], f"{where}.{name}")
    regex_keys = sum(len(e.get("keys") or []) for e in entries if isinstance(e, dict) and e.get("use_regex") is True)
    if regex_keys > MAX_REGEX_KEYS:
        raise CardError(f"the lorebook has {regex_keys:,} regex keys; at most {MAX_REGEX_KEYS}", field=f"{where}.entries")
    deadline = time.monotonic() + REGEX_CHECK_BUDGET_S
    book["entries"] = [_entry(entry, f"{where}.entries[{i}]", deadline) for i, entry in enumerate(entries)]
    return book


def _entry(entry, where: str, deadline: float) -> dict:
    if not isinstance(entry, dict):
        raise CardError("a lorebook entry is an object", field=where)
    keys = _texts(entry.get("keys"), f"{where}.keys", MAX_ENTRY_KEYS)
    secondary = _texts(entry.get("secondary_keys"), f"{where}.secondary_keys", MAX_ENTRY_KEYS)
    for name, values in (("keys", keys), ("secondary_keys", secondary)):
        for i, key in enumerate(values):
            if len(key) > MAX_KEY_CHARS:
                raise CardError(f"is {len(key):,} characters; a key may be at most {MAX_KEY_CHARS}", field=f"{where}.{name}[{i}]")
    flags = {}
    for name in ("enabled", "case_sensitive", "use_regex", "constant", "selective"):
        if entry.get(name) is not None and not isinstance(entry[name], bool):
            raise CardError(f"must be true or false, not {type(entry[name]).__name__}", field=f"{where}.{name}")
        flags[name] = entry.get(name)
    if flags["use_regex"]:
        for i, key in enumerate(keys):
            if time.monotonic() > deadline:
                raise CardError(f"checking the lorebook's regex keys took over {REGEX_CHECK_BUDGET_S:g} s; this key was not reached",
                                field=f"{where}.keys[{i}]")
            if problem := pattern_problem(key, case_sensitive=bool(flags["case_sensitive"])):
                raise CardError(f"regex key {key[:80]!r} is {problem}", field=f"{where}.keys[{i}]")
    for name in ("insertion_order", "priority"):
        if entry.get(name) is not None:
            _number(entry[name], f"{where}.{name}")
    return {
        **entry, "keys": keys, "secondary_keys": secondary, "content": _text(entry.get("content"), f"{where}.content"),
        "enabled": flags["enabled"] is not False, "insertion_order": entry.get("insertion_order") or 0,
    }


# --- writing -------------------------------------------------------------------------------------


def card_document(spec: str, data: dict) -> dict:
    """A V2 or V3 card with `data`'s fields (the spec's fields, missing ones at their defaults)."""
    if spec == "v3":
        body = {name: data.get(name, "") for name in V3_TEXT if name != "nickname" or data.get("nickname")}
        body.update({name: list(data.get(name) or []) for name in LISTS})
        body["creator_notes_multilingual"] = dict(data.get("creator_notes_multilingual") or {})
        body["assets"] = list(data.get("assets") or [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}])
        for name in ("creation_date", "modification_date"):
            if data.get(name) is not None:
                body[name] = data[name]
        kind, version = V3, "3.0"
    else:
        body = {name: data.get(name, "") for name in V2_TEXT}
        body.update({name: list(data.get(name) or []) for name in ("alternate_greetings", "tags")})
        kind, version = V2, "2.0"
    body["extensions"] = dict(data.get("extensions") or {})
    if data.get("character_book") is not None:
        body["character_book"] = data["character_book"]
    return {"spec": kind, "spec_version": version, "data": body}


def v2_backfill(v3_document: dict) -> dict:
    """The V2 card written beside a V3 one in a PNG's `chara` chunk, with the specification's warning."""
    data = dict(v3_document["data"])
    data["creator_notes"] = f"{V3_BACKFILL_NOTE}\n\n{data.get('creator_notes', '')}".strip()
    return card_document("v2", data)


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def _encoded(document: dict) -> bytes:
    return base64.b64encode(json.dumps(document, ensure_ascii=False).encode("utf-8"))


def png_with_cards(image: bytes, cards: dict[str, dict]) -> bytes:
    """`image` with `cards` ({"chara": V2 card, "ccv3": V3 card}) as base64 JSON tEXt chunks before IEND; any card
    chunks it had are replaced."""
    out = [PNG_SIGNATURE]
    for _, kind, payload in png_chunks(image):
        if kind == b"tEXt" and payload.partition(b"\0")[0].lower() in (b"chara", b"ccv3"):
            continue
        if kind == b"IEND":
            out += [_chunk(b"tEXt", name.encode("latin-1") + b"\0" + _encoded(doc)) for name, doc in cards.items()]
        out.append(_chunk(kind, payload))
    return b"".join(out)


def charx_with_card(document: dict, assets: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("card.json", json.dumps(document, ensure_ascii=False, indent=2))
        for path, content in sorted(assets.items()):
            archive.writestr(path, content)
    return buffer.getvalue()


def placeholder_png(seed: str, size: int = 128) -> bytes:
    """A square avatar in two colours taken from `seed` (a diagonal split), for a persona without a picture."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    first, second = digest[:3], bytes(255 - b // 2 for b in digest[3:6])
    rows = b"".join(b"\0" + b"".join(first if x + y < size else second for x in range(size)) for y in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows, 9)) + _chunk(b"IEND", b"")


def without_cards(image: bytes) -> bytes:
    """The PNG with its card chunks taken out: the picture alone (kept as the persona's avatar)."""
    return png_with_cards(image, {})
