"""REST API for reviews: filled in by the reviews work (issue 6)."""

from ninja import Router

router = Router(tags=["reviews"])
