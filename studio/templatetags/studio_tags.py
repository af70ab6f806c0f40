from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.filter
def label(key: str) -> str:
    """A field name as words: big_five → big five."""
    return str(key).replace("_", " ")
