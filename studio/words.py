"""Numbers and text as people read them: plurals, notes clipped at a word, one rounding rule for scores. No Django."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

SCORE_PLACES = 2  # every 0–5 score (audits, reviews, leaderboards) is shown with two decimals, rounded half up


def plural(count, noun: str, many: str | None = None) -> str:
    """"1 row", "3 rows", "1,500 pairs": the count with thousands separators and the noun agreeing with it."""
    try:
        number = int(count)
    except (TypeError, ValueError):
        return f"{count} {many or _regular_plural(noun)}"
    word = noun if abs(number) == 1 else (many or _regular_plural(noun))
    return f"{number:,} {word}"


def _regular_plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def clip(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut at a word boundary with an ellipsis, never mid-word."""
    text = str(text or "")
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 1)]
    space = cut.rfind(" ")
    if space > 0:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


def score(value) -> str:
    """A score with the one rounding rule (two decimals, half up: 4.745 → 4.75, never 4.7 here and 4.75 there)."""
    if value is None or value == "":
        return "—"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return str(number.quantize(Decimal(1).scaleb(-SCORE_PLACES), rounding=ROUND_HALF_UP))
