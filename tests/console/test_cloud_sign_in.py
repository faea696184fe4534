"""The cloud console in a real browser: the committed build, served as the CDK stack serves it
(CloudFront's deep-link rule, its Content-Security-Policy, a ``config.json`` with Cognito ids),
signs in through the hosted UI with PKCE, gets identity-pool credentials, and calls the API with
SigV4 signatures that the repository's own verifier (:mod:`pipelines.api.identity`) accepts.

The network is Playwright's: CloudFront, the hosted UI, Cognito Identity and API Gateway are
answered by routes in this test (no request leaves the machine). The API's answers are
canned; what is checked is that each one was asked for with a valid signature of the signed-in
role's credentials, cross-origin (CORS) as the browser enforces it, under the stack's CSP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pipelines.api.identity import AuthenticationFailed, Authenticator, SignedRequest, signed_credential
from pipelines.console.serve import content_security_policy
from playwright.sync_api import Browser, Route

from tests.console.conftest import ConsolePage

STATIC = Path(__file__).resolve().parents[2] / "shared" / "pipelines" / "console" / "static"
SPA_RULE = Path(__file__).resolve().parents[2] / "infra" / "constructs" / "console_spa.js"
REGION = "eu-west-1"
ORIGIN = "https://d111111abcdef8.cloudfront.net"
API = f"https://abc123defg.execute-api.{REGION}.amazonaws.com"
DOMAIN = f"https://smp-dev-111111111111.auth.{REGION}.amazoncognito.com"
IDENTITY = f"https://cognito-identity.{REGION}.amazonaws.com"
LOGS = f"https://logs.{REGION}.amazonaws.com"
CONFIG = {
    "apiEndpoint": f"{API}/dev/",
    "region": REGION,
    "endpoints": {"logs": LOGS},
    "auth": {
        "userPoolId": f"{REGION}_AbCdEfGhI",
        "userPoolClientId": "client1234567890",
        "identityPoolId": f"{REGION}:00000000-1111-2222-3333-444444444444",
        "cognitoDomain": DOMAIN,
    },
}
KEY, SECRET, TOKEN = "ASIACONSOLEROLE00001", "console-role-secret-key-000000000000", "console-session-token"
ACCOUNT = "111111111111"
TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".svg": "image/svg+xml",
    ".html": "text/html",
    ".json": "application/json",
}


class FakeCloud:
    """CloudFront + hosted UI + Cognito Identity + API Gateway, as routes of one browser context."""

    def __init__(self) -> None:
        self.csp = content_security_policy(" ".join([API, IDENTITY, LOGS, DOMAIN]))
        self.challenge: str | None = None
        self.exchanges: list[dict[str, str]] = []
        self.identity_calls: list[str] = []
        self.api_calls: list[tuple[str, str, str]] = []  # (method, path, target or "")
        self.refused: list[str] = []
        self.revoked: list[dict[str, list[str]]] = []
        self.logouts: list[str] = []
        self.verifier = Authenticator({KEY: ACCOUNT}, {KEY: SECRET}, "000000000000")
        self.id_token = (
            ".".join(
                base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
                for part in ({"alg": "none"}, {"email": "ada@example.com", "exp": int(time.time()) + 3600})
            )
            + ".sig"
        )

    # CloudFront: the bucket's files, index.html for deep links (the same rule as the CloudFront
    # Function: a last path segment without a dot), the response headers policy's headers.
    def cloudfront(self, route: Route) -> None:
        path = urlsplit(route.request.url).path
        last = path.rsplit("/", 1)[-1]
        key = "index.html" if "." not in last else path.lstrip("/")
        if key == "_console/config.json":
            body = json.dumps(CONFIG).encode()
        elif (STATIC / key).is_file():
            body = (STATIC / key).read_bytes()
        else:
            route.fulfill(status=403, body="AccessDenied")
            return
        headers = {
            "Content-Type": TYPES.get(Path(key).suffix, "application/octet-stream"),
            "Content-Security-Policy": self.csp,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        }
        route.fulfill(status=200, headers=headers, body=body)

    def hosted_ui(self, route: Route) -> None:
        url = urlsplit(route.request.url)
        cors = {"Access-Control-Allow-Origin": ORIGIN}
        if url.path == "/oauth2/authorize":
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            assert query["client_id"] == CONFIG["auth"]["userPoolClientId"]  # type: ignore[index]
            assert query["redirect_uri"] == f"{ORIGIN}/" and query["code_challenge_method"] == "S256"
            self.challenge = query["code_challenge"]
            location = f"{ORIGIN}/?code=CODE-1&state={query['state']}"  # the user signed in
            # (a page that navigates on, as the hosted UI does after sign-in; Playwright does not
            # route the target of a fulfilled 302)
            page = f'<!doctype html><meta http-equiv="refresh" content="0;url={location}"><title>Signed in</title>'
            route.fulfill(status=200, content_type="text/html", body=page)
        elif url.path == "/oauth2/token":
            form = {k: v[0] for k, v in parse_qs(route.request.post_data or "").items()}
            self.exchanges.append(form)
            verifier = form.get("code_verifier", "")
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
            if form.get("code") != "CODE-1" or digest != self.challenge:
                route.fulfill(status=400, headers=cors, json={"error": "invalid_grant"})
                return
            answer = {
                "id_token": self.id_token,
                "access_token": "a",
                "refresh_token": "r",
                "expires_in": 3600,
            }
            route.fulfill(status=200, headers=cors, json=answer)
        elif url.path == "/oauth2/revoke":
            self.revoked.append(parse_qs(route.request.post_data or ""))
            route.fulfill(status=200, headers=cors, body="")
        elif url.path == "/logout":
            self.logouts.append(route.request.url)
            route.fulfill(
                status=200, content_type="text/html", body="<!doctype html><title>Signed out</title>"
            )
        else:
            route.fulfill(status=404, headers=cors, body="")

    def cognito_identity(self, route: Route) -> None:
        request = route.request
        cors = {
            "Access-Control-Allow-Origin": ORIGIN,
            "Access-Control-Allow-Headers": request.headers.get("access-control-request-headers", "*"),
            "Access-Control-Allow-Methods": "POST",
        }
        if request.method == "OPTIONS":
            route.fulfill(status=200, headers=cors, body="")
            return
        target = request.headers.get("x-amz-target", "")
        self.identity_calls.append(target)
        body = json.loads(request.post_data or "{}")
        login = body.get("Logins", {}).get(
            f"cognito-idp.{REGION}.amazonaws.com/{CONFIG['auth']['userPoolId']}"
        )  # type: ignore[index]
        if login != self.id_token:
            answer: dict[str, Any] = {"__type": "NotAuthorizedException", "message": "Invalid login token."}
            route.fulfill(
                status=400, headers=cors, content_type="application/x-amz-json-1.1", body=json.dumps(answer)
            )
            return
        if target.endswith(".GetId"):
            answer = {"IdentityId": f"{REGION}:aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}
        else:
            answer = {
                "IdentityId": body["IdentityId"],
                "Credentials": {
                    "AccessKeyId": KEY,
                    "SecretKey": SECRET,
                    "SessionToken": TOKEN,
                    "Expiration": time.time() + 3600,
                },
            }
        route.fulfill(
            status=200, headers=cors, content_type="application/x-amz-json-1.1", body=json.dumps(answer)
        )

    def api_gateway(self, route: Route) -> None:
        request = route.request
        url = urlsplit(request.url)
        if request.method == "OPTIONS":  # the stack's mock preflight
            route.fulfill(
                status=204,
                headers={
                    "Access-Control-Allow-Origin": ORIGIN,
                    "Access-Control-Allow-Headers": "Authorization,Content-Type,X-Amz-Date,X-Amz-Security-Token,"
                    "X-Amz-Target,X-Amz-Content-Sha256,X-Amz-User-Agent",
                    "Access-Control-Allow-Methods": "GET,POST,PUT,DELETE,PATCH",
                },
            )
            return
        headers = dict(request.headers)
        headers["host"] = url.netloc
        body = request.post_data_buffer or b""
        cors = {"Access-Control-Allow-Origin": ORIGIN, "Content-Type": "application/x-amz-json-1.1"}
        try:
            self.verifier.account_for(
                SignedRequest(request.method, url.path, url.query, headers, body), "execute-api"
            )
            credential = signed_credential(headers.get("authorization"))
            assert (
                credential is not None and credential.service == "execute-api" and credential.region == REGION
            )
            assert headers.get("x-amz-security-token") == TOKEN
        except (AuthenticationFailed, AssertionError) as refused:
            self.refused.append(f"{request.method} {url.path}: {refused}")
            route.fulfill(
                status=403,
                headers=cors,
                body=json.dumps({"__type": "InvalidSignatureException", "message": str(refused)}),
            )
            return
        target = headers.get("x-amz-target", "")
        self.api_calls.append((request.method, url.path, target))
        answers: dict[str, Any] = {
            "SageMaker.ListPipelines": {
                "PipelineSummaries": [
                    {
                        "PipelineName": "signed-in-pipeline",
                        "PipelineArn": f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/signed-in-pipeline",
                        "CreationTime": time.time(),
                        "LastModifiedTime": time.time(),
                    }
                ]
            },
            "SageMaker.ListPipelineExecutions": {"PipelineExecutionSummaries": []},
        }
        answer = {"Schedules": []} if url.path.endswith("/schedules") else answers.get(target, {})
        route.fulfill(status=200, headers=cors, body=json.dumps(answer))


@pytest.fixture
def cloud_console(
    browser: Browser, request: pytest.FixtureRequest
) -> Iterator[tuple[ConsolePage, FakeCloud]]:
    fake = FakeCloud()
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.set_default_timeout(15_000)
    context.route(f"{ORIGIN}/**", fake.cloudfront)
    context.route(f"{DOMAIN}/**", fake.hosted_ui)
    context.route(f"{IDENTITY}/**", fake.cognito_identity)
    context.route(f"{API}/**", fake.api_gateway)
    page = ConsolePage(context.new_page(), ORIGIN)
    # Sign-in leaves the page on purpose: what that navigation aborts (the favicon, a call in
    # flight when the tab goes to the hosted UI) is no failure; anything else still is.
    aborted: set[str] = set()
    page.page.on("requestfailed", lambda r: aborted.add(r.url) if r.failure == "net::ERR_ABORTED" else None)
    try:
        yield page, fake
        page.shot(request.node.name)
        problems = [p for p in page.problems if p.removeprefix("request failed: ") not in aborted]
        assert not problems, "the browser reported problems:\n" + "\n".join(problems)
    finally:
        context.close()


def test_a_deep_link_signs_in_and_lists_pipelines_with_signed_calls(
    cloud_console: tuple[ConsolePage, FakeCloud],
) -> None:
    console, fake = cloud_console
    page = console.open("/models")  # a deep link: the hosted UI, then back here
    page.wait_for_url(f"{DOMAIN}/oauth2/authorize?**")
    page.wait_for_url(f"{ORIGIN}/?code=CODE-1&state=**")
    page.wait_for_url(f"{ORIGIN}/models")
    page.get_by_role("heading", name="Models").first.wait_for()
    page.goto(f"{ORIGIN}/")  # the same tab: still signed in
    page.get_by_role("link", name="signed-in-pipeline").first.wait_for()
    assert len(fake.exchanges) == 1 and fake.exchanges[0]["grant_type"] == "authorization_code"
    assert fake.identity_calls[:2] == [
        "AWSCognitoIdentityService.GetId",
        "AWSCognitoIdentityService.GetCredentialsForIdentity",
    ]
    assert fake.refused == []
    targets = {t for _, _, t in fake.api_calls}
    assert {"SageMaker.ListPipelines", "SageMaker.ListPipelineExecutions"} <= targets
    assert ("GET", "/dev/schedules", "") in fake.api_calls
    assert all(path.startswith("/dev/") for _, path, _ in fake.api_calls)


def test_the_header_names_the_user_and_signs_out(cloud_console: tuple[ConsolePage, FakeCloud]) -> None:
    console, fake = cloud_console
    page = console.open("/")
    page.get_by_role("link", name="signed-in-pipeline").first.wait_for()
    assert page.locator("header.top").get_by_text("ada@example.com").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{DOMAIN}/logout?**")
    assert parse_qs(urlsplit(fake.logouts[0]).query) == {
        "client_id": [CONFIG["auth"]["userPoolClientId"]],  # type: ignore[index]
        "logout_uri": [f"{ORIGIN}/"],
    }
    assert fake.revoked == [{"token": ["r"], "client_id": [CONFIG["auth"]["userPoolClientId"]]}]  # type: ignore[index]
    page.goto(f"{ORIGIN}/_console/config.json")  # back on the console's origin, without the app
    assert page.evaluate("() => Object.keys(sessionStorage)") == []  # the tab keeps no credentials
