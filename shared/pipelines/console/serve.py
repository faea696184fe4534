"""Serving the console's static files from ``pipelines serve`` (see the package docstring).

Why a WSGI wrapper rather than routes inside the API app: the API's dispatch decides between
four AWS protocols by headers and paths, and the console must not change any of those
decisions. The wrapper claims only requests no AWS client sends (``/_console/*``, and browser
navigations to the console's routes) and hands everything else to the API untouched.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from pipelines.api.browser import SELF, BrowserGuard, Refused

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

ASSET_PREFIX = "/_console/"
CONFIG_PATH = ASSET_PREFIX + "config.json"
# The console's own routes: a browser navigation (Accept: text/html) to one of these gets the app.
_ROUTES = re.compile(r"^/(?:(?:pipelines|executions)/[^/]+|compare|models|pipelines)?/?$")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}


def content_security_policy(api_endpoint: str = "") -> str:
    """No inline scripts or styles, no eval, nothing from another origin but the API."""
    connect = "'self'" + (f" {api_endpoint}" if api_endpoint else "")
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; font-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


_SECURITY_HEADERS = {
    "Content-Security-Policy": content_security_policy(),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    content_type: str

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'


def static_root() -> Any:
    """The built console (a Traversable: works from a wheel as from a checkout)."""
    return resources.files("pipelines.console") / "static"


@cache
def _asset(relative: str) -> Asset | None:
    if not relative or ".." in relative.split("/") or relative.startswith("/"):
        return None
    item = static_root().joinpath(*relative.split("/"))
    if not item.is_file():
        return None
    suffix = "." + relative.rsplit(".", 1)[-1] if "." in relative else ""
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(relative)[0] or "application/octet-stream"
    return Asset(item.read_bytes(), content_type)


def config_document(region: str) -> bytes:
    """``_console/config.json`` for ``pipelines serve``: the API is this origin, no sign-in."""
    return json.dumps({"apiEndpoint": "", "region": region, "auth": None}).encode()


def wants_console(method: str, path: str, accept: str) -> bool:
    """Whether a request is the console's rather than an API's (see the package docstring)."""
    if method not in ("GET", "HEAD"):
        return False
    if path.startswith(ASSET_PREFIX):
        return True
    return "text/html" in accept.lower() and bool(_ROUTES.match(path))


def with_console(api: WsgiApp, guard: BrowserGuard, region: str) -> WsgiApp:
    """``api`` with the console in front of it. Console requests pass the API's Host and
    cross-site checks; same-origin requests for these public files are allowed even without
    ``"self"`` (so the page can say how to enable its API calls)."""
    page_guard = BrowserGuard(
        allowed_hosts=guard.allowed_hosts, allowed_origins=[*guard.allowed_origins, SELF]
    )
    config = Asset(config_document(region), "application/json")

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET").upper()
        path = environ.get("PATH_INFO") or "/"
        if not wants_console(method, path, environ.get("HTTP_ACCEPT", "")):
            return api(environ, start_response)
        page_guard.listening_on(guard.bound_host)
        headers = {
            key[5:].replace("_", "-").lower(): str(value)
            for key, value in environ.items()
            if key.startswith("HTTP_")
        }
        try:
            page_guard.check(method, headers)
        except Refused as refused:
            return _send(
                start_response, "403 Forbidden", Asset(refused.message.encode(), "text/plain"), method
            )
        if path == CONFIG_PATH:
            asset: Asset | None = config
        elif path.startswith(ASSET_PREFIX):
            asset = _asset("_console/" + path[len(ASSET_PREFIX) :])
        else:
            asset = _asset("index.html")
        if asset is None:
            return _send(start_response, "404 Not Found", Asset(b"not found", "text/plain"), method)
        if environ.get("HTTP_IF_NONE_MATCH") == asset.etag:
            return _send(
                start_response, "304 Not Modified", Asset(b"", asset.content_type), "HEAD", asset.etag
            )
        return _send(start_response, "200 OK", asset, method, asset.etag)

    return app


def _send(
    start_response: Callable[..., Any], status: str, asset: Asset, method: str, etag: str | None = None
) -> Iterable[bytes]:
    headers = {
        **_SECURITY_HEADERS,
        "Content-Type": asset.content_type,
        "Content-Length": str(len(asset.body)),
    }
    if etag:
        headers["ETag"] = etag
    start_response(status, list(headers.items()))
    return [b"" if method == "HEAD" else asset.body]
