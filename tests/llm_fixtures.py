"""Fixtures for the OpenAI-compatible test server (tests/llm_server.py).

tests/conftest.py imports them:
    from tests.llm_fixtures import llm_org, llm_server, llm_server_session  # noqa: F401

- `llm_server`: the server, reset for this test (empty script, no latency, no
  recorded requests), with the gateway's retry backoff made tiny.
- `llm_org`: `tenant.org` with an OpenAI-compatible credential pointing at it, so
  `openai/<name>` models go through the real litellm path to the server.
"""

import pytest

from studio import services
from tests.llm_server import LLMServer

TEST_API_KEY = "sk-test-12345678"


@pytest.fixture(scope="session")
def llm_server_session():
    server = LLMServer().start()
    yield server
    server.stop()


@pytest.fixture
def llm_server(llm_server_session, settings):
    settings.LLM_RETRY_BACKOFF_S = 0.001
    llm_server_session.reset()
    yield llm_server_session
    llm_server_session.reset()


def point_org_at(org, server: LLMServer):
    """Give `org` an OpenAI-compatible endpoint at the test server."""
    services.credential_set(organization=org, provider="openai_compatible", api_key=TEST_API_KEY, api_base=server.url + "/v1")
    return org


@pytest.fixture
def llm_org(tenant, llm_server):
    return point_org_at(tenant.org, llm_server)
