"""The one page shape of every list endpoint: `{"count", "next_offset", "items"}`, chosen with `limit` and `offset`.

Limit/offset rather than a cursor: it pages plain lists as well as querysets (artifacts, events, credentials), and
`next_offset` is what a client sends back as `offset` (null on the last page). Bounds are part of the query
schema, so `limit=0`, `limit=501` or a negative offset is a 422 naming the field, never a 500.
"""

from typing import Any

from ninja import Field, Schema
from ninja.pagination import PaginationBase, paginate

from studio.input_boundary import MAX_INTEGER

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


class StudioPagination(PaginationBase):
    class Input(Schema):
        limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Items per page, 1–{MAX_LIMIT}")
        offset: int = Field(0, ge=0, le=MAX_INTEGER, description="Items to skip: the previous page's next_offset")

    class Output(Schema):
        count: int = Field(..., description="Items in the whole list (with the filters applied)")
        next_offset: int | None = Field(..., description="The offset of the next page; null on the last page")
        items: list[Any]

    def paginate_queryset(self, queryset, pagination: Input, request, **params) -> dict:
        offset, limit = pagination.offset, pagination.limit
        count = self._items_count(queryset)
        return {
            "count": count,
            "next_offset": offset + limit if offset + limit < count else None,
            "items": queryset[offset : offset + limit],
        }


# @paginated under @router.get(…, response=list[XOut]): the operation returns the whole list (a queryset is sliced).
paginated = paginate(StudioPagination)
