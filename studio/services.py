"""Tenancy workflows: organizations, members, invitations, API keys and provider credentials.

Keyword-only functions named <entity>_<action>; views, API operations, tasks and
management commands all call these.
"""

import os
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from studio import crypto
from studio.errors import Conflict, Forbidden, Invalid, NotFound
from studio.models import ApiKey, Invitation, Membership, Organization, Provider, ProviderCredential, Workspace
from studio.principal import Principal
from studio.roles import SCOPES, Role, unknown_scopes

User = get_user_model()

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")


# --- organizations and workspaces ---------------------------------------------------


def _clean_name(value: str, *, max_length: int, field: str = "name") -> str:
    name = (value or "").strip()
    if not name or len(name) > max_length:
        raise Invalid(f"{field} must be 1–{max_length} characters", field=field)
    # Control characters (NUL above all: PostgreSQL text cannot hold it) are never part of a name.
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        raise Invalid(f"{field} must not contain control characters", field=field)
    return name


def _clean_slug(value: str, *, field: str) -> str:
    slug = slugify(value or "")[:60].strip("-")
    if not slug or not SLUG_RE.match(slug):
        raise Invalid(f"{field} must contain letters or digits", field=field)
    return slug


@transaction.atomic
def org_create(*, name: str, slug: str = "", owner=None) -> Organization:
    name = _clean_name(name, max_length=120)
    slug = _clean_slug(slug or name, field="slug")
    if Organization.objects.filter(slug=slug).exists():
        raise Conflict(f"an organization with slug '{slug}' already exists", field="slug")
    org = Organization.objects.create(name=name, slug=slug)
    Workspace.objects.create(organization=org, name="Default", slug="default")
    if owner is not None:
        Membership.objects.create(user=owner, organization=org, role=Role.OWNER)
    return org


def workspace_create(*, organization: Organization, name: str, slug: str = "") -> Workspace:
    name = _clean_name(name, max_length=120)
    slug = _clean_slug(slug or name, field="slug")
    try:
        with transaction.atomic():
            return Workspace.objects.create(organization=organization, name=name, slug=slug)
    except IntegrityError:
        raise Conflict(f"a workspace with slug '{slug}' already exists", field="slug") from None


# --- members ------------------------------------------------------------------------


def _parse_role(role: str, *, field: str = "role") -> Role:
    try:
        return Role(role)
    except ValueError:
        raise Invalid(f"{field} must be one of: {', '.join(r.value for r in Role)}", field=field) from None


def _check_can_assign(actor: Principal, role: Role) -> None:
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("managing members needs the admin role or higher")
    if role == Role.OWNER and actor.role != Role.OWNER:
        raise Forbidden("only an owner can make someone an owner")


@transaction.atomic
def member_add(*, organization: Organization, user, role: str) -> Membership:
    """Operator path (management command, demo seed): add an existing user directly."""
    new_role = _parse_role(role)
    membership, created = Membership.objects.get_or_create(
        user=user, organization=organization, defaults={"role": new_role}
    )
    if not created and membership.role != new_role:
        owners = list(Membership.objects.select_for_update().filter(organization=organization, role=Role.OWNER))
        if membership.role_enum == Role.OWNER and len(owners) <= 1:
            raise Conflict("the last owner cannot be demoted; make someone else an owner first", field="role")
        membership.role = new_role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def member_set_role(*, actor: Principal, member: Membership, role: str) -> Membership:
    new_role = _parse_role(role)
    _check_can_assign(actor, new_role)
    # Lock the org's owner rows so two concurrent demotions cannot both pass the last-owner check.
    owners = list(Membership.objects.select_for_update().filter(organization=member.organization, role=Role.OWNER))
    member.refresh_from_db(fields=["role"])
    if member.role_enum == Role.OWNER and actor.role != Role.OWNER:
        raise Forbidden("only an owner can change an owner's role")
    if member.role_enum == Role.OWNER and new_role != Role.OWNER and len(owners) <= 1:
        raise Conflict("the last owner cannot be demoted; make someone else an owner first", field="role")
    member.role = new_role
    member.save(update_fields=["role"])
    return member


@transaction.atomic
def member_remove(*, actor: Principal, member: Membership) -> None:
    leaving = actor.user is not None and actor.user.pk == member.user_id
    if not leaving and not actor.has_role(Role.ADMIN):
        raise Forbidden("removing members needs the admin role or higher")
    owners = list(Membership.objects.select_for_update().filter(organization=member.organization, role=Role.OWNER))
    member.refresh_from_db(fields=["role"])
    if member.role_enum == Role.OWNER and actor.role != Role.OWNER:
        raise Forbidden("only an owner can remove an owner")
    if member.role_enum == Role.OWNER and len(owners) <= 1:
        raise Conflict("the last owner cannot be removed; make someone else an owner first")
    member.delete()


