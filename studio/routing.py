from django.urls import path

from pipeline.consumers import RunEventsConsumer
from studio.consumers import OrgEventsConsumer
from studio.safety.asgi import guard_routes
from training_jobs.consumers import TrainingJobEventsConsumer

# Every route passes the safety floor's guard first: a locked-out user's sockets in that org are refused.
websocket_urlpatterns = guard_routes([
    path("ws/o/<slug:org_slug>/events/", OrgEventsConsumer.as_asgi()),
    path("ws/o/<slug:org_slug>/runs/<uuid:run_id>/", RunEventsConsumer.as_asgi()),
    path("ws/o/<slug:org_slug>/training/<uuid:training_job_id>/", TrainingJobEventsConsumer.as_asgi()),
])
