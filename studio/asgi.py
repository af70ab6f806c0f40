"""ASGI entry point: HTTP through Django, WebSockets through channels (daphne serves both)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")
django_asgi_app = get_asgi_application()  # sets up Django before consumers import models

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from studio.routing import websocket_urlpatterns  # noqa: E402
from studio.upload_guard import UploadSizeGuard  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": UploadSizeGuard(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