# --- invitations --------------------------------------------------------------------


@dataclass
class IssuedInvitation:
    invitation: Invitation
    token: str


def member_invite(*, actor: Principal, email: str, role: str) -> IssuedInvitation:
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid("email is not a valid address", field="email") from None
    new_role = _parse_role(role)
    _check_can_assign(actor, new_role)
    org = actor.organization
    if Membership.objects.filter(organization=org, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member", field="email")
    token, token_hash = Invitation.new_token()
    with transaction.atomic():
        # A new invitation replaces any pending one for the same address.
        Invitation.objects.filter(organization=org, email=email, accepted_at=None, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        invitation = Invitation.objects.create(
            organization=org, email=email, role=new_role, token_hash=token_hash, invited_by=actor.user
        )
    return IssuedInvitation(invitation=invitation, token=token)


def invitation_revoke(*, actor: Principal, invitation: Invitation) -> None:
    if not actor.has_role(Role.ADMIN):
        raise Forbidden("revoking invitations needs the admin role or higher")
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])


def invitation_for_token(token: str) -> Invitation:
    """The pending invitation for a link's token; the token itself is the credential."""
    try:
        invitation = Invitation.objects.select_related("organization").get(token_hash=Invitation.hash_token(token))
    except Invitation.DoesNotExist:
        raise NotFound("this invitation link is not valid") from None
    if not invitation.is_pending:
        raise NotFound("this invitation has expired, was revoked or was already used")
    return invitation


@transaction.atomic
def invitation_accept(*, invitation: Invitation, user=None, password: str = "") -> Membership:
    """Accept as the signed-in `user`, or create the account for the invited address with `password`."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if not invitation.is_pending:
        raise Conflict("this invitation was already used or revoked")
    if user is None:
        # New accounts are named by their email, so a username taken by another account also blocks one.
        if User.objects.filter(Q(email__iexact=invitation.email) | Q(username__iexact=invitation.email)).exists():
            raise Conflict("an account with this email exists: log in to accept", field="email")
        candidate = User(username=invitation.email, email=invitation.email)
        try:
            validate_password(password, candidate)
        except ValidationError as exc:
            raise Invalid(" ".join(exc.messages), field="password") from None
        candidate.set_password(password)
        candidate.save()
        user = candidate
    elif user.email.lower() != invitation.email.lower():
        raise Forbidden(f"this invitation is for {invitation.email}; you are signed in as {user.email}")
    membership, _ = Membership.objects.get_or_create(
        user=user, organization=invitation.organization, defaults={"role": invitation.role}
    )
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    return membership


# --- API keys -----------------------------------------------------------------------


@dataclass
class IssuedApiKey:
    api_key: ApiKey
    secret: str


def api_key_create(*, organization: Organization, name: str, scopes: list[str], granted_by: frozenset[str], created_by=None) -> IssuedApiKey:
    """Create a key with `scopes`, which must be within `granted_by` (the creator's own scopes)."""
    name = _clean_name(name, max_length=80)
    scopes = sorted(set(scopes or []))
    if not scopes:
        raise Invalid("scopes must name at least one scope", field="scopes")
    if bad := unknown_scopes(scopes):
        raise Invalid(f"unknown scope(s): {', '.join(bad)}; known: {', '.join(SCOPES)}", field="scopes")
    if beyond := [scope for scope in scopes if scope not in granted_by]:
        raise Forbidden(f"you cannot grant scope(s) you do not hold: {', '.join(beyond)}")
    secret = ApiKey.new_secret()
    api_key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=secret[: len(ApiKey.PREFIX) + 6],
        key_hash=ApiKey.hash_secret(secret),
        scopes=scopes,
        created_by=created_by,
    )
    return IssuedApiKey(api_key=api_key, secret=secret)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


LAST_USED_RESOLUTION = timedelta(seconds=60)


def api_key_authenticate(secret: str) -> ApiKey | None:
    """The active key for a presented secret, recording its use (at most once a minute per key)."""
    if not secret or not secret.startswith(ApiKey.PREFIX) or len(secret) > 200:
        return None
    api_key = (
        ApiKey.objects.select_related("organization")
        .filter(key_hash=ApiKey.hash_secret(secret), revoked_at=None)
        .first()
    )
    if api_key is None:
        return None
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


# --- provider credentials -------------------------------------------------------------

