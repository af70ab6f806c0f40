"""The live view of a run: every event re-renders the run panel from the database (htmx OOB swap)."""

from urllib.parse import parse_qs

from django.template.loader import render_to_string

from pipeline.access import access_run
from pipeline.views import run_panel_context
from studio.consumers import GroupConsumer


class RunEventsConsumer(GroupConsumer):
    def resolve_group(self, membership, *, run_id) -> str:
        self.run = access_run(membership.organization, run_id)
        return self.run.channel_group

    def on_joined(self):
        # The page was rendered at event `after`; anything newer happened before the socket opened.
        query = parse_qs(self.scope.get("query_string", b"").decode())
        after = int((query.get("after") or ["0"])[0] or 0)
        self.run.refresh_from_db(fields=["last_seq", "status"])
        if self.run.last_seq > after:
            self.send_panel()

    def studio_event(self, message):
        self.send_panel()

    def send_panel(self):
        self.run.refresh_from_db()
        self.send(text_data=render_to_string("pipeline/partials/run_panel.html", {**run_panel_context(self.run), "oob": True}))
