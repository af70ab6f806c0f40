"""WebSocket consumers for org-wide events."""

from asgiref.sync import async_to_sync
from channels.generic.websocket import WebsocketConsumer
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from studio.access import access_membership
from studio.errors import NotFound

CLOSE_NOT_FOUND = 4404


class OrgEventsConsumer(WebsocketConsumer):
    """Streams an org's events to its members as htmx out-of-band HTML fragments."""

    def connect(self):
        try:
            membership = access_membership(self.scope["user"], self.scope["url_route"]["kwargs"]["org_slug"])
        except NotFound:
            self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = membership.organization.channel_group
        async_to_sync(self.channel_layer.group_add)(self.group, self.channel_name)
        self.accept()

    def disconnect(self, code):
        if hasattr(self, "group"):
            async_to_sync(self.channel_layer.group_discard)(self.group, self.channel_name)

    def studio_event(self, message):
        try:
            html = render_to_string(f"events/{message['event']}.html", message["payload"])
        except TemplateDoesNotExist:
            return  # an event this page has no fragment for
        self.send(text_data=html)
