"""Provider credentials: encrypted at rest, write-only in page and API, environment variables as fallback."""

import pytest

from studio import crypto, services
from studio.models import ProviderCredential

OPENAI_KEY = "sk-proj-secretvalue-9876"
ANTHROPIC_KEY = "sk-ant-api03-supersecret-1234"



@pytest.fixture(autouse=True)
def no_provider_env(monkeypatch):
    """The machine running the tests may have real provider keys; none of them may leak in."""
    for key_var, base_var in services.ENV_FALLBACK.values():
        monkeypatch.delenv(key_var, raising=False)
        if base_var:
            monkeypatch.delenv(base_var, raising=False)


@pytest.fixture
def admin_page(tenant, client_for):
    return client_for(tenant.user("admin"))


def status_of(api, provider):
    return next(item for item in api.get("/v1/credentials").json()["items"] if item["provider"] == provider)


# --- setting ------------------------------------------------------------------------


def test_an_admin_sets_a_key_on_the_page_and_sees_only_its_last_four(tenant, admin_page):
    response = admin_page.post("/o/acme/credentials/anthropic/", {"api_key": ANTHROPIC_KEY}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    body = response.content.decode()
    assert "set ••••1234" in body
    assert "Saved." in body
    assert ANTHROPIC_KEY not in body
    assert ANTHROPIC_KEY not in admin_page.get("/o/acme/credentials/").content.decode()
    credential = ProviderCredential.objects.get(organization=tenant.org, provider="anthropic")
    assert credential.updated_by == tenant.user("admin")


def test_a_key_sets_a_credential_through_the_api_and_never_gets_it_back(tenant, api_for):
    api = api_for(tenant.org, scopes=["config:admin"])

    response = api.put("/v1/credentials/openai", json={"api_key": OPENAI_KEY})

    assert response.status_code == 200
    assert response.json() == {"provider": "openai", "label": "OpenAI", "source": "org", "masked": "set ••••9876", "api_base": ""}
    listing = api.get("/v1/credentials")
    assert OPENAI_KEY not in listing.content.decode()
    assert status_of(api, "openai")["masked"] == "set ••••9876"


def test_it_is_stored_encrypted_and_decrypts_back(tenant, api_for):
    api_for(tenant.org).put("/v1/credentials/anthropic", json={"api_key": ANTHROPIC_KEY})

    stored = bytes(ProviderCredential.objects.get(organization=tenant.org, provider="anthropic").encrypted_api_key)

    assert ANTHROPIC_KEY.encode() not in stored
    assert b"supersecret" not in stored
    assert crypto.decrypt(stored) == ANTHROPIC_KEY


def test_replacing_a_key_keeps_one_credential_per_provider(tenant, api_for):
    api = api_for(tenant.org)
    api.put("/v1/credentials/anthropic", json={"api_key": ANTHROPIC_KEY})

    api.put("/v1/credentials/anthropic", json={"api_key": "sk-ant-replacement-5555"})

    assert ProviderCredential.objects.filter(organization=tenant.org, provider="anthropic").count() == 1
    assert services.credential_resolve(organization=tenant.org, provider="anthropic")["api_key"] == "sk-ant-replacement-5555"
    assert status_of(api, "anthropic")["masked"] == "set ••••5555"


def test_credentials_belong_to_one_org(tenant, outsider_tenant, api_for):
    api_for(tenant.org).put("/v1/credentials/anthropic", json={"api_key": ANTHROPIC_KEY})

    assert status_of(api_for(outsider_tenant.org), "anthropic")["source"] == "none"
    assert services.credential_resolve(organization=outsider_tenant.org, provider="anthropic") is None


# --- OpenAI-compatible endpoints and bad input ------------------------------------------


def test_an_openai_compatible_endpoint_requires_an_api_base(tenant, api_for):
    response = api_for(tenant.org).put("/v1/credentials/openai_compatible", json={"api_key": "local-key-0000"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["api_base"]
    assert not ProviderCredential.objects.exists()


def test_an_openai_compatible_endpoint_stores_its_api_base(tenant, api_for):
    api = api_for(tenant.org)

    response = api.put(
        "/v1/credentials/openai_compatible", json={"api_key": "local-key-0000", "api_base": "http://vllm.internal:8000/v1"}
    )

    assert response.status_code == 200
    assert response.json()["api_base"] == "http://vllm.internal:8000/v1"
    assert services.credential_resolve(organization=tenant.org, provider="openai_compatible") == {
        "api_key": "local-key-0000", "api_base": "http://vllm.internal:8000/v1",
    }


def test_the_page_shows_a_missing_api_base_beside_the_field(admin_page):
    response = admin_page.post("/o/acme/credentials/openai_compatible/", {"api_key": "local-key-0000"}, HTTP_HX_REQUEST="true")

    assert response.status_code == 422
    body = response.content.decode()
    assert 'data-field="api_base"' in body
    assert "api_base is required" in body
    assert 'aria-invalid="true"' in body


def test_an_api_base_must_be_an_http_url(tenant, api_for):
    response = api_for(tenant.org).put(
        "/v1/credentials/openai_compatible", json={"api_key": "local-key-0000", "api_base": "file:///etc/passwd"}
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["api_base"]


@pytest.mark.parametrize("api_key", ["short", "has a space in it", "x" * 501])
def test_a_malformed_key_is_refused_naming_api_key(tenant, api_for, api_key):
    response = api_for(tenant.org).put("/v1/credentials/anthropic", json={"api_key": api_key})

    assert response.status_code == 422
    assert "api_key" in response.json()["detail"][0]["loc"]


def test_an_unknown_provider_is_not_found(tenant, api_for, admin_page):
    api = api_for(tenant.org)

    assert api.put("/v1/credentials/acme-llm", json={"api_key": "whatever-123"}).status_code == 404
    assert api.delete("/v1/credentials/acme-llm").status_code == 404
    assert admin_page.post("/o/acme/credentials/acme-llm/", {"api_key": "whatever-123"}).status_code == 404
    assert admin_page.post("/o/acme/credentials/acme-llm/clear/").status_code == 404


# --- clearing -----------------------------------------------------------------------


def test_clearing_through_the_api_removes_the_credential(tenant, api_for):
    api = api_for(tenant.org)
    api.put("/v1/credentials/google", json={"api_key": "AIza-google-key-4321"})

    assert api.delete("/v1/credentials/google").status_code == 204

    assert status_of(api, "google")["source"] == "none"
    assert services.credential_resolve(organization=tenant.org, provider="google") is None


def test_clearing_on_the_page_removes_the_credential(tenant, admin_page):
    admin_page.post("/o/acme/credentials/anthropic/", {"api_key": ANTHROPIC_KEY})

    response = admin_page.post("/o/acme/credentials/anthropic/clear/", HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "Cleared." in response.content.decode()
    assert "••••1234" not in response.content.decode()
    assert not ProviderCredential.objects.filter(organization=tenant.org).exists()


def test_clearing_an_unset_provider_is_harmless(tenant, api_for):
    assert api_for(tenant.org).delete("/v1/credentials/anthropic").status_code == 204


# --- environment fallback -----------------------------------------------------------


def test_an_environment_variable_is_the_fallback(tenant, api_for, admin_page, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-7777")

    status = status_of(api_for(tenant.org), "openai")

    assert status["source"] == "environment"
    assert status["masked"] == "from $OPENAI_API_KEY"
    assert services.credential_resolve(organization=tenant.org, provider="openai") == {
        "api_key": "sk-from-the-environment-7777", "api_base": None,
    }
    page = admin_page.get("/o/acme/credentials/").content.decode()
    assert "from $OPENAI_API_KEY" in page
    assert "sk-from-the-environment-7777" not in page


def test_the_org_key_beats_the_environment(tenant, api_for, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-the-environment-7777")
    api = api_for(tenant.org)

    api.put("/v1/credentials/openai", json={"api_key": OPENAI_KEY})

    assert status_of(api, "openai")["source"] == "org"
    assert services.credential_resolve(organization=tenant.org, provider="openai")["api_key"] == OPENAI_KEY


def test_with_neither_nothing_resolves(tenant):
    for provider in ["anthropic", "openai", "google", "openai_compatible"]:
        assert services.credential_resolve(organization=tenant.org, provider=provider) is None


# --- the dashboard banner and who may manage credentials ----------------------------------


def test_the_dashboard_says_offline_only_while_no_credentials_exist(tenant, client_for, api_for):
    viewer = client_for(tenant.user("viewer"))
    banner = "Offline demo engine — no LLM"
    assert banner in viewer.get("/o/acme/").content.decode()
    assert api_for(tenant.org).get("/v1/org").json()["llm_mode"] == "offline"

    api_for(tenant.org).put("/v1/credentials/anthropic", json={"api_key": ANTHROPIC_KEY})

    assert banner not in viewer.get("/o/acme/").content.decode()
    assert api_for(tenant.org).get("/v1/org").json()["llm_mode"] == "providers"


def test_the_dashboard_counts_an_environment_key_as_online(tenant, client_for, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-env-0000")

    assert "Offline demo engine" not in client_for(tenant.user("viewer")).get("/o/acme/").content.decode()


@pytest.mark.parametrize("role", ["editor", "reviewer", "viewer"])
def test_members_below_admin_cannot_see_or_set_credentials(tenant, client_for, role):
    client = client_for(tenant.user(role))

    assert client.get("/o/acme/credentials/").status_code == 403
    response = client.post("/o/acme/credentials/anthropic/", {"api_key": ANTHROPIC_KEY})
    assert response.status_code == 403
    assert "config:admin" in response.content.decode()
    assert not ProviderCredential.objects.exists()
