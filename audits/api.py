"""REST API for audits: filled in by this app's issue work."""

from ninja import Router

router = Router(tags=["audits"])
