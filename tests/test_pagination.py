"""Every list operation answers one page shape, {count, next_cursor, items}, chosen with limit and cursor.

Through HTTP: walking a list's pages gives each item once and in order (asc, desc, ties), an insert before the cursor
does not shift the next page, limits and cursors out of bounds are 422s naming the field. Through the paginator
itself: every kind of ordering key a queryset may have (nullable, through a relation, explicit NULL placement) and
plain lists, each compared with the same list sorted in Python.
"""

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import F
from django.db.models.functions import Lower
from django.test import RequestFactory
from django.utils import timezone

from studio import services
from studio.api import api
from studio.models import ApiKey, Workspace
from studio import pagination
from studio.pagination import StudioPagination, sort_keys
from studio.roles import SCOPES
from tests.conftest import make_user
from tests.test_outsider_scan import _fill, victim  # noqa: F401  (the fixture)


def _operations():
    schema = api.get_openapi_schema()
    components = schema["components"]["schemas"]
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            responses = operation.get("responses", {})
            content = (responses.get(200) or responses.get("200") or {}).get("content", {}).get("application/json")
            if content:
                yield path, method, operation, content["schema"], components


def _resolved(schema: dict, components: dict) -> dict:
    return components[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema


def test_no_operation_answers_a_bare_list():
    for path, method, _, schema, components in _operations():
        assert _resolved(schema, components).get("type") != "array", f"{method.upper()} {path} answers a bare list"


def test_every_page_has_the_same_fields_and_takes_limit_and_cursor():
    pages = 0
    for path, method, operation, schema, components in _operations():
        properties = _resolved(schema, components).get("properties", {})
        if "next_cursor" not in properties:
            continue
        pages += 1
        assert set(properties) == {"count", "next_cursor", "items"}, f"{path}: {sorted(properties)}"
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {"limit", "cursor"} <= query and "offset" not in query, f"{path} takes {sorted(query)}"
    assert pages >= 28


# --- through HTTP -------------------------------------------------------------------------------------------------


PLAIN_LISTS = {  # lists built in code: paged by a signed position, every other list by keyset
    "/v1/credentials", "/v1/webhooks/events", "/v1/config/presets", "/v1/personas/{persona_id}/eval-cases",
    "/v1/personas/{persona_id}/reviews/reviewers", "/v1/training-jobs/{training_job_id}/artifacts",
}


def test_every_list_walked_one_item_a_page_gives_each_item_once(request, tenant, api_for, monkeypatch):
    """acme's objects of every kind (the outsider scan's): each list with limit=1 against its whole list."""
    objects = request.getfixturevalue("victim")
    client, lists, keyset_paged, walked = api_for(tenant.org), [], set(), 0

    def recording_sort_keys(queryset):
        keys = sort_keys(queryset)
        if keys is not None:
            keyset_paged.add(lists[-1])
        return keys

    monkeypatch.setattr(pagination, "sort_keys", recording_sort_keys)
    for path, method, _, schema, components in _operations():
        if method != "get" or "next_cursor" not in _resolved(schema, components).get("properties", {}):
            continue
        lists.append(path)
        url, _ = _fill(path, objects, r"\{(\w+)\}")
        whole = client.get(url, data={"limit": 500}).json()
        items, pages = _walk(client, url, 1, key=lambda item: json.dumps(item, sort_keys=True))
        assert items == [json.dumps(item, sort_keys=True) for item in whole["items"]], path
        assert len(pages) == max(1, whole["count"]) and all(page["count"] == whole["count"] for page in pages), path
        walked += whole["count"] > 1
    assert set(lists) - keyset_paged == PLAIN_LISTS
    assert walked >= 5  # lists with more than one item


def _walk(client, path: str, limit: int, key=lambda item: item["id"]) -> tuple[list, list[dict]]:
    """Every page of `path`, following next_cursor: (each item's key in the order given, the pages)."""
    pages, cursor = [], None
    while True:
        query = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, data=query)
        assert response.status_code == 200, response.content[:300]
        pages.append(response.json())
        cursor = pages[-1]["next_cursor"]
        if cursor is None:
            return [key(item) for page in pages for item in page["items"]], pages


def _api_keys(org, count: int) -> list[ApiKey]:
    return [
        services.api_key_create(organization=org, name=f"key {n}", scopes=["personas:read"], granted_by=frozenset(SCOPES)).api_key
        for n in range(count)
    ]


@pytest.fixture
def client(tenant, api_for):
    return api_for(tenant.org)


