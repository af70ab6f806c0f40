"""The one page shape of every list endpoint: `{"count", "next_cursor", "items"}`, chosen with `limit` and `cursor`.

`count` is the whole filtered list; `next_cursor` is what a client sends back as `cursor` for the next page (null on
the last one). A cursor is opaque: JSON signed with django.core.signing (salted with the request path), so a client
can neither forge nor edit one, and a cursor of another list, a tampered or a malformed one is a 422 naming `cursor`,
never a 500. `limit` bounds are part of the query schema (1–500, 422 naming `limit`).

Two kinds of cursor behind the one shape:
- keyset, for a queryset: its ordering (its `order_by`, else the model's Meta ordering) with the primary key appended
  as the tie-breaker. The cursor holds the last item's values of those keys and the next page is the rows strictly
  after them (a tuple comparison built from Q objects, asc/desc per key, NULLs where the database sorts them), so a
  row inserted before the cursor does not shift the next page, and one inserted after it is not skipped.
- position, the number of items already shown: plain lists (artifacts, webhook events, credentials, presets, eval
  cases, reviewers), and a queryset whose ordering keyset cannot follow: random (`?`), an expression other than a
  plain field (`Lower("name")`), a relation (ordering by a foreign key orders by the related model's ordering), a
  transform or a reverse relation, a sliced or combined (union) queryset. No list endpoint orders so today.
"""

from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from functools import reduce
from operator import or_
from typing import Any
from uuid import UUID

from django.core import signing
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import connections
from django.db.models import F, OrderBy, Q, QuerySet
from django.db.models.constants import LOOKUP_SEP
from ninja import Field, Schema
from ninja.pagination import PaginationBase, paginate

from studio.errors import Invalid

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
BAD_CURSOR = "cursor must be the next_cursor of an earlier page of this list"


@dataclass(frozen=True)
class SortKey:
    """One key of a queryset's ordering: a field (through forward relations) or an annotation."""

    lookup: str
    descending: bool
    nullable: bool
    nulls_first: bool | None = None  # an explicit F(…).asc(nulls_first=True); None: where the database puts them
    nulls_last: bool | None = None

    @property
    def label(self) -> str:
        return f"-{self.lookup}" if self.descending else self.lookup

    def nulls_after_values(self, nulls_order_largest: bool) -> bool:
        if self.nulls_first or self.nulls_last:
            return bool(self.nulls_last)
        return nulls_order_largest != self.descending

    def equal(self, value) -> Q:
        return Q(**{f"{self.lookup}__isnull": True}) if value is None else Q(**{self.lookup: value})

    def beyond(self, value, nulls_order_largest: bool) -> Q | None:
        """The rows this key puts strictly after `value` (None: no row)."""
        nulls_after = self.nullable and self.nulls_after_values(nulls_order_largest)
        if value is None:
            return None if nulls_after else Q(**{f"{self.lookup}__isnull": False})
        beyond = Q(**{f"{self.lookup}__{'lt' if self.descending else 'gt'}": value})
        return beyond | Q(**{f"{self.lookup}__isnull": True}) if nulls_after else beyond


def sort_keys(queryset: QuerySet) -> tuple[list, list[SortKey]] | None:
    """(the ordering to apply, its keys) with the primary key appended; None where keyset cannot follow it."""
    query = queryset.query
    if query.combinator or query.is_sliced or query.extra_order_by:
        return None
    ordering = list(query.order_by) or (list(queryset.model._meta.ordering) if query.default_ordering else [])
    keys = [_sort_key(queryset, term) for term in ordering]
    if None in keys:
        return None
    pk_name = queryset.model._meta.pk.name
    if not any(key.lookup == pk_name for key in keys):
        ordering.append(pk_name)
        keys.append(SortKey(pk_name, descending=False, nullable=False))
    return ordering, keys


def _sort_key(queryset: QuerySet, term) -> SortKey | None:
    nulls_first = nulls_last = None
    if isinstance(term, str) and term != "?":
        descending, lookup = term.startswith("-"), term.removeprefix("-")
    elif isinstance(term, OrderBy) and isinstance(term.expression, F):
        descending, lookup = term.descending, term.expression.name
        nulls_first, nulls_last = term.nulls_first, term.nulls_last
    elif isinstance(term, F):
        descending, lookup = False, term.name
    else:
        return None
    if lookup == "pk":
        lookup = queryset.model._meta.pk.name
    nullable = _nullable(queryset, lookup)
    if nullable is None:
        return None
    return SortKey(lookup, descending, nullable, nulls_first, nulls_last)


