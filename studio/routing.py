from django.urls import path

from studio.consumers import OrgEventsConsumer

websocket_urlpatterns = [
    path("ws/o/<slug:org_slug>/events/", OrgEventsConsumer.as_asgi()),
]
