"""The live view of a run: each event re-renders the run panel from the database once (htmx OOB swap)."""

from django.template.loader import render_to_string

from pipeline.access import access_run
from pipeline.models import PipelineRun
from pipeline.views import run_panel_context
from studio.work.consumers import EventLogConsumer, PanelCache

_panels = PanelCache()


class RunEventsConsumer(EventLogConsumer):
    def resolve_group(self, membership, *, run_id) -> str:
        self.item = access_run(membership.organization, run_id)
        return self.item.channel_group

    def panel(self, seq: int | None, *, ended: bool) -> str:
        return rendered_panel(self.item.pk, seq)


def rendered_panel(run_pk: int, seq: int | None) -> str:
    """The run panel as of event `seq`, rendered once per event per process however many watch the run."""

    def render() -> str:
        run = PipelineRun.objects.select_related("persona", "organization").get(pk=run_pk)
        return render_to_string("pipeline/partials/run_panel.html", {**run_panel_context(run), "oob": True})

    return _panels.get((run_pk, seq), render)
