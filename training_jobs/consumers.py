"""The live job page: events re-render the job panel from the database (htmx OOB swap), at most a few times
a second, and the results (previews, evaluation, artifacts) when a stage or the job ends."""

import time

from django.template.loader import render_to_string

from studio.errors import NotFound
from studio.principal import Principal
from studio.work.consumers import EventLogConsumer, PanelCache
from training_jobs.access import access_training_job
from training_jobs.models import TrainingJob

# Progress and training metrics arrive many times a second; the panel follows at this pace. Other events
# (a stage starting or ending, the job ending) always render at once, so the last state is never skipped, and so
# does progress that marks a milestone (a curriculum phase trained): fast phases are each shown ending.
PANEL_EVERY_S = 0.5
FREQUENT_EVENTS = ("stage.progress", "train.metrics")
_panels = PanelCache()


class TrainingJobEventsConsumer(EventLogConsumer):
    RESULT_EVENTS = ("stage.completed", *TrainingJob.TERMINAL_EVENTS, "job.resumed", "job.requeued")

    def resolve_group(self, membership, *, training_job_id) -> str:
        principal = Principal.from_membership(membership)
        if not principal.has_scope("training:read"):
            raise NotFound("training job not found")
        self.can_write = principal.has_scope("training:write")
        self.item = access_training_job(membership.organization, training_job_id)
        self.sent_at = 0.0
        return self.item.channel_group

    def should_render(self, payload: dict) -> bool:
        if payload.get("type") not in FREQUENT_EVENTS or (payload.get("data") or {}).get("milestone"):
            return True
        return time.monotonic() - self.sent_at >= PANEL_EVERY_S

    def panel(self, seq: int | None, *, ended: bool) -> str:
        self.sent_at = time.monotonic()
        return rendered_panel(self.item.pk, seq, can_write=self.can_write, results=ended)


def rendered_panel(job_pk: int, seq: int | None, *, can_write: bool, results: bool) -> str:
    """The job panel (and the results, when asked) as of event `seq`, rendered once per process."""
    from training_jobs.views import job_panel_context, job_results_context

    def render() -> str:
        job = TrainingJob.objects.select_related("persona", "organization", "constitution").get(pk=job_pk)
        html = render_to_string("training/partials/job_panel.html", {**job_panel_context(job, can_write=can_write), "oob": True})
        if results:
            html += render_to_string("training/partials/job_results.html", {**job_results_context(job), "oob": True})
        return html

    return _panels.get((job_pk, seq, can_write, results), render)
