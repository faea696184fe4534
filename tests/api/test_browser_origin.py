"""No web page can reach `pipelines serve`: Host checked against DNS rebinding, foreign Origins
and CORS-simple writes refused on every protocol, no CORS headers by default. Raw HTTP, as a
browser would send it; the single-user server is the one a page would target (unsigned
requests act as the owner there)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.api.conftest import ROLE, Served, condition_definition
from tests.api.raw_http import RawResponse, address, request

EVIL = "http://evil.example"


def host_of(served: Served) -> str:
    host, port = address(served.url)
    return f"{host}:{port}"


def no_cors(response: RawResponse) -> bool:
    return not any(name.lower().startswith("access-control-") for name in response.headers)


@pytest.fixture
def owner_state(single_user: Served) -> Served:
    """A pipeline and an object a hostile page would like to touch."""
    single_user.client("sagemaker").create_pipeline(
        PipelineName="victim", PipelineDefinition=condition_definition(), RoleArn=ROLE
    )
    s3 = single_user.client("s3")
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="precious.txt", Body=b"keep")
    return single_user


def attacks(served: Served) -> list[tuple[str, str, bytes, dict[str, str]]]:
    """The issue's cross-origin writes: delete an object, share the pipeline, schedule it."""
    arn = "arn:aws:sagemaker:us-east-1:000000000000:pipeline/victim"
    share = json.dumps({"name": "leak", "resourceArns": [arn], "principals": ["999999999999"]}).encode()
    schedule = json.dumps(
        {
            "ScheduleExpression": "rate(1 minute)",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {"Arn": arn, "RoleArn": ROLE, "SageMakerPipelineParameters": {}},
        }
    ).encode()
    delete = b"<Delete><Object><Key>precious.txt</Key></Object></Delete>"
    return [
        ("POST", "/bkt?delete", delete, {}),
        ("POST", "/createresourceshare", share, {}),
        ("POST", "/schedules/every-minute", schedule, {}),
        (
            "POST",
            "/",
            json.dumps({"PipelineName": "victim"}).encode(),
            {"X-Amz-Target": "SageMaker.DeletePipeline"},
        ),
    ]


def assert_untouched(served: Served) -> None:
    assert served.client("s3").get_object(Bucket="bkt", Key="precious.txt")["Body"].read() == b"keep"
    assert served.client("ram").get_resource_shares(resourceOwner="SELF")["resourceShares"] == []
    assert served.client("scheduler").list_schedules()["Schedules"] == []
    assert [p["PipelineName"] for p in served.client("sagemaker").list_pipelines()["PipelineSummaries"]] == [
        "victim"
    ]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_cross_origin_simple_posts_change_nothing(owner_state: Served, content_type: str | None) -> None:
    for method, target, body, extra in attacks(owner_state):
        headers = {"Origin": EVIL, **extra}
        if content_type:
            headers["Content-Type"] = content_type
        response = request(owner_state.url, method, target, body, headers)
        assert response.status == 403, (target, response.body)
        assert no_cors(response)
    assert_untouched(owner_state)


def test_simple_posts_are_refused_even_without_an_origin(owner_state: Served) -> None:
    for method, target, body, extra in attacks(owner_state):
        response = request(owner_state.url, method, target, body, {"Content-Type": "text/plain", **extra})
        # 403 from the guard; a page cannot send X-Amz-Target without a preflight, and the JSON
        # protocol refuses text/plain anyway (400)
        assert response.status == (400 if "X-Amz-Target" in extra else 403), (target, response.body)
    assert_untouched(owner_state)


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_fetch_metadata_from_pages_is_refused(owner_state: Served, site: str) -> None:
    response = request(owner_state.url, "GET", "/bkt/precious.txt", headers={"Sec-Fetch-Site": site})
    assert response.status == 403 and b"AccessDenied" in response.body
    typed = request(owner_state.url, "GET", "/bkt/precious.txt", headers={"Sec-Fetch-Site": "none"})
    assert typed.status == 200 and typed.body == b"keep"  # the user opening a URL is not a page
    console = request(owner_state.url, "GET", "/bkt/precious.txt", headers={"Sec-Fetch-Site": "same-origin"})
    assert console.status == 200  # the console's own reads (allowed_origins "self" by default)


