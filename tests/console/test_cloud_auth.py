"""console/src/cloud-auth.ts, the cloud console's sign-in and SigV4 signing, run in node.

The module is bundled with the console's esbuild (as the app bundles it, AWS SDK and all) and
driven by ``cloud_auth_harness.mjs`` through a tab's life against a fake Cognito: the hosted-UI
redirect with PKCE, the code exchange, identity-pool credentials, reuse, renewal before expiry,
the ID token's refresh, signing for CloudWatch Logs, sign-out, and a dead refresh token. Every
signature it produced is then verified here by the repository's own SigV4 verifier
(:class:`pipelines.api.identity.Authenticator`, botocore's signer recomputing it).
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from pipelines.api.identity import AuthenticationFailed, Authenticator, SignedRequest, signed_credential

ROOT = Path(__file__).resolve().parents[2]
HARNESS = Path(__file__).with_name("cloud_auth_harness.mjs")
ACCOUNT = "111111111111"
REGION = "eu-west-1"
CONFIG = {
    "apiEndpoint": "https://abc123defg.execute-api.eu-west-1.amazonaws.com/dev",
    "region": REGION,
    "endpoints": {"logs": "https://logs.eu-west-1.amazonaws.com"},
    "auth": {
        "userPoolId": "eu-west-1_AbCdEfGhI",
        "userPoolClientId": "client1234567890",
        "identityPoolId": "eu-west-1:00000000-1111-2222-3333-444444444444",
        "cognitoDomain": "https://smp-dev-111111111111.auth.eu-west-1.amazoncognito.com",
    },
}
DEEP_LINK = "https://d111111abcdef8.cloudfront.net/executions/0a1b2c3d4e5f?compare=1"
KEYS = [
    {"id": f"ASIAEXAMPLEKEY{n:06d}", "secret": f"secret-{n}-" + "s" * 30, "token": f"session-token-{n}"}
    for n in range(1, 4)
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    node = shutil.which("node")
    esbuild = ROOT / "node_modules" / ".bin" / "esbuild"
    if node is None or not esbuild.exists():
        pytest.fail("cloud-auth needs node and `npm ci` (make install runs it)", pytrace=False)
    out = tmp_path_factory.mktemp("cloud-auth") / "cloud-auth.mjs"
    subprocess.run(
        [
            str(esbuild),
            str(ROOT / "console" / "src" / "cloud-auth.ts"),
            "--bundle",
            "--format=esm",
            "--platform=browser",  # the browser build of the AWS SDK, as the app ships it
            "--target=es2022",
            f"--outfile={out}",
            "--log-level=warning",
        ],
        check=True,
        timeout=120,
    )
    return out


def run(bundle: Path, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"config": CONFIG, "deepLink": DEEP_LINK, "keys": KEYS, **extra}))
    done = subprocess.run(
        ["node", str(HARNESS), str(bundle), str(params)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture(scope="module")
def tab(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return run(bundle, tmp_path_factory.mktemp("tab"))


def verify(signed: dict[str, Any]) -> str:
    """The account the repository's SigV4 verifier accepts the request for (raises if refused)."""
    request, headers = signed["request"], signed["headers"]
    url = urlsplit(request["url"])
    received = {name.lower(): value for name, value in {**request["headers"], **headers}.items()}
    received["host"] = url.netloc  # what the browser sends itself
    body = b"" if request["method"] == "GET" else request["body"].encode()
    authenticator = Authenticator(
        {k["id"]: ACCOUNT for k in KEYS}, {k["id"]: k["secret"] for k in KEYS}, "000000000000"
    )
    wire = SignedRequest(request["method"], url.path, url.query, received, body)
    return authenticator.account_for(wire, "sagemaker")


