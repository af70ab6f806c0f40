"""Who is acting: a member through the browser session, or an org API key."""

from dataclasses import dataclass

from studio.errors import Forbidden
from studio.models import ApiKey, Membership, Organization
from studio.roles import ROLE_RANK, ROLE_SCOPES, Role


def _role_for_scopes(scopes: frozenset[str]) -> Role:
    """The lowest role whose scopes cover a key's scopes; a key is never an owner."""
    for role in sorted(ROLE_SCOPES, key=ROLE_RANK.get):
        if role != Role.OWNER and scopes <= ROLE_SCOPES[role]:
            return role
    return Role.ADMIN


@dataclass(frozen=True)
class Principal:
    organization: Organization
    role: Role
    scopes: frozenset[str]
    user: object | None = None
    api_key: ApiKey | None = None
    membership: Membership | None = None

    @classmethod
    def from_membership(cls, membership: Membership) -> "Principal":
        role = membership.role_enum
        return cls(membership.organization, role, ROLE_SCOPES[role], user=membership.user, membership=membership)

    @classmethod
    def from_api_key(cls, api_key: ApiKey) -> "Principal":
        scopes = frozenset(api_key.scopes)
        return cls(api_key.organization, _role_for_scopes(scopes), scopes, api_key=api_key)

    @property
    def label(self) -> str:
        if self.api_key is not None:
            return f"API key {self.api_key.name} ({self.api_key.prefix}…)"
        return self.user.email or self.user.get_username()

    def has_role(self, minimum: Role) -> bool:
        return self.role.at_least(minimum)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def require_scope(self, scope: str) -> None:
        if scope not in self.scopes:
            who = "this API key" if self.api_key is not None else f"the {self.role.value} role"
            raise Forbidden(f"this action needs the '{scope}' scope, which {who} does not have")