def test_same_origin_fetches_are_refused_when_self_is_off(serve: Callable[..., Served]) -> None:
    closed = serve(accounts={}, serve={"allowed_origins": []})
    closed.client("s3").create_bucket(Bucket="bkt")
    response = request(closed.url, "GET", "/bkt/k", headers={"Sec-Fetch-Site": "same-origin"})
    assert response.status == 403 and b"AccessDenied" in response.body


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8080", "127.0.0.1.evil.example", "localhost.evil.example"]
)
def test_dns_rebinding_hosts_are_refused_on_every_protocol(owner_state: Served, host: str) -> None:
    sagemaker = request(
        owner_state.url,
        "POST",
        "/",
        b"{}",
        {
            "Host": host,
            "X-Amz-Target": "SageMaker.ListPipelines",
            "Content-Type": "application/x-amz-json-1.1",
        },
    )
    assert sagemaker.status == 403 and b"AccessDeniedException" in sagemaker.body
    s3 = request(owner_state.url, "GET", "/bkt/precious.txt", headers={"Host": host})
    assert s3.status == 403 and b"keep" not in s3.body
    ram = request(
        owner_state.url,
        "POST",
        "/getresourceshares",
        b'{"resourceOwner": "SELF"}',
        {"Host": host, "Content-Type": "application/json"},
    )
    assert ram.status == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:1234", "[::1]"])
def test_loopback_hosts_are_served(owner_state: Served, host: str) -> None:
    response = request(owner_state.url, "GET", "/bkt/precious.txt", headers={"Host": host})
    assert response.status == 200 and response.body == b"keep"
    assert no_cors(response)


def test_configured_host_names_and_origins_are_accepted(serve: Callable[..., Served]) -> None:
    served = serve(
        accounts={},
        serve={"allowed_hosts": ["pipelines.internal"], "allowed_origins": ["http://console.internal:3000"]},
    )
    s3 = served.client("s3")
    s3.create_bucket(Bucket="bkt")
    s3.put_object(Bucket="bkt", Key="k", Body=b"v")
    named = request(served.url, "GET", "/bkt/k", headers={"Host": "pipelines.internal:8080"})
    assert named.status == 200
    allowed = request(served.url, "GET", "/bkt/k", headers={"Origin": "http://console.internal:3000"})
    assert allowed.status == 200
    assert allowed.header("Access-Control-Allow-Origin") == "http://console.internal:3000"
    preflight = request(
        served.url,
        "OPTIONS",
        "/bkt/k",
        headers={"Origin": "http://console.internal:3000", "Access-Control-Request-Method": "PUT"},
    )
    assert preflight.status == 200 and "PUT" in (preflight.header("Access-Control-Allow-Methods") or "")
    for origin in (EVIL, "http://console.internal:3001", "null"):
        refused = request(served.url, "OPTIONS", "/bkt/k", headers={"Origin": origin})
        assert refused.status == 403 and no_cors(refused)


def test_same_origin_pages_are_allowed_unless_turned_off(serve: Callable[..., Served]) -> None:
    closed = serve(accounts={}, serve={"allowed_origins": []})
    closed.client("s3").create_bucket(Bucket="bkt")
    own_origin = {"Origin": f"http://{host_of(closed)}", "Content-Type": "application/x-amz-json-1.1"}
    target = {"X-Amz-Target": "SageMaker.ListPipelines"}
    assert request(closed.url, "POST", "/", b"{}", {**own_origin, **target}).status == 403
    console = serve(accounts={})  # the default: "self"
    own_origin["Origin"] = f"http://{host_of(console)}"
    response = request(console.url, "POST", "/", b"{}", {**own_origin, **target})
    assert response.status == 200 and no_cors(response)  # same origin: no CORS headers needed
    assert request(console.url, "POST", "/", b"{}", {**own_origin, **target, "Origin": EVIL}).status == 403


def test_stored_objects_are_served_sandboxed(owner_state: Served) -> None:
    owner_state.client("s3").put_object(
        Bucket="bkt", Key="page.html", Body=b"<script>fetch('/')</script>", ContentType="text/html"
    )
    response = request(owner_state.url, "GET", "/bkt/page.html")
    assert response.header("Content-Type") == "text/html"
    assert response.header("Content-Security-Policy") == "sandbox"
    assert response.header("X-Content-Type-Options") == "nosniff"


def test_signed_clients_work_and_get_no_cors_headers(served: Served) -> None:
    captured: list[Any] = []
    sm = served.client("sagemaker")
    sm.meta.events.register("after-call.sagemaker", lambda http_response, **_: captured.append(http_response))
    sm.list_pipelines()
    assert not any(k.lower().startswith("access-control-") for k in captured[0].headers)
