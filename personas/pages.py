"""What the apps built on personas add to the persona page: each registers `provider(persona) -> dict` from its
AppConfig.ready(), and the page's context takes those entries over its own defaults (personas never imports
them). The pipeline adds the generation runs and the audit threshold they used."""

from typing import Callable

_providers: list[Callable[..., dict]] = []


def register_persona_page_context(provider: Callable[..., dict]) -> None:
    if provider not in _providers:
        _providers.append(provider)


def persona_page_context(persona) -> dict:
    context = {}
    for provider in _providers:
        context.update(provider(persona))
    return context


_list_providers: list[Callable[..., dict]] = []


def register_persona_list_context(provider: Callable[..., dict]) -> None:
    """`provider(organization) -> dict` adds to the persona list page's context (the audits app: the near-clones)."""
    if provider not in _list_providers:
        _list_providers.append(provider)


def persona_list_context(organization) -> dict:
    context = {}
    for provider in _list_providers:
        context.update(provider(organization))
    return context
