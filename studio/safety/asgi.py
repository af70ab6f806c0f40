"""The safety floor for WebSockets: a locked-out user's sockets that the lockout closes (a run's live progress, or
every socket of the org for a `whole_org` lockout: studio/safety/routes.py) are refused before any consumer runs.

studio/routing.py wraps every WebSocket route with `guard_routes`, so a route added there is covered too.
"""

import uuid

from channels.db import database_sync_to_async
from django.urls import URLPattern, path

from studio.safety.routes import closes
from studio.safety.selectors import active_lockouts

CLOSE_LOCKED = 4423


@database_sync_to_async
def _locked(org_slug: str, user, session_ids, rest: str) -> bool:
    lockouts = active_lockouts(organization=org_slug, user=user, chat_session_ids=session_ids)
    return any(closes(lockout.scope, "sockets", rest) or lockout.chat_session_id in session_ids for lockout in lockouts)


class SafetyFloorGuard:
    """ASGI middleware around one WebSocket consumer: closes with 4423 when the user is locked out in the URL's org."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        kwargs = scope.get("url_route", {}).get("kwargs", {})
        org_slug = kwargs.get("org_slug")
        if scope["type"] == "websocket" and org_slug:
            session_ids = [value for value in kwargs.values() if isinstance(value, uuid.UUID)]
            rest = scope.get("path", "").split(f"/o/{org_slug}/", 1)[-1]
            if await _locked(org_slug, scope.get("user"), session_ids, rest):
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": CLOSE_LOCKED})
                return
        await self.app(scope, receive, send)


def guard_routes(routes: list[URLPattern]) -> list[URLPattern]:
    return [path(str(route.pattern), SafetyFloorGuard(route.callback), name=route.name) for route in routes]
