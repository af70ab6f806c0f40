from django.urls import path

from pipeline.consumers import RunEventsConsumer
from studio.consumers import OrgEventsConsumer

websocket_urlpatterns = [
    path("ws/o/<slug:org_slug>/events/", OrgEventsConsumer.as_asgi()),
    path("ws/o/<slug:org_slug>/runs/<uuid:run_id>/", RunEventsConsumer.as_asgi()),
]
