"""Display helpers for config values in templates."""

import json

from django import template

register = template.Library()


@register.filter
def config_text(value) -> str:
    """A value as the text its form field takes (and parse_text reads back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


@register.filter
def config_json(value) -> str:
    """A history or diff value; — where the key had no value at that scope."""
    return "—" if value is None else json.dumps(value)


@register.simple_tag
def config_editable(item, workspace, can_write, is_admin) -> bool:
    """Whether this viewer may edit the row here: a lock bars workspaces, and non-admins at org scope."""
    if not can_write:
        return False
    return not item.locked or (workspace is None and is_admin)


@register.filter
def key_breaks(key) -> str:
    """A dotted key that wraps only after its dots ("engine.pipeline.<wbr>surface_ground.<wbr>model"), never mid-word."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    return mark_safe(".<wbr>".join(escape(part) for part in str(key).split(".")))
