"""Every list operation answers one page shape, {count, next_offset, items}, chosen with limit and offset."""

from studio.api import api


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


def test_every_page_has_the_same_fields_and_takes_limit_and_offset():
    pages = 0
    for path, method, operation, schema, components in _operations():
        properties = _resolved(schema, components).get("properties", {})
        if "next_offset" not in properties:
            continue
        pages += 1
        assert set(properties) == {"count", "next_offset", "items"}, f"{path}: {sorted(properties)}"
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {"limit", "offset"} <= query, f"{path} takes {sorted(query)}"
    assert pages >= 24


def test_pages_follow_next_offset_to_the_end(tenant, api_for):
    client = api_for(tenant.org)
    for n in range(4):
        assert client.post("/v1/workspaces", json={"name": f"Lab {n}"}).status_code == 201
    seen, offset = [], 0
    while offset is not None:
        page = client.get(f"/v1/workspaces?limit=2&offset={offset}").json()
        seen += [w["id"] for w in page["items"]]
        offset = page["next_offset"]
    assert len(seen) == len(set(seen)) == page["count"] >= 4
    assert client.get(f"/v1/workspaces?offset={page['count']}").json() == {"count": page["count"], "next_offset": None, "items": []}


def test_out_of_range_limits_and_offsets_are_422_naming_the_field(tenant, api_for):
    client = api_for(tenant.org)
    for query, field in (("limit=0", "limit"), ("limit=501", "limit"), ("offset=-1", "offset"), ("limit=x", "limit")):
        response = client.get(f"/v1/training-jobs?{query}")
        assert response.status_code == 422, query
        assert response.json()["detail"][0]["loc"][-1] == field
