"""The org-wide WebSocket: an org's events to its members as htmx out-of-band HTML fragments."""

from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from studio.work.consumers import GroupConsumer


class OrgEventsConsumer(GroupConsumer):
    def resolve_group(self, membership, **url_kwargs) -> str:
        return membership.organization.channel_group

    def studio_event(self, message):
        try:
            html = render_to_string(f"events/{message['event']}.html", message["payload"])
        except TemplateDoesNotExist:
            return  # an event this page has no fragment for
        self.send(text_data=html)
