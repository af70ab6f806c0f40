"""Where a webhook may be sent: http(s) URLs whose host resolves only to public addresses (SSRF guard). No Django.

Checked when an endpoint is saved and again before every delivery (DNS can change); the
delivery then connects to the address that was checked, so a rebinding between check and
connect cannot reach an internal service.
"""

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

SCHEMES = {"http": 80, "https": 443}


class UnsafeUrl(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # as written in the URL: the Host header and TLS server name
    port: int
    path: str  # path + query, as sent in the request line
    address: str  # the checked IP address to connect to


def _refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    for flag in ("loopback", "link_local", "unspecified", "multicast", "reserved", "private"):  # most specific first
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    if not ip.is_global:  # e.g. 100.64.0.0/10, shared address space
        return "non-public"
    return None


def check_url(url: str, *, allow_private: bool = False) -> Target:
    """The URL's target with a checked address, or UnsafeUrl saying why it may not be used."""
    try:
        parts = urlsplit((url or "").strip())
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise UnsafeUrl("the URL must start with http:// or https://")
    host = parts.hostname
    if not host:
        raise UnsafeUrl("the URL has no host")
    port = port or SCHEMES[scheme]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UnsafeUrl(f"the host {host} does not resolve ({exc})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeUrl(f"the host {host} does not resolve")
    if not allow_private:
        for address in addresses:
            reason = _refusal(ipaddress.ip_address(address.split("%", 1)[0]))
            if reason:
                raise UnsafeUrl(f"the host {host} resolves to a {reason} address ({address}); webhooks go to public addresses only")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme=scheme, host=host, port=port, path=path, address=addresses[0])