def test_a_descending_list_with_ties_is_walked_once_in_order(tenant, client):
    """API keys are newest first; the primary key orders keys created at the same instant."""
    keys = _api_keys(tenant.org, 6)
    now = timezone.now()
    ApiKey.objects.filter(pk__in=[keys[1].pk, keys[2].pk, keys[3].pk]).update(created_at=now)
    ApiKey.objects.filter(pk=keys[4].pk).update(created_at=now + timedelta(seconds=1))
    expected = [str(key.public_id) for key in _sorted(ApiKey.objects.filter(organization=tenant.org), ("created_at", True))]
    for limit in (1, 2, 3, len(expected) - 1, len(expected), 500):
        ids, pages = _walk(client, "/v1/api-keys", limit)
        assert ids == expected, limit
        assert all(page["count"] == len(expected) for page in pages)
        assert len(pages) == max(1, -(-len(expected) // limit))


def test_an_ascending_list_with_ties_is_walked_once_in_order(tenant, client):
    """Workspaces are by name; names may repeat (slugs may not)."""
    for slug, name in (("b1", "Beta"), ("a1", "Alpha"), ("b2", "Beta"), ("c", "Gamma"), ("b3", "Beta")):
        assert client.post("/v1/workspaces", json={"name": name, "slug": slug}).status_code == 201
    expected = [str(workspace.public_id) for workspace in _sorted(Workspace.objects.filter(organization=tenant.org), ("name", False))]
    for limit in (1, 2, 4):
        assert _walk(client, "/v1/workspaces", limit)[0] == expected


def test_a_list_ordered_through_a_relation_is_walked_once_in_order(tenant, client):
    """Members are by their user's email."""
    expected = sorted(tenant.org.memberships.select_related("user"), key=lambda member: member.user.email)
    assert _walk(client, "/v1/members", 2)[0] == [str(member.public_id) for member in expected]


def test_a_row_inserted_before_the_cursor_does_not_shift_the_next_page(tenant, client):
    _api_keys(tenant.org, 4)  # with the client's own: 5 keys
    first = client.get("/v1/api-keys?limit=2").json()
    second = client.get("/v1/api-keys", data={"limit": 2, "cursor": first["next_cursor"]}).json()
    _api_keys(tenant.org, 3)  # newer than every key: before the cursor
    again = client.get("/v1/api-keys", data={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert again["items"] == second["items"] and again["count"] == second["count"] + 3


def test_a_row_inserted_before_the_cursor_of_an_ascending_list_does_not_shift_it(tenant, client):
    first = client.get("/v1/members?limit=2").json()
    second = client.get("/v1/members", data={"limit": 2, "cursor": first["next_cursor"]}).json()
    services.member_add(organization=tenant.org, user=make_user("aaa@acme.test"), role="viewer")  # first by email
    again = client.get("/v1/members", data={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert again["items"] == second["items"] and again["count"] == second["count"] + 1


def test_an_empty_list_one_item_and_exactly_a_page(tenant, client):
    assert client.get("/v1/webhooks").json() == {"count": 0, "next_cursor": None, "items": []}
    one = client.get("/v1/workspaces").json()
    assert one["count"] == 1 and len(one["items"]) == 1 and one["next_cursor"] is None
    for n in range(2):
        assert client.post("/v1/workspaces", json={"name": f"Lab {n}"}).status_code == 201
    exactly = client.get("/v1/workspaces?limit=3").json()
    assert exactly["count"] == 3 and len(exactly["items"]) == 3 and exactly["next_cursor"] is None
    assert client.get("/v1/workspaces?limit=2").json()["next_cursor"]


def test_a_plain_list_pages_by_a_signed_position(client):
    """Webhook events are a list in code, not a queryset."""
    every = client.get("/v1/webhooks/events?limit=500").json()
    ids, pages = [item["name"] for item in every["items"]], []
    cursor = None
    while True:
        page = client.get("/v1/webhooks/events", data={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        pages += [item["name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == ids and every["count"] == len(ids) > 2


def test_out_of_range_limits_are_422_naming_limit(client):
    for query in ("limit=0", "limit=501", "limit=-1", "limit=x"):
        response = client.get(f"/v1/training-jobs?{query}")
        assert response.status_code == 422, query
        assert response.json()["detail"][0]["loc"][-1] == "limit"
    assert client.get("/v1/training-jobs?limit=500").status_code == 200


def test_a_malformed_tampered_or_foreign_cursor_is_422_naming_cursor(tenant, client):
    _api_keys(tenant.org, 3)
    real = client.get("/v1/api-keys?limit=1").json()["next_cursor"]
    position = client.get("/v1/webhooks/events?limit=1").json()["next_cursor"]
    tampered = real[:-1] + ("A" if real[-1] != "A" else "B")
    for cursor in ("garbage", "", "a:b:c", tampered, real[5:], position, "é" * 50):
        if not cursor:
            continue  # an empty cursor is the first page
        response = client.get("/v1/api-keys", data={"cursor": cursor})
        assert response.status_code == 422, cursor
        assert response.json()["detail"] == [{"loc": ["cursor"], "msg": "cursor must be the next_cursor of an earlier page of this list"}]
    assert client.get("/v1/api-keys?cursor=").json()["count"] == 4


# --- the paginator on any ordering --------------------------------------------------------------------------------


def _paged(queryset, limit: int) -> list:
    """Every item of `queryset` through the paginator, following next_cursor."""
    pagination, request = StudioPagination(), RequestFactory().get("/v1/anything")
    items, cursor = [], None
    while True:
        page = pagination.paginate_queryset(queryset, StudioPagination.Input(limit=limit, cursor=cursor), request)
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def _sorted(rows, *keys):
    """`rows` sorted by (attribute, descending) keys then the primary key, NULLs where this database sorts them."""
    null_rank = 1 if connection.features.nulls_order_largest else -1
    rows = sorted(rows, key=lambda row: row.pk)
    for attribute, descending in reversed(keys):
        rows.sort(key=lambda row: (null_rank, 0) if _value(row, attribute) is None else (0, _value(row, attribute)), reverse=descending)
    return rows


def _value(row, attribute: str):
    for step in attribute.split("__"):
        row = getattr(row, step) if row is not None else None
    return row


@pytest.fixture
def keys(tenant):
    """Nine API keys with repeated names, some never used, some made by nobody (a deleted user)."""
    now = timezone.now()
    made = []
    for n in range(9):
        made.append(ApiKey.objects.create(
            organization=tenant.org, name=f"key {n % 3}", prefix="ps_", key_hash=f"{n:064d}",
            created_by=None if n % 4 == 0 else tenant.user(["owner", "admin"][n % 2]),
            last_used_at=None if n % 3 == 1 else now - timedelta(minutes=n % 5),
        ))
    return ApiKey.objects.filter(pk__in=[key.pk for key in made])


@pytest.mark.parametrize("ordering", [
    ("name",), ("-name",), ("name", "-last_used_at"), ("-last_used_at",), ("last_used_at", "-name"),
    ("created_by__email",), ("-created_by__email", "name"), ("-pk",),
])
def test_every_ordering_is_walked_once_in_order(keys, ordering):
    queryset = keys.select_related("created_by").order_by(*ordering)
    assert sort_keys(queryset) is not None
    expected = _sorted(queryset, *((term.removeprefix("-").replace("pk", "id"), term.startswith("-")) for term in ordering))
    for limit in (1, 2, 4, 9):
        assert _paged(queryset, limit) == expected, (ordering, limit)


def test_explicit_null_placement_is_followed(keys):
    used = sorted((key for key in keys if key.last_used_at), key=lambda key: (key.last_used_at, key.pk))
    never = sorted((key for key in keys if key.last_used_at is None), key=lambda key: key.pk)
    assert _paged(keys.order_by(F("last_used_at").asc(nulls_first=True)), 2) == never + used
    assert _paged(keys.order_by(F("last_used_at").desc(nulls_last=True)), 2) == _sorted(used, ("last_used_at", True)) + never


def test_an_ordering_keyset_cannot_follow_pages_by_position(keys):
    """Random, an expression, a relation (ordered by the related model's ordering)."""
    for queryset in (keys.order_by("?"), keys.order_by(Lower("name")), keys.order_by("created_by"), keys.order_by("name__lower")):
        assert sort_keys(queryset) is None
    queryset = keys.order_by(Lower("name").desc(), "pk")
    assert _paged(queryset, 2) == _sorted(keys, ("name", True))


def test_a_plain_list_and_an_empty_one():
    assert _paged(list(range(7)), 3) == list(range(7))
    assert _paged([], 3) == []
    assert StudioPagination().paginate_queryset([], StudioPagination.Input(), RequestFactory().get("/")) == {
        "count": 0, "next_cursor": None, "items": []}