def _nullable(queryset: QuerySet, lookup: str) -> bool | None:
    """Whether `lookup` can be NULL for a row: an annotation may be; a path of forward relations is if any step is.
    None where it names no single value per row (a relation itself, a reverse relation, a transform)."""
    if lookup in queryset.query.annotations:
        return True
    model, nullable = queryset.model, False
    *relations, name = lookup.split(LOOKUP_SEP)
    try:
        for step in relations:
            relation = model._meta.get_field(step)
            if not (relation.many_to_one or (relation.one_to_one and relation.concrete)):
                return None
            model, nullable = relation.related_model, nullable or relation.null
        field = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return None if field.is_relation else nullable or field.null


def _jsonable(value):
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()  # full precision: a keyset compares equal to the microsecond
    if isinstance(value, (UUID, Decimal)):
        return str(value)
    return value


class StudioPagination(PaginationBase):
    class Input(Schema):
        limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Items per page, 1–{MAX_LIMIT}")
        cursor: str | None = Field(None, description="The previous page's next_cursor; leave out for the first page")

    class Output(Schema):
        count: int = Field(..., description="Items in the whole list (with the filters applied)")
        next_cursor: str | None = Field(..., description="Send as `cursor` for the next page; null on the last page")
        items: list[Any]

    def paginate_queryset(self, queryset, pagination: Input, request, **params) -> dict:
        salt = f"studio.pagination:{request.path}"
        cursor = _read_cursor(pagination.cursor, salt)
        keyset = sort_keys(queryset) if isinstance(queryset, QuerySet) else None
        if keyset is None:
            count = queryset.count() if isinstance(queryset, QuerySet) else len(queryset)
            items, after = _position_page(queryset, cursor, pagination.limit)
        else:
            count = queryset.count()
            items, after = _keyset_page(queryset, *keyset, cursor, pagination.limit)
        return {"count": count, "next_cursor": signing.dumps(after, salt=salt, compress=True) if after else None, "items": items}


def _read_cursor(cursor: str | None, salt: str) -> dict | None:
    if not cursor:
        return None
    try:
        payload = signing.loads(cursor, salt=salt)
    except signing.BadSignature:
        raise Invalid(BAD_CURSOR, field="cursor") from None
    if not isinstance(payload, dict):
        raise Invalid(BAD_CURSOR, field="cursor")
    return payload


def _position_page(items, cursor: dict | None, limit: int) -> tuple[list, dict | None]:
    position = 0
    if cursor is not None:
        position = cursor.get("position")
        if not isinstance(position, int) or position < 0:
            raise Invalid(BAD_CURSOR, field="cursor")
    page = list(items[position : position + limit + 1])
    return page[:limit], {"position": position + limit} if len(page) > limit else None


def _keyset_page(queryset: QuerySet, ordering: list, keys: list[SortKey], cursor: dict | None, limit: int):
    labels = [key.label for key in keys]
    queryset = queryset.order_by(*ordering)
    if cursor is not None:
        values = cursor.get("after")
        if cursor.get("order") != labels or not isinstance(values, list) or len(values) != len(keys):
            raise Invalid(BAD_CURSOR, field="cursor")
        queryset = _after(queryset, keys, values)
    # A key through a relation is read back from an annotation: the row's related object may not be loaded.
    aliases = {key.lookup: f"cursor_key_{index}" for index, key in enumerate(keys) if LOOKUP_SEP in key.lookup}
    if aliases:
        queryset = queryset.annotate(**{alias: F(lookup) for lookup, alias in aliases.items()})
    page = list(queryset[: limit + 1])
    if len(page) <= limit:
        return page, None
    last = page[limit - 1]
    after = [_jsonable(getattr(last, aliases.get(key.lookup, key.lookup))) for key in keys]
    return page[:limit], {"order": labels, "after": after}


def _after(queryset: QuerySet, keys: list[SortKey], values: list) -> QuerySet:
    """The rows strictly after `values` in the keys' order: (k1 beyond v1) or (k1 = v1 and k2 beyond v2) or …"""
    nulls_order_largest = connections[queryset.db].features.nulls_order_largest
    alternatives = []
    for index, (key, value) in enumerate(zip(keys, values)):
        beyond = key.beyond(value, nulls_order_largest)
        if beyond is not None:
            ties = (earlier.equal(tied) for earlier, tied in zip(keys[:index], values[:index]))
            alternatives.append(Q(*ties, beyond))
    if not alternatives:
        return queryset.none()
    try:
        return queryset.filter(reduce(or_, alternatives))
    except (ValidationError, ValueError, TypeError):  # values the keys' fields cannot take
        raise Invalid(BAD_CURSOR, field="cursor") from None


# @paginated under @router.get(…, response=list[XOut]): the operation returns the whole list (a queryset is paged here).
paginated = paginate(StudioPagination)
