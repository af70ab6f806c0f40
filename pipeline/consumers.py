"""The live view of a run: each event re-renders the run panel from the database once (htmx OOB swap)."""

import threading
from collections import OrderedDict

from django.template.loader import render_to_string

from pipeline.access import access_run
from pipeline.models import PipelineRun
from pipeline.views import run_panel_context
from studio.consumers import GroupConsumer


class RunEventsConsumer(GroupConsumer):
    def resolve_group(self, membership, *, run_id) -> str:
        self.run = access_run(membership.organization, run_id)
        return self.run.channel_group

    def on_joined(self):
        last = self.run.last_event_seq()
        if last > self.after_cursor():
            self.send_panel(seq=last)

    def studio_event(self, message):
        self.send_panel(seq=message["payload"]["seq"])

    def send_panel(self, seq: int | None = None):
        self.send(text_data=rendered_panel(self.run.pk, seq))


_panels: OrderedDict = OrderedDict()  # (run pk, event seq) → HTML, shared by this process's subscribers
_panels_lock = threading.Lock()
PANEL_CACHE_SIZE = 256


def rendered_panel(run_pk: int, seq: int | None) -> str:
    """The run panel as of event `seq`, rendered once per event per process however many watch the run."""
    key = (run_pk, seq)
    with _panels_lock:
        if seq is not None and key in _panels:
            return _panels[key]
    run = PipelineRun.objects.select_related("persona", "organization").get(pk=run_pk)
    html = render_to_string("pipeline/partials/run_panel.html", {**run_panel_context(run), "oob": True})
    if seq is not None:
        with _panels_lock:
            _panels[key] = html
            while len(_panels) > PANEL_CACHE_SIZE:
                _panels.popitem(last=False)
    return html
