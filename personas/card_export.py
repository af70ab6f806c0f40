"""A persona as a character card (V2 or V3; JSON, PNG or CHARX).

The standard fields are written from the layers (personas.card_layers.card_fields); a persona imported from a card
keeps the rest of its card (lorebook, tags, creator, greetings, assets, sources). `extensions.persona_studio` holds
the four layers, the constitution and the version, so the studio reads the persona back exactly. The constitution
comes from the app that owns it (training_jobs registers `register_constitution_source` from its AppConfig.ready();
personas never imports it); without one the system prompt is the persona's own (personas.prompting).
"""

import base64
import json
import mimetypes
import time
from dataclasses import dataclass
from typing import Callable

from personas.card_layers import STUDIO_EXTENSION, card_fields, studio_extension
from personas.cards import card_document, charx_with_card, png_with_cards, placeholder_png, read_card, v2_backfill
from personas.models import Persona, PersonaCard
from personas.prompting import persona_system_prompt
from studio.errors import Conflict, Invalid

SPECS = ("v2", "v3")
FORMATS = {"json": "application/json", "png": "image/png", "charx": "application/zip"}
ConstitutionSource = Callable[[Persona], dict | None]  # -> {"document": …, "system_prompt": …} or None
_constitution_sources: list[ConstitutionSource] = []


def register_constitution_source(source: ConstitutionSource) -> None:
    if source not in _constitution_sources:
        _constitution_sources.append(source)


def persona_constitution(persona: Persona) -> dict | None:
    """The first registered source's constitution of the persona (training_jobs registers one; personas cannot import it)."""
    return next((found for source in _constitution_sources if (found := source(persona))), None)


@dataclass(frozen=True)
class CardFile:
    content: bytes
    content_type: str
    file_name: str


def _imported(persona: Persona) -> PersonaCard | None:
    try:
        return persona.card
    except PersonaCard.DoesNotExist:
        return None


def persona_card_document(*, persona: Persona, spec: str, url: str) -> dict:
    """The card's JSON: the imported card's fields (if any) under the ones written from the layers."""
    if spec not in SPECS:
        raise Invalid(f"spec must be one of {', '.join(SPECS)}", field="spec")
    version = persona.current_version
    if version is None:
        raise Conflict("this persona has no layers yet: wait for its generation to finish")
    constitution = persona_constitution(persona)
    system_prompt = constitution["system_prompt"] if constitution else persona_system_prompt(version.layers)
    imported = _imported(persona)
    data = dict(imported.data) if imported else {}
    data.update(card_fields(version.layers, system_prompt=system_prompt))
    for kept in ("scenario", "alternate_greetings"):  # the card's own, where it had them: the layers do not hold these
        if imported and imported.data.get(kept):
            data[kept] = imported.data[kept]
    data["extensions"] = {**(data.get("extensions") or {}), STUDIO_EXTENSION: studio_extension(
        layers=version.layers, version=version.number, constitution=constitution["document"] if constitution else None,
        persona_id=str(persona.public_id), url=url,
    )}
    data["creator_notes"] = data.get("creator_notes") or f"Exported from Persona Studio: {url}"
    if spec == "v3":
        sources = [s for s in data.get("source") or [] if s != url]
        data["source"] = [*sources, url]  # appended, never replacing what the card already named
        data.setdefault("creation_date", int(persona.created_at.timestamp()))
        data["modification_date"] = int(time.time())
    return card_document(spec, data)


def persona_card_export(*, persona: Persona, spec: str, fmt: str, url: str) -> CardFile:
    if fmt not in FORMATS:
        raise Invalid(f"format must be one of {', '.join(FORMATS)}", field="format")
    if fmt == "charx" and spec != "v3":
        raise Invalid("a CHARX holds a V3 card: ask for spec=v3", field="spec")
    document = persona_card_document(persona=persona, spec=spec, url=url)
    stem = f"{(persona.name or 'persona').replace(' ', '_')}-v{persona.current_version.number}"
    imported = _imported(persona)
    if fmt != "charx":  # no zip to carry a CHARX's files: they travel inside the card as data: URIs (V3 allows them)
        inline_assets(document, imported_assets(imported))
    if fmt == "json":
        return CardFile(json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8"), FORMATS[fmt], f"{stem}.json")
    avatar = bytes(imported.avatar) if imported and imported.avatar else placeholder_png(str(persona.public_id))
    if fmt == "png":
        cards = {"ccv3": document, "chara": v2_backfill(document)} if spec == "v3" else {"chara": document}
        return CardFile(png_with_cards(avatar, cards), FORMATS[fmt], f"{stem}.png")
    assets = dict(imported_assets(imported))
    document["data"]["assets"] = [a for a in document["data"].get("assets") or [] if a.get("uri") != "ccdefault:"
                                  and not (a.get("type") == "icon" and a.get("name") == "main")]
    document["data"]["assets"].insert(0, {"type": "icon", "uri": "embeded://assets/icon/images/main.png", "name": "main", "ext": "png"})
    assets["assets/icon/images/main.png"] = avatar
    return CardFile(charx_with_card(document, assets), FORMATS[fmt], f"{stem}.charx")


def inline_assets(document: dict, assets: dict[str, bytes]) -> None:
    """Rewrite `embeded://path` asset URIs as `data:` URIs holding the files; one whose file is missing is dropped."""
    listed = document["data"].get("assets")
    if not listed:
        return
    kept = []
    for asset in listed:
        uri = asset.get("uri") or ""
        if uri.startswith("embeded://"):
            content = assets.get(uri.removeprefix("embeded://"))
            if content is None:
                continue
            mime = mimetypes.guess_type(f"asset.{asset.get('ext') or 'bin'}")[0] or "application/octet-stream"
            asset = {**asset, "uri": f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"}
        kept.append(asset)
    document["data"]["assets"] = kept


def imported_assets(imported: PersonaCard | None) -> dict[str, bytes]:
    """The assets an imported CHARX carried (read again from the file kept unchanged)."""
    if imported is None or imported.container != "charx":
        return {}
    return read_card(bytes(imported.original)).assets
