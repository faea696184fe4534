"""The web console in a real browser: Debian's Chromium driven by Playwright, against a real
``pipelines serve`` process in a temporary state folder, with pipelines made through boto3.

One server and one browser serve the whole package (each module is marked to run on one xdist
worker); each
test gets a fresh page whose console errors, page errors and failed requests fail the test, and
whose last screenshot is saved under ``tests/console/artifacts/`` (git-ignored).

The browser is ``$CONSOLE_BROWSER`` (default ``/usr/bin/chromium``, which ``make install``
apt-installs). Without it these tests FAIL, naming the fix: a skip would let CI pass unseen.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config as BotoConfig
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, expect, sync_playwright

from tests.cli.helpers import wait_for
from tests.sdk_integ.upstream_plugin import Server

BROWSER = os.environ.get("CONSOLE_BROWSER", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
ROLE = "arn:aws:iam::123456789012:role/console-tests"
LAMBDA_ARN = "arn:aws:lambda:us-east-1:123456789012:function:double"
# Flags for a closed network: no background fetches that would only be refused.
FLAGS = [
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Assertions wait up to 15 s (Playwright's default is 5 s): the shared 2-core CI machine is slow
# at times; a deadline, not a sleep, so a passing check returns as soon as it holds.
expect.set_options(timeout=15_000)
LAMBDA_HANDLER = textwrap.dedent(
    """
    def handler(event, context):
        return {"doubled": event["value"] * 2}
    """
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("console")
    (root / "double.py").write_text(LAMBDA_HANDLER)
    served = Server(
        root,
        extra_config=f'[functions]\n"{LAMBDA_ARN}" = "double.py:handler"\n',
    )
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture(scope="session")
def sm(server: Server) -> Any:
    return boto3.client(
        "sagemaker",
        endpoint_url=server.url,
        region_name="us-east-1",
        aws_access_key_id="AKIDCONSOLE",
        aws_secret_access_key="secret",
        config=BotoConfig(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not os.access(BROWSER, os.X_OK):
        pytest.fail(
            f"no browser at {BROWSER}: run `make install` (it apt-installs Debian's chromium) "
            "or set CONSOLE_BROWSER to a Chromium binary",
            pytrace=False,
        )
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=BROWSER, headless=True, args=FLAGS)
    try:
        yield launched
    finally:
        launched.close()


class ConsolePage:
    """A page of the console plus what the browser complained about while it was open."""

    def __init__(self, page: Page, base: str) -> None:
        self.page = page
        self.base = base
        self.problems: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _request_failed(self, request: Any) -> None:
        # a navigation (the test opening the next page) cancels the previous page's calls
        if request.failure != "net::ERR_ABORTED":
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "assert"):
            self.problems.append(f"console {message.type}: {message.text}")

    def _response(self, response: Any) -> None:
        # an API error the page expects (e.g. a refused start) is shown, not a failure of the
        # page; a missing asset (favicon included) is
        if response.status >= 400 and "/_console/" in response.url:
            self.problems.append(f"HTTP {response.status} for {response.url}")

    def open(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def console(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[ConsolePage]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    page = ConsolePage(context.new_page(), server.url)
    try:
        yield page
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.shot(name)
        assert not page.problems, "the browser reported problems:\n" + "\n".join(page.problems)
    finally:
        context.close()


def wait_until(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll the API until ``check`` holds (the browser side uses Playwright's locator waits)."""
    return wait_for(check, timeout=timeout, what=what)
