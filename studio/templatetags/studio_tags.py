from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    return mapping.get(key, "") if hasattr(mapping, "get") else ""


@register.simple_tag
def usd_of(spent, cap) -> str:
    """"$0.0046 of $0.0020": both amounts with the digits it takes to tell them apart."""
    from studio.llm.budget import usd

    spent_text, cap_text = usd(float(spent or 0), float(cap or 0))
    return f"${spent_text} of ${cap_text}"


@register.filter
def label(key: str) -> str:
    """A field name as words: big_five → big five."""
    return str(key).replace("_", " ")
