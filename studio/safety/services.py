"""The safety floor's one write: engaging a lockout.

There is deliberately no function to shorten, lift or end a lockout: once the safe word is said, the
speaker's persona routes in that org stay locked for settings.SAFETY_LOCKOUT_HOURS, whatever their role.
"""

import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from studio.config.selectors import effective_tree
from studio.models import ApiKey, Organization
from studio.safety.models import Lockout


def said_safe_word(message: str, safe_word: str) -> bool:
    """True when the message, trimmed, is the safe word as a whole word (any case, stray punctuation allowed).

    Only the word on its own counts, so a persona conversation about a red coat does not lock anyone out.
    """
    word = (safe_word or "").strip()
    return bool(word) and re.fullmatch(rf"[\W_]*{re.escape(word)}[\W_]*", (message or "").strip(), re.IGNORECASE) is not None


def lockout_engage(
    *, organization: Organization, user=None, api_key: ApiKey | None = None, chat_session_id=None, reason: str = "safe word said in a chat", now=None
) -> Lockout:
    if (user is None) == (api_key is None):
        raise ValueError("a lockout is for exactly one principal: a user or an API key")
    started = now or timezone.now()
    scope = effective_tree(organization)["engine.pipeline.safety.lockout_scope"]  # fixed now: a later change cannot soften it
    return Lockout.objects.create(
        organization=organization, user=user, api_key=api_key, chat_session_id=chat_session_id, scope=scope,
        reason=reason[:200], started_at=started, ends_at=started + timedelta(hours=settings.SAFETY_LOCKOUT_HOURS),
    )