def test_first_call_sends_the_tab_to_the_hosted_ui_with_pkce(tab: dict[str, Any]) -> None:
    step = tab["steps"]["redirect"]
    assert step["result"] == {"pending": True}  # the page is being left: no call goes out
    [navigation] = step["navigations"]
    assert navigation["kind"] == "assign"
    url = urlsplit(navigation["url"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == CONFIG["auth"]["cognitoDomain"] + "/oauth2/authorize"
    query = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CONFIG["auth"]["userPoolClientId"]
    assert query["redirect_uri"] == "https://d111111abcdef8.cloudfront.net/"  # the client's callback URL
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43 and len(query["state"]) >= 16
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    assert step["calls"] == [] and step["signedIn"] is None


def test_the_callback_exchanges_the_code_once_with_the_verifier_and_returns_to_the_deep_link(
    tab: dict[str, Any],
) -> None:
    step = tab["steps"]["callback"]
    assert step["results"] == [{"pending": True}, {"pending": True}]  # the tab reloads
    [exchange] = step["calls"]
    form = exchange["form"]
    assert exchange["endpoint"] == "token" and form["grant_type"] == "authorization_code"
    assert form["code"] == "CODE-1" and form["redirect_uri"] == "https://d111111abcdef8.cloudfront.net/"
    challenge = tab["steps"]["redirect"]["navigations"][0]["url"].split("code_challenge=")[1].split("&")[0]
    digest = base64.urlsafe_b64encode(hashlib.sha256(form["code_verifier"].encode()).digest()).rstrip(b"=")
    assert digest.decode() == challenge  # the fake token endpoint refused any other verifier too
    assert step["navigations"] == [{"kind": "replace", "url": "/executions/0a1b2c3d4e5f?compare=1"}]
    assert step["signedIn"] == "ada@example.com"


def test_signed_in_calls_use_identity_pool_credentials_and_verify(tab: dict[str, Any]) -> None:
    step = tab["steps"]["credentials"]
    targets = [c["endpoint"] for c in step["calls"]]
    assert targets == [
        "AWSCognitoIdentityService.GetId",
        "AWSCognitoIdentityService.GetCredentialsForIdentity",
    ]
    assert not any(c["signed"] for c in step["calls"])  # Cognito Identity's unauthenticated operations
    assert step["calls"][0]["input"]["IdentityPoolId"] == CONFIG["auth"]["identityPoolId"]
    first = tab["signed"][0]
    credential = signed_credential(first["headers"]["authorization"])
    assert credential is not None
    assert (credential.access_key, credential.region, credential.service) == (
        KEYS[0]["id"],
        REGION,
        "execute-api",
    )
    assert first["headers"]["x-amz-security-token"] == KEYS[0]["token"]
    assert "host" not in {h.lower() for h in first["headers"]}  # a browser may not set Host
    assert verify(first) == ACCOUNT


def test_every_signature_verifies_and_a_tampered_request_does_not(tab: dict[str, Any]) -> None:
    assert len(tab["signed"]) == 5
    for signed in tab["signed"]:
        assert verify(signed) == ACCOUNT
    tampered = json.loads(json.dumps(tab["signed"][0]))
    tampered["request"]["body"] = tampered["request"]["body"].replace("abalone", "another")
    with pytest.raises(AuthenticationFailed, match="x-amz-content-sha256"):  # the signed body hash
        verify(tampered)
    moved = json.loads(json.dumps(tab["signed"][0]))
    moved["request"]["url"] = moved["request"]["url"].replace("/dev/", "/prod/")
    with pytest.raises(AuthenticationFailed, match="signature"):
        verify(moved)


def test_valid_credentials_are_reused_and_get_requests_sign_their_query(tab: dict[str, Any]) -> None:
    step = tab["steps"]["cached"]
    assert step["calls"] == []
    schedules = tab["signed"][2]
    assert schedules["request"]["method"] == "GET" and "MaxResults=5" in schedules["request"]["url"]
    assert verify(schedules) == ACCOUNT


def test_credentials_are_renewed_before_they_expire(tab: dict[str, Any]) -> None:
    step = tab["steps"]["renewed"]
    assert [c["endpoint"] for c in step["calls"]] == ["AWSCognitoIdentityService.GetCredentialsForIdentity"]
    assert step["calls"][0]["input"]["IdentityId"] == tab["identityId"]  # GetId is not repeated
    credential = signed_credential(tab["signed"][3]["headers"]["authorization"])
    assert credential is not None and credential.access_key == KEYS[1]["id"]


def test_an_expired_id_token_is_refreshed_and_logs_calls_sign_for_logs(tab: dict[str, Any]) -> None:
    step = tab["steps"]["refreshed"]
    endpoints = [c["endpoint"] for c in step["calls"]]
    assert endpoints == ["token", "AWSCognitoIdentityService.GetCredentialsForIdentity"]
    assert step["calls"][0]["form"] == {
        "client_id": CONFIG["auth"]["userPoolClientId"],
        "grant_type": "refresh_token",
        "refresh_token": "REFRESH-1",
    }
    logs = tab["signed"][4]
    credential = signed_credential(logs["headers"]["authorization"])
    assert credential is not None
    assert (credential.access_key, credential.service) == (KEYS[2]["id"], "logs")
    assert verify(logs) == ACCOUNT


def test_sign_out_revokes_forgets_and_ends_the_hosted_ui_session(tab: dict[str, Any]) -> None:
    step = tab["steps"]["signedOut"]
    assert step["calls"] == [
        {
            "endpoint": "revoke",
            "form": {"token": "REFRESH-1", "client_id": CONFIG["auth"]["userPoolClientId"]},
        }
    ]
    [navigation] = step["navigations"]
    url = urlsplit(navigation["url"])
    assert navigation["kind"] == "assign" and url.path == "/logout"
    assert parse_qs(url.query) == {
        "client_id": [CONFIG["auth"]["userPoolClientId"]],
        "logout_uri": ["https://d111111abcdef8.cloudfront.net/"],
    }
    assert step["stored"] == [] and step["signedIn"] is None


def test_a_dead_refresh_token_sends_the_user_to_sign_in_again(bundle: Path, tmp_path: Path) -> None:
    tab = run(bundle, tmp_path, scenario="refresh-fails")
    step = tab["steps"]["expired"]
    assert step["result"] == {"pending": True}
    assert [c["endpoint"] for c in step["calls"]] == ["token"]
    [navigation] = step["navigations"]
    assert "/oauth2/authorize?" in navigation["url"]
    assert step["stored"] == ["pipelines-console-auth:pending"]  # the old session is gone
