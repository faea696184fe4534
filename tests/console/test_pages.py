"""The console is served at ``/`` beside the API, lists pipelines, and keeps to its CSP."""

from __future__ import annotations

import urllib.request
from email.message import Message
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.console.conftest import ConsolePage
from tests.console.pipelines import create, lambda_step
from tests.sdk_integ.upstream_plugin import Server

pytestmark = pytest.mark.xdist_group("console")  # one server and one browser for the package


def get(url: str, accept: str = "*/*") -> tuple[int, Message, bytes]:
    """Status, headers (case-insensitive) and body of a GET."""
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_html_navigations_get_the_console_and_api_clients_get_the_api(server: Server) -> None:
    status, headers, body = get(server.url + "/executions/abc123", accept="text/html,*/*")
    assert status == 200 and b'src="/_console/app.js"' in body
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    # S3's ListBuckets is also GET /: without text/html it is still S3's answer
    status, _, body = get(server.url + "/")
    assert b"ListAllMyBucketsResult" in body
    status, _, body = get(server.url + "/_console/config.json")
    assert status == 200 and body == b'{"apiEndpoint": "", "region": "us-east-1", "auth": null}'
    assert get(server.url + "/_console/../pipelines.toml")[0] == 404
    assert get(server.url + "/_console/nothing.js")[0] == 404
    assert f"Web console: {server.url}/\n" in server.served.output()


def test_pipeline_list_links_to_each_pipeline(console: ConsolePage, sm: Any) -> None:
    create(sm, "listed-one", [lambda_step("Double", 2)])
    page = console.open("/")
    row = page.get_by_role("row", name="listed-one")
    expect(row).to_contain_text("never run")
    row.get_by_role("link", name="listed-one").click()
    expect(page).to_have_url(console.base + "/pipelines/listed-one")


def test_without_self_the_page_says_how_to_let_it_call_the_api(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    closed = Server(tmp_path_factory.mktemp("closed"), extra_config="[serve]\nallowed_origins = []\n")
    try:
        context = browser.new_context()
        page = ConsolePage(context.new_page(), closed.url)
        page.open("/")
        alert = page.page.get_by_role("alert")
        expect(alert).to_contain_text("AccessDeniedException")
        expect(alert).to_contain_text('allowed_origins = ["self"]')
        page.shot("refused-without-self")
        # the refused API call is the only complaint (Chromium logs every 4xx fetch)
        assert page.problems and all("403" in problem for problem in page.problems), page.problems
        context.close()
    finally:
        closed.stop()


def test_console_files_obey_the_browser_origin_defence(server: Server) -> None:
    def fetch(path: str, headers: dict[str, str]) -> int:
        request = urllib.request.Request(server.url + path, headers={"Accept": "text/html", **headers})
        try:
            with urllib.request.urlopen(request) as response:
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    for path in ("/", "/_console/app.js", "/_console/config.json"):
        assert fetch(path, {"Host": "evil.example"}) == 403  # DNS rebinding
        assert fetch(path, {"Sec-Fetch-Site": "cross-site"}) == 403
        assert fetch(path, {"Origin": "http://evil.example"}) == 403
        assert fetch(path, {"Sec-Fetch-Site": "same-origin"}) == 200  # the page's own requests
    status, headers, _ = get(server.url + "/_console/app.js")
    assert status == 200 and headers["Content-Type"] == "text/javascript; charset=utf-8"
    cached = fetch("/_console/app.js", {"If-None-Match": headers["ETag"]})
    assert cached == 304
    request = urllib.request.Request(server.url + "/_console/app.js", method="HEAD")
    with urllib.request.urlopen(request) as response:
        assert response.read() == b"" and int(response.headers["Content-Length"]) > 10_000
    # writes to the console's paths are not the console's: the API answers them (S3 refuses)
    post = urllib.request.Request(server.url + "/_console/app.js", data=b"x", method="PUT")
    try:
        urllib.request.urlopen(post)
        raise AssertionError("a PUT under /_console/ was accepted")
    except urllib.error.HTTPError as error:
        assert 400 <= error.code < 500
