"""REST API for studio.webhooks: filled in by this app's issue work."""

from ninja import Router

router = Router(tags=["webhooks"])