ENV_FALLBACK = {
    Provider.ANTHROPIC: ("ANTHROPIC_API_KEY", None),
    Provider.OPENAI: ("OPENAI_API_KEY", "OPENAI_API_BASE"),
    Provider.GOOGLE: ("GEMINI_API_KEY", None),
    Provider.OPENAI_COMPATIBLE: ("OPENAI_COMPATIBLE_API_KEY", "OPENAI_COMPATIBLE_API_BASE"),
}


def _parse_provider(provider: str) -> Provider:
    try:
        return Provider(provider)
    except ValueError:
        raise NotFound(f"unknown provider '{provider}'") from None


def credential_set(*, organization: Organization, provider: str, api_key: str, api_base: str = "", user=None) -> ProviderCredential:
    provider = _parse_provider(provider)
    api_key = (api_key or "").strip()
    if len(api_key) < 8 or len(api_key) > 500 or any(ch.isspace() for ch in api_key):
        raise Invalid("api_key must be 8–500 characters without spaces", field="api_key")
    api_base = (api_base or "").strip()
    if provider == Provider.OPENAI_COMPATIBLE and not api_base:
        raise Invalid("api_base is required for an OpenAI-compatible endpoint", field="api_base")
    if api_base:
        try:
            URLValidator(schemes=["http", "https"])(api_base)
        except ValidationError:
            raise Invalid("api_base must be an http(s) URL", field="api_base") from None
    _forget_resolved(organization)
    credential, _ = ProviderCredential.objects.update_or_create(
        organization=organization,
        provider=provider,
        defaults={
            "encrypted_api_key": crypto.encrypt(api_key),
            "last4": api_key[-4:],
            "api_base": api_base,
            "updated_by": user,
        },
    )
    return credential


def credential_clear(*, organization: Organization, provider: str) -> None:
    _forget_resolved(organization)
    ProviderCredential.objects.filter(organization=organization, provider=_parse_provider(provider)).delete()


@dataclass(frozen=True)
class ProviderStatus:
    provider: Provider
    source: str  # "org", "environment" or "none"
    masked: str
    api_base: str


def credential_statuses(*, organization: Organization) -> list[ProviderStatus]:
    """What each provider would use, for display: never the secret itself."""
    stored = {c.provider: c for c in organization.credentials.all()}
    statuses = []
    for provider in Provider:
        key_var, base_var = ENV_FALLBACK[provider]
        if credential := stored.get(provider):
            statuses.append(ProviderStatus(provider, "org", credential.masked, credential.api_base))
        elif os.environ.get(key_var):
            statuses.append(ProviderStatus(provider, "environment", f"from ${key_var}", os.environ.get(base_var or "", "")))
        else:
            statuses.append(ProviderStatus(provider, "none", "not set", ""))
    return statuses


RESOLVED_TTL_S = 60.0
_RESOLVED = "_resolved_credentials"  # per Organization instance: {provider: (monotonic time, credentials)}


def _forget_resolved(organization: Organization) -> None:
    organization.__dict__.pop(_RESOLVED, None)


def credential_resolve(*, organization: Organization, provider: str) -> dict | None:
    """{api_key, api_base} for an LLM call: the org's credential, else the environment, else None.

    A run makes dozens of calls for one org, so the answer (a query and a decrypt) is kept on the
    Organization instance for a minute; setting or clearing a credential through this module forgets it.
    """
    cache = organization.__dict__.setdefault(_RESOLVED, {})
    hit = cache.get(provider)
    if hit is None or time.monotonic() - hit[0] > RESOLVED_TTL_S:
        hit = cache[provider] = (time.monotonic(), _resolve(organization, provider))
    return hit[1]


def credentials_cached(*, organization: Organization, providers) -> bool:
    """Whether credential_resolve can answer for every one of `providers` without the database."""
    cache = organization.__dict__.get(_RESOLVED, {})
    now = time.monotonic()
    return all(provider in cache and now - cache[provider][0] <= RESOLVED_TTL_S for provider in providers)


def _resolve(organization: Organization, provider: str) -> dict | None:
    provider = _parse_provider(provider)
    credential = organization.credentials.filter(provider=provider).first()
    if credential is not None:
        return {"api_key": crypto.decrypt(credential.encrypted_api_key), "api_base": credential.api_base or None}
    key_var, base_var = ENV_FALLBACK[provider]
    if api_key := os.environ.get(key_var):
        return {"api_key": api_key, "api_base": os.environ.get(base_var) if base_var else None}
    return None


def org_has_llm_credentials(*, organization: Organization) -> bool:
    return any(status.source != "none" for status in credential_statuses(organization=organization))
