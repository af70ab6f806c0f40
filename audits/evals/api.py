"""REST API for audits.evals: filled in by this app's issue work."""

from ninja import Router

router = Router(tags=["evals"])
