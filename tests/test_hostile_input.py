"""Hostile input on every API operation and every page, as a member allowed to do everything: never a 5xx.

The operations and pages are enumerated as the outsider scan does (a new route is covered automatically), with
acme's objects of every kind in the path. Each gets NUL bytes, lone UTF-16 surrogates, integers beyond any column,
and a 20 KB query string; the input boundary (studio/input_boundary.py) answers them before any view runs.
Then every body field gets the largest integer the boundary lets through (2**53 - 1), which views must refuse
themselves. Runs on SQLite (embedded pass) and PostgreSQL (services pass), which refuses NUL in text.
"""

import json
from urllib.parse import quote

import pytest
from django.test import Client

from studio.api import api
from studio.input_boundary import MAX_INTEGER
from tests.test_outsider_scan import PUBLIC_PAGES, _fill, _page_routes, victim  # noqa: F401  (the fixture)

NUL, SURROGATE = "a\x00b", "a\ud800b"
HUGE = 2**63  # one past PostgreSQL's bigint


def _hostile(schema: dict, components: dict, text, number, depth: int = 0):
    """A value for `schema` with every property present: strings `text`, integers `number`."""
    if "$ref" in schema:
        return _hostile(components[schema["$ref"].rsplit("/", 1)[-1]], components, text, number, depth)
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _hostile(options[0], components, text, number, depth)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {name: _hostile(sub, components, text, number, depth + 1) for name, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [_hostile(schema.get("items", {}), components, text, number, depth + 1)] if depth <= 4 else []
    if kind == "integer":
        return number
    if kind == "number":
        return float(number)
    if kind == "boolean":
        return True
    return text


def _operations():
    schema = api.get_openapi_schema()
    components = schema.get("components", {}).get("schemas", {})
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            body_schema = None
            if request_body := operation.get("requestBody"):
                content = request_body["content"].get("application/json")
                body_schema = content["schema"] if content else None
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            yield path, method, body_schema, query, components


def _call(client, method, url, body=None):
    kwargs = {"data": json.dumps(body), "content_type": "application/json"} if body is not None else {}
    return getattr(client, method)(url, **kwargs)


@pytest.fixture
def acme(request):
    """acme's objects of every kind, by path parameter (the outsider scan's fixture)."""
    return request.getfixturevalue("victim")


@pytest.fixture
def member_api(tenant, api_for):
    return api_for(tenant.org).client  # a key holding every scope


def test_every_api_operation_refuses_nul_surrogates_huge_integers_and_long_query_strings(acme, member_api):
    counts = {"requests": 0, "422": 0, "414": 0}
    for path, method, body_schema, query, components in _operations():
        url, _ = _fill(path, acme, r"\{(\w+)\}")
        cases = []
        for name in {*query, "q", "cursor"}:
            cases += [(f"{url}?{name}={quote(NUL)}", None, 422), (f"{url}?{name}={quote(SURROGATE, errors='surrogatepass')}", None, None),
                      (f"{url}?{name}={HUGE}", None, 422)]
        cases.append((f"{url}?q={'x' * 20 * 1024}", None, 414))
        if body_schema is not None and method in ("post", "put", "patch"):
            for text, number in ((NUL, 1), (SURROGATE, 1), ("x", HUGE)):
                body = _hostile(body_schema, components, text, number)
                if body == {} or body == []:
                    body = {"x": text, "n": number}
                cases.append((url, body, None))
        for target, body, expected in cases:
            response = _call(member_api, method, target, body)
            counts["requests"] += 1
            counts[str(response.status_code)] = counts.get(str(response.status_code), 0) + 1
            assert response.status_code < 500, f"{method.upper()} {target[:120]} {str(body)[:200]} → {response.status_code}"
            if expected is not None:
                assert response.status_code == expected, f"{method.upper()} {target[:120]} → {response.status_code}, not {expected}"
    print(f"\nAPI hostile-input scan: {counts}")
    assert counts["requests"] > 500


def test_every_api_body_field_gets_the_largest_integer_the_boundary_lets_through_without_a_5xx(acme, member_api):
    """2**53 - 1 passes the boundary: each view refuses what its columns cannot hold (422), never the database (500)."""
    checked = 0
    for path, method, body_schema, _, components in _operations():
        if body_schema is None or method not in ("post", "put", "patch"):
            continue
        url, _ = _fill(path, acme, r"\{(\w+)\}")
        body = _hostile(body_schema, components, "fine", MAX_INTEGER)
        response = _call(member_api, method, url, body)
        assert response.status_code < 500, f"{method.upper()} {url} {str(body)[:300]} → {response.status_code}: {response.content[:300]}"
        checked += 1
    assert checked >= 30


def test_every_page_refuses_nul_and_long_query_strings_with_a_4xx_page(acme, tenant):
    client = Client()
    client.force_login(tenant.user("owner"))
    requests = 0
    for route in _page_routes():
        path, _ = _fill(route, acme, r"<(?:\w+:)?(\w+)>")
        url = "/" + path
        checks = [("get", f"{url}?q={quote(NUL)}", None, 400), ("get", f"{url}?offset={HUGE}", None, 400),
                  ("get", f"{url}?q={'x' * 20 * 1024}", None, 414), ("post", url, {"name": NUL, "q": NUL}, 400)]
        for method, target, data, expected in checks:
            response = getattr(client, method)(target, data) if data else getattr(client, method)(target)
            requests += 1
            assert response.status_code == expected, f"{method.upper()} {target[:120]} → {response.status_code}, not {expected}"
        if route in PUBLIC_PAGES:
            continue
    print(f"\npage hostile-input scan: {requests} requests")
    assert requests > 100


def test_a_refusal_names_the_field_and_says_why(tenant, api_for):
    client = api_for(tenant.org).client
    response = _call(client, "post", "/v1/personas", {"brief": "A keeper of lights\x00 on Fair Isle"})
    assert response.status_code == 422
    assert response.json()["detail"] == [{"loc": ["brief"], "msg": "brief must not contain a NUL byte"}]
    response = client.get("/v1/personas?limit=9223372036854775808")
    assert response.status_code == 422 and response.json()["detail"][0]["loc"] == ["limit"]
    # Past what int() reads: a number "9" with a record separator after it (strip() removes it, int() does not), and
    # 5,000 digits (int() refuses over 4,300); schemathesis found the first as a 500.
    for limit in ("9%1E", "1" * 5000, "0" * 30 + "7"):
        response = client.get(f"/v1/personas?limit={limit}")
        assert response.status_code in (200, 422), (limit[:20], response.status_code)
    assert client.get(f"/v1/personas?limit={'1' * 5000}").json()["detail"][0]["msg"].startswith("limit is out of range")
    assert client.get("/v1/personas?limit=" + "0" * 30 + "7").status_code == 200  # leading zeros: 7, in range
    raw = '{"brief": "A keeper of lights \\ud800 on Fair Isle"}'
    response = client.post("/v1/personas", data=raw, content_type="application/json")
    assert response.status_code == 422 and "lone UTF-16 surrogate" in response.json()["detail"][0]["msg"]
