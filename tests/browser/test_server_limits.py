"""The live server's own limits, through daphne (the browser tests' server: embedded, or the services stack)."""

import urllib.error
import urllib.request

import pytest

from tests.browser.conftest import PAGE_WAIT_MS

pytestmark = pytest.mark.browser


def answer(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=PAGE_WAIT_MS / 1000) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_20_kb_query_string_gets_a_414_with_its_message_not_a_dropped_connection(studio_server):
    """Twisted cut the connection at 16 KB of request line, with no response at all (issue 16)."""
    status, body = answer(studio_server.url + "/v1/personas?q=" + "x" * 20 * 1024)
    assert status == 414 and b"at most 8,192 are accepted" in body
