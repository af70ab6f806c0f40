"""Webhook signatures and the URL guard: pure functions, no database."""

import socket

import pytest

from studio.webhooks.signing import sign, verify
from studio.webhooks.urlcheck import UnsafeUrl, check_url

SECRET = "whsec_test-secret"
BODY = b'{"id":"1","event":"persona.generated","data":{"name":"Ines"}}'
T = 1_700_000_000


def test_a_signature_has_the_documented_format():
    header = sign(SECRET, BODY, T)
    t, v1 = header.split(",")
    assert t == f"t={T}" and v1.startswith("v1=") and len(v1) == 3 + 64


def test_verify_accepts_a_fresh_signature_of_the_exact_body():
    assert verify(SECRET, BODY, sign(SECRET, BODY, T), now=T + 10)


def test_verify_rejects_a_tampered_body():
    assert not verify(SECRET, BODY.replace(b"Ines", b"Eve"), sign(SECRET, BODY, T), now=T)


def test_verify_rejects_the_wrong_secret():
    assert not verify("whsec_other", BODY, sign(SECRET, BODY, T), now=T)


def test_verify_rejects_a_replayed_old_signature():
    header = sign(SECRET, BODY, T)
    assert verify(SECRET, BODY, header, tolerance_s=300, now=T + 299)
    assert not verify(SECRET, BODY, header, tolerance_s=300, now=T + 301)


def test_verify_rejects_a_timestamp_moved_forward_to_dodge_the_replay_window():
    old = sign(SECRET, BODY, T)
    forged = old.replace(f"t={T}", f"t={T + 3600}")
    assert not verify(SECRET, BODY, forged, now=T + 3600)


@pytest.mark.parametrize("header", ["", "garbage", f"t={T}", "v1=abc", f"t=x,v1={'0' * 64}"])
def test_verify_rejects_malformed_headers(header):
    assert not verify(SECRET, BODY, header, now=T)


def test_verify_accepts_any_of_several_v1_signatures():
    header = sign(SECRET, BODY, T) + ",v1=" + "0" * 64
    assert verify(SECRET, BODY, header, now=T)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook", "http://127.1.2.3:8080/hook", "http://10.0.0.5/hook", "http://192.168.1.1/",
        "http://172.16.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook", "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/", "http://224.0.0.1/", "http://localhost:8000/hook",
    ],
)
def test_urls_resolving_to_internal_addresses_are_refused(url):
    with pytest.raises(UnsafeUrl):
        check_url(url)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://93.184.216.34/x", "gopher://93.184.216.34/", "https:///nohost", "not a url", ""])
def test_only_http_and_https_urls_with_a_host_are_accepted(url):
    with pytest.raises(UnsafeUrl):
        check_url(url)


def test_a_public_address_is_accepted_and_kept_for_the_connection():
    target = check_url("https://93.184.216.34:8443/hooks?x=1")
    assert (target.scheme, target.host, target.port, target.path, target.address) == ("https", "93.184.216.34", 8443, "/hooks?x=1", "93.184.216.34")


def test_a_hostname_is_refused_when_any_of_its_addresses_is_internal(monkeypatch):
    def resolve(host, port, **kw):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in ("93.184.216.34", "10.1.2.3")]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(UnsafeUrl, match="private"):
        check_url("https://hooks.example.com/x")


def test_internal_addresses_are_allowed_when_the_setting_says_so():
    assert check_url("http://127.0.0.1:9000/hook", allow_private=True).address == "127.0.0.1"


def test_the_readme_snippet_verifies_like_the_library():
    import re
    import time
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    snippet = re.search(r"### Verifying webhook signatures.*?```python\n(.*?)```", readme, re.S).group(1)
    namespace = {}
    exec(snippet, namespace)
    now = int(time.time())
    assert namespace["verify"](SECRET, BODY, sign(SECRET, BODY, now))
    assert not namespace["verify"]("whsec_other", BODY, sign(SECRET, BODY, now))
    assert not namespace["verify"](SECRET, BODY + b" ", sign(SECRET, BODY, now))
    assert not namespace["verify"](SECRET, BODY, sign(SECRET, BODY, now - 3600))
