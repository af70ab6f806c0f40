"""Persona edits: a validated layer change makes a new version; an earlier version can be restored as a new one."""

from difflib import SequenceMatcher

from django.db import transaction
from pydantic import ValidationError

from personas.layers import LAYERS, validate_layer
from personas.models import Persona, PersonaStatus, PersonaVersion
from personas.naming import unique_name
from personas.signals import persona_version_saved
from studio.errors import Conflict, Invalid, NotFound
from studio.principal import Principal


def _validated(layer: str, data) -> dict:
    try:
        return validate_layer(layer, data).model_dump()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in (layer, *first["loc"]))
        raise Invalid(f"{where}: {first['msg']}", field=where) from None


def persona_name_free(*, organization, name: str, exclude: Persona | None = None) -> str:
    """`name`, or its first variant (personas.naming) that no other persona of the organization uses."""
    words = name.split()
    others = Persona.objects.filter(organization=organization, name__istartswith=words[0] if words else "")
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    return unique_name(name, {other.casefold() for other in others.values_list("name", flat=True)})


@transaction.atomic
def persona_update(*, principal: Principal, persona: Persona, layers: dict | None = None, name: str | None = None, note: str = "") -> Persona:
    persona = Persona.objects.select_for_update().get(pk=persona.pk)
    if persona.status == PersonaStatus.GENERATING or persona.current_version is None:
        raise Conflict("this persona has no layers yet: wait for its generation to finish")
    if name is not None:
        name = " ".join(name.split())  # as unique_name compares it: "Rui  Sousa" is not another persona's name
        if not name or len(name) > 120:
            raise Invalid("name must be 1–120 characters", field="name")
        if persona_name_free(organization=persona.organization, name=name, exclude=persona) != name:
            raise Invalid(f"name {name!r} is already used by another persona of this organization", field="name")
        persona.name = name
    if layers:
        unknown = set(layers) - set(LAYERS)
        if unknown:
            raise Invalid(f"unknown layer(s): {', '.join(sorted(unknown))}; layers are {', '.join(LAYERS)}", field="layers")
        current = persona.current_version
        merged = {**current.layers, **{name: _validated(name, data) for name, data in layers.items()}}
        version = PersonaVersion.objects.create(
            persona=persona, number=persona.next_version_number(),
            intent=current.intent, soul=merged["soul"], self_layer=merged["self"], mask=merged["mask"],
            surface=merged["surface"], audit=None, source=PersonaVersion.Source.EDIT, note=note[:200] or "edited",
            created_by=principal.user,
        )
        persona.current_version = version
        _announce(persona, version, principal)
    persona.save()
    return persona


def _announce(persona: Persona, version: PersonaVersion, principal: Principal) -> None:
    """After commit, apps built on personas hear of the new version (the pipeline audits it when the config says so)."""
    transaction.on_commit(lambda: persona_version_saved.send(sender=Persona, persona=persona, version=version, principal=principal))


@transaction.atomic
def persona_version_restore(*, principal: Principal, persona: Persona, number) -> Persona:
    """Version `number`'s layers saved again as a new version (nothing is rewritten: the history only grows)."""
    persona = Persona.objects.select_for_update().get(pk=persona.pk)
    try:
        old = persona.versions.get(number=int(number))
    except (PersonaVersion.DoesNotExist, TypeError, ValueError):
        raise NotFound(f"this persona has no version {number}", field="version") from None
    current = persona.current_version
    if current is None or persona.status == PersonaStatus.GENERATING:
        raise Conflict("this persona has no layers yet: wait for its generation to finish")
    if old.pk == current.pk:
        raise Conflict(f"version {old.number} is already the current version", field="version")
    version = PersonaVersion.objects.create(
        persona=persona, number=persona.next_version_number(), intent=old.intent, soul=old.soul, self_layer=old.self_layer,
        mask=old.mask, surface=old.surface, audit=None, source=PersonaVersion.Source.RESTORE,
        note=f"restored from v{old.number}", created_by=principal.user,
    )
    persona.current_version = version
    persona.save()
    _announce(persona, version, principal)
    return persona


def version_diff(old: PersonaVersion, new: PersonaVersion) -> list[dict]:
    """Field-level changes between two versions: [{layer, field, label, old, new, kind, items?}]. A list field's change
    also lists its items in order, each "kept", "added" or "removed" (what a reader wants, not two list reprs)."""
    changes = []
    for layer in LAYERS:
        before, after = _flatten(old.layers[layer]), _flatten(new.layers[layer])
        for field in sorted(before.keys() | after.keys()):
            if before.get(field) != after.get(field):
                change = {"layer": layer, "field": field, "label": field.rsplit(".", 1)[-1].replace("_", " ").capitalize(),
                          "old": before.get(field), "new": after.get(field), "kind": "value"}
                if isinstance(change["old"], list) or isinstance(change["new"], list):
                    change.update(kind="list", items=list_changes(change["old"] or [], change["new"] or []))
                changes.append(change)
    return changes


def list_changes(old: list, new: list) -> list[dict]:
    """The items of two versions of a list, in the new order, with the removed ones where they stood: [{op, text}]."""
    old_text, new_text = [str(item) for item in old], [str(item) for item in new]
    items = []
    for op, i1, i2, j1, j2 in SequenceMatcher(a=old_text, b=new_text, autojunk=False).get_opcodes():
        if op == "equal":
            items += [{"op": "kept", "text": text} for text in new_text[j1:j2]]
            continue
        items += [{"op": "removed", "text": text} for text in old_text[i1:i2]]
        items += [{"op": "added", "text": text} for text in new_text[j1:j2]]
    moved = {item["text"] for item in items if item["op"] == "added"} & {item["text"] for item in items if item["op"] == "removed"}
    for item in items:  # the same text removed in one place and added in another: it moved
        if item["text"] in moved:
            item["op"] = "moved from" if item["op"] == "removed" else "moved to"
    return items


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for key, inner in value.items():
            out.update(_flatten(inner, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}
