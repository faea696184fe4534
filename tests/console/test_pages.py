"""The console is served at ``/`` beside the API, lists pipelines, and keeps to its CSP."""

from __future__ import annotations

import urllib.request
from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.console.conftest import ConsolePage
from tests.console.pipelines import create, lambda_step
from tests.sdk_integ.upstream_plugin import Server

pytestmark = pytest.mark.xdist_group("console")  # one server and one browser for the package


def get(url: str, accept: str = "*/*") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers.items()), error.read()


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
    assert f"Web console: {server.url}/\n" in (server.root / "serve.log").read_text()


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
    closed = Server(tmp_path_factory.mktemp("closed"))  # no [serve] allowed_origins
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
