"""Roles and API scopes (SPEC §2). Pure data, no Django."""

from enum import StrEnum


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    EDITOR = "editor"
    REVIEWER = "reviewer"
    VIEWER = "viewer"

    @property
    def rank(self) -> int:
        return ROLE_RANK[self]

    def at_least(self, other: "Role") -> bool:
        return self.rank >= ROLE_RANK[Role(other)]


ROLE_RANK = {Role.VIEWER: 0, Role.REVIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3, Role.OWNER: 4}
ROLE_CHOICES = [(role.value, role.value.title()) for role in sorted(Role, key=lambda r: -ROLE_RANK[r])]

SCOPES = {
    "personas:read": "Read personas, runs and their events",
    "personas:write": "Create, edit and delete personas; chat",
    "config:read": "Read the config tree, snapshots and history",
    "config:write": "Change config values",
    "config:admin": "Lock config keys, roll back; manage members, API keys and provider credentials",
    "reviews:write": "Judge paired outputs",
    "training:read": "Read training jobs, events and artifacts",
    "training:write": "Launch, cancel and resume training jobs",
    "audits:read": "Read audits, provocation results and eval suites",
}

_READ = {"personas:read", "config:read", "training:read", "audits:read"}
ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.VIEWER: frozenset(_READ),
    Role.REVIEWER: frozenset(_READ | {"reviews:write"}),
    Role.EDITOR: frozenset(_READ | {"reviews:write", "personas:write", "config:write", "training:write"}),
    Role.ADMIN: frozenset(SCOPES),
    Role.OWNER: frozenset(SCOPES),
}


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [scope for scope in scopes if scope not in SCOPES]
