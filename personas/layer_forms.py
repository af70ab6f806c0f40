"""The persona layers as forms (issue 18): the fields each layer's schema has, ready for a template, and the form's
values back as a layer document. Pure: no Django (a form is anything with get(name) and getlist(name)).

Field names are the layer's paths: `desire`, `big_five.openness`, `voice.register`; a list field repeats its name
(`values`, `signature_phrases`) once per item, in order.
"""

from typing import Literal, get_args, get_origin

from pydantic import BaseModel, ValidationError

from personas.layers import LAYERS

LONG_TEXT = 200  # a text field allowed more than this many characters is a textarea


def _bound(field, kind):
    return next((getattr(m, kind) for m in field.metadata if hasattr(m, kind)), None)


def _kind(field) -> str:
    annotation = field.annotation
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "group"
    if get_origin(annotation) is list:
        return "list"
    if get_origin(annotation) is Literal:
        return "choice"
    if annotation is float and _bound(field, "ge") == 0 and _bound(field, "le") == 1:
        return "unit"
    if annotation is int:
        return "int"
    return "textarea" if (_bound(field, "max_length") or 0) > LONG_TEXT else "text"


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def form_fields(layer: str, data: dict | None, errors: dict[str, str] | None = None) -> list[dict]:
    """The layer's fields in schema order: {name, label, kind, value, error, …} (a group has `fields`)."""
    return _fields(LAYERS[layer], data or {}, errors or {}, "")


def _fields(model: type[BaseModel], data: dict, errors: dict[str, str], prefix: str) -> list[dict]:
    fields = []
    for name, field in model.model_fields.items():
        path, kind, value = prefix + name, _kind(field), data.get(name) if isinstance(data, dict) else None
        entry = {"name": path, "label": _label(name), "kind": kind, "value": value, "error": errors.get(path, "")}
        if kind == "group":
            entry["fields"] = _fields(field.annotation, value if isinstance(value, dict) else {}, errors, f"{path}.")
        elif kind == "list":
            entry.update(value=[str(v) for v in value] if isinstance(value, list) else [],
                         min=_bound(field, "min_length"), max=_bound(field, "max_length"))
        elif kind == "choice":
            entry["choices"] = get_args(field.annotation)
        elif kind in ("int", "unit"):
            entry.update(min=_bound(field, "ge"), max=_bound(field, "le"))
        else:
            entry["max_length"] = _bound(field, "max_length")
        fields.append(entry)
    return fields


def layer_from_form(layer: str, form) -> dict:
    """The form's values as the layer's document (texts stripped, empty list items dropped); not yet validated."""
    return _values(LAYERS[layer], form, "")


def _values(model: type[BaseModel], form, prefix: str) -> dict:
    document = {}
    for name, field in model.model_fields.items():
        path, kind = prefix + name, _kind(field)
        if kind == "group":
            document[name] = _values(field.annotation, form, f"{path}.")
        elif kind == "list":
            document[name] = [item.strip() for item in form.getlist(path) if item.strip()]
        else:
            document[name] = (form.get(path) or "").strip()
    return document


def layer_errors(layer: str, document: dict) -> dict[str, str]:
    """Every problem of the document, by field path (`values`, `big_five.openness`): empty when it is valid."""
    try:
        LAYERS[layer].model_validate(document)
    except ValidationError as exc:
        return _by_field(exc)
    return {}


def _by_field(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        names = [str(part) for part in error["loc"] if not isinstance(part, int)]
        items = [part for part in error["loc"] if isinstance(part, int)]
        message = _readable(error)
        if items:
            message = f"item {items[0] + 1}: {message}"
        errors.setdefault(".".join(names) or "__root__", message)
    return errors


def _readable(error: dict) -> str:
    """pydantic's message in the words of a form ("at least 3 characters", "a number from 0 to 1")."""
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "string_too_short":
        return "required" if ctx.get("min_length") and error.get("input") == "" else f"at least {ctx['min_length']} characters"
    if kind == "string_too_long":
        return f"at most {ctx['max_length']} characters"
    if kind == "too_short":
        return f"at least {ctx['min_length']} items"
    if kind == "too_long":
        return f"at most {ctx['max_length']} items"
    if kind in ("float_parsing", "float_type", "int_parsing", "int_type", "int_from_float"):
        return "required" if error.get("input") == "" else "must be a whole number" if kind.startswith("int") else "must be a number"
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{error['msg'].replace('Input should be', 'must be')}"
    if kind == "literal_error":
        return "pick one of " + str(ctx.get("expected", "")).replace("'", "")
    return error["msg"]

