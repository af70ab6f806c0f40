"""Reads of the safety floor, for its middleware, its WebSocket guard and its own pages only."""

from django.db.models import Q

from studio.models import ApiKey, Organization
from studio.safety.models import Lockout


def active_lockout(
    *, organization: Organization | str, user=None, api_key: ApiKey | None = None, chat_session_ids=(), now=None
) -> Lockout | None:
    """The active lockout, ending last, that covers this principal or one of these chat sessions in the org.

    `organization` is an object or a slug. For a user, only orgs they are a member of count, so a locked
    chat session's id tells an outsider nothing.
    """
    return active_lockouts(
        organization=organization, user=user, api_key=api_key, chat_session_ids=chat_session_ids, now=now
    ).first()


def active_lockouts(*, organization: Organization | str, user=None, api_key: ApiKey | None = None, chat_session_ids=(), now=None):
    """Every active lockout covering this principal or these chat sessions in the org, ending last first."""
    if api_key is None and (user is None or not user.is_authenticated):
        return Lockout.objects.none()  # anonymous: the view answers 401 / the login page
    who = Q(pk__in=[])
    if api_key is None:
        who |= Q(user=user)
    if api_key is not None:
        who |= Q(api_key=api_key)
        if api_key.created_by_id:
            who |= Q(user_id=api_key.created_by_id)  # a member's own key is no way around their lockout
    if chat_session_ids:
        who |= Q(chat_session_id__in=list(chat_session_ids))
    lockouts = Lockout.objects.active(now).filter(who)
    if isinstance(organization, str):
        lockouts = lockouts.filter(organization__slug=organization)
    else:
        lockouts = lockouts.filter(organization=organization)
    if api_key is None:
        lockouts = lockouts.filter(organization__memberships__user=user)
    return lockouts.order_by("-ends_at")
