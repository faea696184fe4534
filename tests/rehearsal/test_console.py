"""The web console as deployed: its files and generated config.json in the bucket, the Cognito
pools they name, the API's CORS for the console's origin only, and the signed-in role acting
through the API under the same IAM authorization as any caller.

CloudFront and the identity pool's role attachment are not in moto (stack.py gives them their
identifiers only); the signed-in role's session is made with STS ``AssumeRoleWithWebIdentity``,
the call the identity pool makes for a signed-in user.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import boto3
import pytest
from botocore.exceptions import ClientError
from pipelines.api.client import client as api_client

from tests.rehearsal.harness import Rehearsal

STATIC = Path(__file__).resolve().parents[2] / "shared" / "pipelines" / "console" / "static"


def _bucket(rehearsal: Rehearsal) -> str:
    return str(rehearsal.output("ConsoleBucket"))


def _origin(rehearsal: Rehearsal) -> str:
    return str(rehearsal.output("ConsoleUrl")).rstrip("/")


def _config(rehearsal: Rehearsal) -> dict[str, Any]:
    body = rehearsal.aws("s3").get_object(Bucket=_bucket(rehearsal), Key="_console/config.json")["Body"]
    config: dict[str, Any] = json.loads(body.read())
    return config


def test_the_bucket_holds_the_build_and_a_config_naming_this_deployment(rehearsal: Rehearsal) -> None:
    s3 = rehearsal.aws("s3")
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=_bucket(rehearsal))["Contents"]}
    built = {p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file()}
    assert keys == built | {"_console/config.json"}
    index = s3.get_object(Bucket=_bucket(rehearsal), Key="index.html")
    assert index["Body"].read() == (STATIC / "index.html").read_bytes()
    assert index["CacheControl"] == "no-cache" and index["ContentType"] == "text/html"
    config = _config(rehearsal)
    assert config["apiEndpoint"] == rehearsal.output("ApiUrl")
    assert config["region"] == rehearsal.region
    assert config["endpoints"] == {"logs": f"https://logs.{rehearsal.region}.amazonaws.com"}
    auth = config["auth"]
    assert auth["userPoolId"] == rehearsal.output("ConsoleUserPoolId")
    assert auth["userPoolClientId"] == rehearsal.output("ConsoleUserPoolClientId")
    assert auth["identityPoolId"] == rehearsal.output("ConsoleIdentityPoolId")
    assert auth["cognitoDomain"] == rehearsal.output("ConsoleSignInDomain")
    assert auth["cognitoDomain"].endswith(f".auth.{rehearsal.region}.amazoncognito.com")


def test_the_pools_it_names_exist_with_the_code_flow_back_to_the_console(rehearsal: Rehearsal) -> None:
    auth = _config(rehearsal)["auth"]
    idp = rehearsal.aws("cognito-idp")
    client = idp.describe_user_pool_client(UserPoolId=auth["userPoolId"], ClientId=auth["userPoolClientId"])
    settings = client["UserPoolClient"]
    assert settings["AllowedOAuthFlows"] == ["code"]
    assert settings["CallbackURLs"] == [f"{_origin(rehearsal)}/"]
    assert "ClientSecret" not in settings
    pool = idp.describe_user_pool(UserPoolId=auth["userPoolId"])["UserPool"]
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    identity = rehearsal.aws("cognito-identity").describe_identity_pool(IdentityPoolId=auth["identityPoolId"])
    assert identity["AllowUnauthenticatedIdentities"] is False
    [provider] = identity["CognitoIdentityProviders"]
    assert provider["ClientId"] == auth["userPoolClientId"]


def _preflight(rehearsal: Rehearsal, path: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        rehearsal.api_url() + path,
        method="OPTIONS",
        headers={
            "Origin": _origin(rehearsal),
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-amz-date,x-amz-security-token,x-amz-target",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers)
    except HTTPError as error:
        return error.code, dict(error.headers)


@pytest.mark.parametrize("path", ["", "schedules"])
def test_preflights_are_answered_unsigned_for_the_console_origin(rehearsal: Rehearsal, path: str) -> None:
    status, headers = _preflight(rehearsal, path)
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] == _origin(rehearsal)
    allowed = {h.lower() for h in headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "x-amz-date", "x-amz-security-token", "x-amz-target"} <= allowed
    assert "POST" in headers["Access-Control-Allow-Methods"]


def test_answers_name_the_console_origin_and_expose_the_error_headers(rehearsal: Rehearsal) -> None:
    answer = rehearsal.sagemaker().list_pipelines()
    headers = answer["ResponseMetadata"]["HTTPHeaders"]
    assert headers["access-control-allow-origin"] == _origin(rehearsal)
    assert "x-amzn-ErrorType" in headers["access-control-expose-headers"]
    with pytest.raises(ClientError) as refused:
        rehearsal.sagemaker().describe_pipeline(PipelineName="no-such-pipeline")
    error_headers = refused.value.response["ResponseMetadata"]["HTTPHeaders"]
    assert error_headers["access-control-allow-origin"] == _origin(rehearsal)


def _signed_in(rehearsal: Rehearsal) -> Any:
    """A SageMaker client with the console's signed-in role's credentials (what the identity
    pool hands a signed-in browser), pointed at the API like the console's calls."""
    session = rehearsal.aws("sts").assume_role_with_web_identity(
        RoleArn=rehearsal.output("ConsoleSignedInRoleArn"),
        RoleSessionName="CognitoIdentityCredentials",
        WebIdentityToken="cognito-open-id-token",
    )["Credentials"]
    boto = boto3.Session(
        aws_access_key_id=session["AccessKeyId"],
        aws_secret_access_key=session["SecretAccessKey"],
        aws_session_token=session["SessionToken"],
        region_name=rehearsal.region,
    )
    return api_client(rehearsal.api_url(), rehearsal.region, cloud=True, session=boto)


def test_the_signed_in_role_is_authorized_by_its_policy_like_any_caller(rehearsal: Rehearsal) -> None:
    owner = rehearsal.sagemaker()
    definition = {
        "Version": "2020-12-01",
        "Steps": [{"Name": "Stop", "Type": "Fail", "Arguments": {"ErrorMessage": "x"}}],
    }
    owner.create_pipeline(
        PipelineName="console-visible",
        PipelineDefinition=json.dumps(definition),
        RoleArn=rehearsal.output("SamplePipelineRoleArn"),
        ClientRequestToken="console-visible-00000000000000000000001",
    )
    console = _signed_in(rehearsal)
    names = {p["PipelineName"] for p in console.list_pipelines()["PipelineSummaries"]}
    assert "console-visible" in names
    described = console.describe_pipeline(PipelineName="console-visible")
    assert json.loads(described["PipelineDefinition"]) == definition
    started = console.start_pipeline_execution(
        PipelineName="console-visible", ClientRequestToken="console-start-0000000000000000000000001"
    )
    assert started["PipelineExecutionArn"].startswith(described["PipelineArn"] + "/execution/")
    # What its policy does not grant is refused by the API's authorization, naming the action.
    with pytest.raises(ClientError) as refused:
        console.create_pipeline(
            PipelineName="console-made",
            PipelineDefinition=json.dumps(definition),
            RoleArn=rehearsal.output("SamplePipelineRoleArn"),
            ClientRequestToken="console-made-000000000000000000000001",
        )
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "sagemaker:CreatePipeline" in refused.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as deleting:
        console.delete_pipeline(
            PipelineName="console-visible", ClientRequestToken="console-delete-00000000000000000001"
        )
    assert deleting.value.response["Error"]["Code"] == "AccessDeniedException"
