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


@register.filter
def counted(count, noun: str) -> str:
    """{{ n|counted:"row" }} → "1 row" / "1,500 rows"; "reply|replies" gives an irregular plural."""
    from studio.words import plural

    singular, _, many = str(noun).partition("|")
    return plural(count, singular, many or None)


@register.filter
def score(value) -> str:
    """The one rounding rule for scores: two decimals, half up (studio.words.score)."""
    from studio.words import score as as_score

    return as_score(value)


@register.filter
def clip(text, limit) -> str:
    """Text cut at a word boundary with an ellipsis, never mid-word."""
    from studio.words import clip as clip_words

    return clip_words(text, int(limit))
