"""REST API for audits.chat: filled in by this app's issue work."""

from ninja import Router

router = Router(tags=["chat"])
