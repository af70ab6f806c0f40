"""WebSocket consumers: one channel group per object, authorized on connect with the access helpers."""

from urllib.parse import parse_qs

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from studio.access import access_membership
from studio.errors import NotFound

CLOSE_NOT_FOUND = 4404


class GroupConsumer(WebsocketConsumer):
    """Joins the group of the object named in the URL, if the user may see it; else closes with 4404."""

    def resolve_group(self, membership, **url_kwargs) -> str:
        raise NotImplementedError  # each consumer names its object's group

    def on_joined(self) -> None:
        """Hook for sending what happened before the socket opened."""

    def after_cursor(self) -> int:
        """The event number the page was rendered at (`?after=`): anything newer happened before the socket opened."""
        query = parse_qs(self.scope.get("query_string", b"").decode())
        try:
            return int((query.get("after") or ["0"])[0])
        except ValueError:
            return 0  # a malformed cursor: the consumer sends its current state

    def connect(self):
        kwargs = dict(self.scope["url_route"]["kwargs"])
        try:
            self.membership = access_membership(self.scope["user"], kwargs.pop("org_slug"))
            self.group = self.resolve_group(self.membership, **kwargs)
        except NotFound:
            self.close(code=CLOSE_NOT_FOUND)
            return
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        self.accept()
        self.on_joined()

    def disconnect(self, code):
        if hasattr(self, "group"):
            async_to_sync(self.channel_layer.group_discard)(self.group, self.channel_name)


class OrgEventsConsumer(GroupConsumer):
    """Streams an org's events to its members as htmx out-of-band HTML fragments."""

    def resolve_group(self, membership, **url_kwargs) -> str:
        return membership.organization.channel_group

    def studio_event(self, message):
        try:
            html = render_to_string(f"events/{message['event']}.html", message["payload"])
        except TemplateDoesNotExist:
            return  # an event this page has no fragment for
        self.send(text_data=html)
