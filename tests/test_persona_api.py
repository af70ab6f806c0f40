"""Reading, listing, editing and deleting personas through the API."""

from django.test.utils import CaptureQueriesContext
from django.db import connection

from personas.models import Persona, PersonaVersion
from tests.generation_helpers import BRIEF


def _ready(generate, owner_api, brief=BRIEF):
    body = generate(brief).json()
    return owner_api.get(f"/v1/personas/{body['id']}").json()


def test_patching_a_layer_validates_it_and_adds_a_version(generate, owner_api):
    persona = _ready(generate, owner_api)
    soul = {**persona["layers"]["soul"], "fear": "that the letters stop coming"}
    response = owner_api.patch(f"/v1/personas/{persona['id']}", json={"layers": {"soul": soul}, "note": "sharper fear"})
    assert response.status_code == 200
    body = response.json()
    assert body["version"] == persona["version"] + 1 and body["layers"]["soul"]["fear"] == "that the letters stop coming"
    versions = owner_api.get(f"/v1/personas/{persona['id']}/versions").json()["items"]
    assert [v["number"] for v in versions] == [body["version"], persona["version"]]
    assert versions[0]["source"] == "edit" and versions[0]["note"] == "sharper fear"
    diff = owner_api.get(f"/v1/personas/{persona['id']}/versions/diff?from={persona['version']}&to={body['version']}").json()
    assert diff["changes"] == [{"layer": "soul", "field": "fear", "label": "Fear", "kind": "value",
                                "old": persona["layers"]["soul"]["fear"], "new": "that the letters stop coming"}]


def test_an_invalid_layer_edit_is_refused_naming_the_field_and_changes_nothing(generate, owner_api):
    persona = _ready(generate, owner_api)
    bad_self = {**persona["layers"]["self"], "big_five": {**persona["layers"]["self"]["big_five"], "openness": 7}}
    response = owner_api.patch(f"/v1/personas/{persona['id']}", json={"layers": {"self": bad_self}})
    assert response.status_code == 422 and "self.big_five.openness" in str(response.json()["detail"])
    response = owner_api.patch(f"/v1/personas/{persona['id']}", json={"layers": {"spirit": {}}})
    assert response.status_code == 422 and "spirit" in str(response.json()["detail"])
    assert PersonaVersion.objects.filter(persona__public_id=persona["id"]).count() == 1


def test_the_list_pages_with_limit_and_cursor_and_filters(generate, owner_api, tenant):
    for n in range(5):
        generate(f"{BRIEF} Variant {n}.")
    first = owner_api.get("/v1/personas?limit=2").json()
    assert len(first["items"]) == 2 and first["count"] == 5 and first["next_cursor"]
    second = owner_api.get("/v1/personas", data={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = owner_api.get("/v1/personas", data={"limit": 2, "cursor": second["next_cursor"]}).json()
    ids = [p["id"] for page in (first, second, third) for p in page["items"]]
    assert len(ids) == len(set(ids)) == 5 and third["next_cursor"] is None
    assert len(owner_api.get("/v1/personas?q=Variant 3").json()["items"]) == 1
    assert owner_api.get("/v1/personas?workspace=default").json()["items"]
    assert owner_api.get("/v1/personas?status=failed").json()["items"] == []
    assert owner_api.get("/v1/personas?status=bogus").status_code == 422
    for bad in ("limit=0", "limit=501", "limit=garbage", "cursor=garbage"):
        response = owner_api.get(f"/v1/personas?{bad}")
        assert response.status_code == 422 and response.json()["detail"][0]["loc"][-1] == bad.split("=")[0]


def test_listing_uses_the_same_number_of_queries_for_few_and_many_personas(generate, owner_api):
    generate()

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert owner_api.get("/v1/personas?limit=50").status_code == 200
        return len(ctx.captured_queries)

    few = count()
    for n in range(6):
        generate(f"{BRIEF} {n}")
    assert count() == few


def test_deleting_a_persona(generate, owner_api, tenant, api_for):
    persona = _ready(generate, owner_api)
    assert api_for(tenant.org, scopes=["personas:read"]).delete(f"/v1/personas/{persona['id']}").status_code == 403
    assert owner_api.delete(f"/v1/personas/{persona['id']}").status_code == 204
    assert owner_api.get(f"/v1/personas/{persona['id']}").status_code == 404


def test_a_generating_persona_cannot_be_edited_or_deleted(owner_api):
    body = owner_api.post("/v1/personas", json={"brief": BRIEF}).json()
    assert owner_api.delete(f"/v1/personas/{body['id']}").status_code == 409
    assert owner_api.patch(f"/v1/personas/{body['id']}", json={"name": "X"}).status_code == 409
    assert Persona.objects.filter(public_id=body["id"]).exists()
