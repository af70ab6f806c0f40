"""Dashboard cards contributed by apps, so the dashboard needs no import of the apps above studio."""

from collections.abc import Callable

_card_providers: list[Callable] = []


def register_card(provider: Callable) -> Callable:
    """provider(organization) → {"title": str, "rows": [(label, value)], "link": (text, url) | None}"""
    _card_providers.append(provider)
    return provider


def cards(organization) -> list[dict]:
    return [provider(organization) for provider in _card_providers]
