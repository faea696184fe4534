"""Browser-origin defence for ``pipelines serve``: no web page can reach the local API.

A page a user visits can make the browser send requests to ``http://127.0.0.1:8080`` (form
posts, ``fetch`` in ``no-cors`` mode, images, scripts), or point its own host name at
127.0.0.1 (DNS rebinding) and read the answers. Checked before anything else, on every protocol:

1. **Host**: only names the server is bound to (the bound address; loopback names when bound to
   loopback; any IP literal when bound to every interface) and the configured
   ``[serve] allowed_hosts``. A rebinding page's requests carry its own host name: refused.
2. **Origin**: a request that names an ``Origin`` is refused unless that origin is in
   ``[serve] allowed_origins``; ``"self"`` there allows pages served by this server itself
   (the same-origin web console). ``Sec-Fetch-Site: cross-site``/``same-site`` (which browsers
   send even where they omit ``Origin``) is refused the same way.
3. **CORS-simple writes**: a ``POST`` that a page could send without a preflight (a
   form-encoded, ``multipart/form-data`` or ``text/plain`` body, or none, and no
   ``Authorization`` or ``X-Amz-*`` header) is refused. Other writes need a preflight, and
   preflights are never granted to origins outside the allowlist.
4. **No CORS headers** unless an allowed cross-origin page asks.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

SELF = "self"
_SIMPLE_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})
_EXPOSED_HEADERS = "ETag, x-amz-request-id, x-amzn-RequestId, x-amz-version-id, Content-Range"


class Refused(Exception):
    """The request came, or may have come, from a web page; it is answered 403."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def host_name(host_header: str) -> str:
    """``[::1]:8080`` -> ``::1``; ``Example.COM:80`` -> ``example.com``."""
    text = host_header.strip().lower()
    if text.startswith("["):
        return text[1:].partition("]")[0]
    if text.count(":") == 1:
        return text.partition(":")[0]
    return text.rstrip(".")


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    """Whether a bind address (name or IP literal) is loopback only."""
    name = host_name(host) if not _ip(host) else host
    address = _ip(name)
    return name in _LOOPBACK_NAMES or (address is not None and address.is_loopback)


@dataclass
class BrowserGuard:
    """The checks of the module docstring for one server."""

    allowed_hosts: Iterable[str] = ()
    allowed_origins: Iterable[str] = ()
    bound_host: str = "127.0.0.1"
    _hosts: frozenset[str] = field(init=False, default=frozenset())
    _origins: frozenset[str] = field(init=False, default=frozenset())

    def __post_init__(self) -> None:
        self._hosts = frozenset(host_name(h) for h in self.allowed_hosts)
        self._origins = frozenset(o.strip().rstrip("/").lower() for o in self.allowed_origins)

    def listening_on(self, host: str) -> None:
        """Tell the guard which address the server is bound to."""
        self.bound_host = host

    def host_allowed(self, host_header: str | None) -> bool:
        if not host_header:
            return False
        name = host_name(host_header)
        if name in self._hosts:
            return True
        bound = _ip(self.bound_host)
        wildcard = bound is not None and bound.is_unspecified
        address = _ip(name)
        if wildcard:
            return address is not None or name in _LOOPBACK_NAMES
        if is_loopback(self.bound_host) and (name in _LOOPBACK_NAMES or (address and address.is_loopback)):
            return True
        return address is not None and bound is not None and address == bound

    def origin_allowed(self, origin: str, host_header: str) -> bool:
        wanted = origin.strip().rstrip("/").lower()
        if wanted in self._origins:
            return True
        return SELF in self._origins and wanted == f"http://{host_header.strip().lower()}"

    def check(self, method: str, headers: Mapping[str, str]) -> dict[str, str]:
        """Raise Refused, or return the CORS headers the response must carry (none by default).
        ``headers`` are keyed by lower-case name."""
        host = headers.get("host") or ""
        if not self.host_allowed(host):
            raise Refused(
                f"Host {host!r} is not a name this server answers to; add it to [serve] allowed_hosts"
            )
        origin = headers.get("origin")
        fetch_site = (headers.get("sec-fetch-site") or "").lower()
        if origin is not None:
            if not self.origin_allowed(origin, host):
                raise Refused(f"requests from pages at {origin!r} are refused; see [serve] allowed_origins")
        elif fetch_site in ("cross-site", "same-site") or (
            fetch_site == "same-origin" and SELF not in self._origins
        ):
            raise Refused("requests from web pages are refused; see [serve] allowed_origins")
        if method.upper() == "POST" and _cors_simple(headers):
            raise Refused(
                "a POST a web page could send without a preflight (form, text/plain or no content "
                "type, unsigned) is refused; send the protocol's content type or sign the request"
            )
        if origin is None or not self._cross_origin(origin, host):
            return {}  # same-origin pages need no CORS headers
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Expose-Headers": _EXPOSED_HEADERS,
            "Vary": "Origin",
        }

    def preflight(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The answer to an allowed origin's preflight (``OPTIONS``); raises Refused otherwise."""
        cors = self.check("OPTIONS", headers)
        if not cors:
            raise Refused("CORS preflight refused: no cross-origin page is allowed")
        return {
            **cors,
            "Access-Control-Allow-Methods": "GET, HEAD, PUT, POST, DELETE",
            "Access-Control-Allow-Headers": headers.get("access-control-request-headers") or "",
            "Access-Control-Max-Age": "600",
        }

    @staticmethod
    def _cross_origin(origin: str, host_header: str) -> bool:
        return origin.strip().rstrip("/").lower() != f"http://{host_header.strip().lower()}"


def _cors_simple(headers: Mapping[str, str]) -> bool:
    """Whether a browser could send these headers cross-origin without asking first."""
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type and content_type not in _SIMPLE_CONTENT_TYPES:
        return False
    return not any(name == "authorization" or name.startswith("x-amz-") for name in headers)
