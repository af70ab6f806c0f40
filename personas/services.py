"""Persona edits: a validated layer change makes a new version."""

from django.db import transaction
from pydantic import ValidationError

from personas.layers import LAYERS, validate_layer
from personas.models import Persona, PersonaStatus, PersonaVersion
from personas.naming import unique_name
from studio.errors import Conflict, Invalid
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
    persona.save()
    return persona


def version_diff(old: PersonaVersion, new: PersonaVersion) -> list[dict]:
    """Field-level changes between two versions: [{layer, field, old, new}]."""
    changes = []
    for layer in LAYERS:
        before, after = _flatten(old.layers[layer]), _flatten(new.layers[layer])
        for field in sorted(before.keys() | after.keys()):
            if before.get(field) != after.get(field):
                changes.append({"layer": layer, "field": field, "old": before.get(field), "new": after.get(field)})
    return changes


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for key, inner in value.items():
            out.update(_flatten(inner, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): value}
