"""The live job page: events re-render the job panel from the database (htmx OOB swap), at most a few times
a second, and the results (previews, evaluation, artifacts) when a stage or the job ends."""

import threading
import time
from collections import OrderedDict

from django.template.loader import render_to_string

from studio.consumers import GroupConsumer
from studio.errors import NotFound
from studio.principal import Principal
from training_jobs.access import access_training_job
from training_jobs.models import TrainingJob

# Progress and training metrics arrive many times a second; the panel follows at this pace. Other events
# (a stage starting or ending, the job ending) always render at once, so the last state is never skipped.
PANEL_EVERY_S = 0.5
FREQUENT_EVENTS = ("stage.progress", "train.metrics")
RESULT_EVENTS = ("stage.completed", "job.succeeded", "job.failed", "job.cancelled", "job.killed", "job.resumed")


class TrainingJobEventsConsumer(GroupConsumer):
    def resolve_group(self, membership, *, training_job_id) -> str:
        principal = Principal.from_membership(membership)
        if not principal.has_scope("training:read"):
            raise NotFound("training job not found")
        self.can_write = principal.has_scope("training:write")
        self.job = access_training_job(membership.organization, training_job_id)
        self.sent_at = 0.0
        return self.job.channel_group

    def on_joined(self):
        last = self.job.last_event_seq()
        if last > self.after_cursor():
            self.send_panel(seq=last, results=True)

    def studio_event(self, message):
        payload = message["payload"]
        kind = payload.get("type", "")
        if kind in FREQUENT_EVENTS and time.monotonic() - self.sent_at < PANEL_EVERY_S:
            return
        self.send_panel(seq=payload.get("seq"), results=kind in RESULT_EVENTS)

    def send_panel(self, seq: int | None = None, results: bool = False):
        self.sent_at = time.monotonic()
        self.send(text_data=rendered_panel(self.job.pk, seq, can_write=self.can_write, results=results))


_panels: OrderedDict = OrderedDict()  # (job pk, seq, can_write, results) → HTML, shared by this process's subscribers
_panels_lock = threading.Lock()
PANEL_CACHE_SIZE = 256


def rendered_panel(job_pk: int, seq: int | None, *, can_write: bool, results: bool) -> str:
    """The job panel (and the results, when asked) as of event `seq`, rendered once per process."""
    from training_jobs.views import job_panel_context, job_results_context

    key = (job_pk, seq, can_write, results)
    with _panels_lock:
        if seq is not None and key in _panels:
            return _panels[key]
    job = TrainingJob.objects.select_related("persona", "organization", "constitution").get(pk=job_pk)
    html = render_to_string("training/partials/job_panel.html", {**job_panel_context(job, can_write=can_write), "oob": True})
    if results:
        html += render_to_string("training/partials/job_results.html", {**job_results_context(job), "oob": True})
    if seq is not None:
        with _panels_lock:
            _panels[key] = html
            while len(_panels) > PANEL_CACHE_SIZE:
                _panels.popitem(last=False)
    return html
