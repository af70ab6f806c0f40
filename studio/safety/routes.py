"""What a lockout closes (SPEC §3): the persona routes, listed once here for the middleware, the WebSocket guard and
the lockout pages (which show these labels, so the message lists exactly what is closed). A lockout whose scope is
`whole_org` closes every route of the org instead. Pure: no Django.

A route is a persona route when its path, after `/o/<slug>/` (pages), `/v1/` (API) or `/ws/o/<slug>/` (sockets),
matches one of these patterns. New persona pages live under `personas/`, so they are covered without being listed.
"""

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class PersonaRoutes:
    label: str
    pages: str  # regex on the page path after /o/<slug>/
    api: str  # regex on the API path after /v1/
    sockets: str = r"(?!)"  # regex on the socket path after /ws/o/<slug>/ (nothing by default)


UUID = r"[0-9a-fA-F-]{36}"

PERSONA_ROUTES = (
    PersonaRoutes(
        "Personas: their pages, layers, versions, cards, forks, tests, evals, constitutions and review results",
        r"personas/|reviews/personas/", r"personas(/|$)|persona-clones(/|$)",
    ),
    PersonaRoutes("Chats with personas and with trained persona models", rf"training/{UUID}/chat/",
                  rf"chat-sessions(/|$)|training-jobs/{UUID}/chat(/|$)"),
    PersonaRoutes("Generation runs and their live progress", r"runs/", r"runs(/|$)", sockets=r"runs/"),
    PersonaRoutes("Audit and provocation runs", r"audit-jobs/", r"audit-jobs(/|$)|provocation-runs(/|$)"),
    PersonaRoutes("Eval runs and eval cases", r"eval-runs/|eval-cases/", r"eval-runs(/|$)|eval-cases(/|$)"),
)
WHOLE_ORG = "whole_org"
_PATTERNS = {kind: re.compile("|".join(f"(?:{getattr(r, kind)})" for r in PERSONA_ROUTES)) for kind in ("pages", "api", "sockets")}


def is_persona_route(kind: str, rest: str) -> bool:
    """`kind` is "pages", "api" or "sockets"; `rest` the path after the org (or /v1/) prefix."""
    return _PATTERNS[kind].match(rest) is not None


def closes(scope: str, kind: str, rest: str) -> bool:
    """Whether a lockout of this scope closes the route (the allow-list and locked chat sessions are the middleware's)."""
    return scope == WHOLE_ORG or is_persona_route(kind, rest)


def closed_labels(scope: str) -> list[str]:
    """What a lockout of this scope closes, in words, for its pages and its 423 answers."""
    if scope == WHOLE_ORG:
        return ["Every page, API route and live update of this organization"]
    return [routes.label for routes in PERSONA_ROUTES]
