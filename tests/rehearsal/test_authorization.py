"""Issue 11's principal matrix inside the deploy rehearsal: the stack synthesized by the CDK CLI
(``sharingAccounts`` set), its api Lambda running from the built assets in a Python 3.12
process and reading the callers' policies from moto's IAM, behind the loopback API Gateway.

Every principal is a real moto IAM principal with its own access key: users in the owner account
and in three other accounts, and an assumed-role session. Each signs with SigV4 for
``execute-api``; the gateway verifies the signature with the key's secret, admits what the
template's resource policy and the caller's identity policies admit, and hands the api Lambda
the identity it established. The rows, the setup (RAM shares made by the owner and accepted by
the other accounts through the API) and the expected outcomes are ``tests/authorization/
matrix.py``'s, the same the in-process matrix runs.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from botocore.exceptions import ClientError
from pipelines.authorization import MAX_CACHE_SECONDS
from pipelines.deploy.clients import ApiClients, api_clients

from tests.authorization import matrix
from tests.authorization.matrix import INVOKE_API, OWNER, PRINCIPALS, RUNNER
from tests.rehearsal.apigateway import ResourcePolicy, RestApi
from tests.rehearsal.harness import Rehearsal
from tests.rehearsal.identities import iam_user

OUTSIDER = "444444444444"  # an account the deployment does not admit (not in sharingAccounts)
# "versioned" with its PipelineVersionId condition left out: the rows that condition decides
# (starting team-b's version 1, and a schedule that would start it) must come out the other way,
# or the deployed Lambda does not evaluate it.
WEAKENED = "versioned-weakened"
WEAKENED_ROWS = ["StartPipelineExecution team-b v1", "CreateSchedule team-b"]


@dataclass
class Principals:
    """The matrix's principals as moto IAM holds them, and their clients for the deployed API."""

    rehearsal: Rehearsal
    keys: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    made: dict[str, ApiClients] = field(default_factory=dict)

    def add_user(self, principal: str, account: str, arn: str, statements: list[dict[str, Any]]) -> None:
        key, secret = iam_user(account, arn.rsplit("/", 1)[1], statements, self.rehearsal.region)
        self.keys[principal] = (key, secret, None)

    def add_role_session(self, principal: str, arn: str, statements: list[dict[str, Any]]) -> None:
        """The role exists with ``statements``; the principal is a session assumed from it."""
        role, session = arn.rsplit("/", 2)[-2:]
        iam = self.rehearsal.aws("iam")
        role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        document = json.dumps({"Version": "2012-10-17", "Statement": statements})
        iam.put_role_policy(RoleName=role, PolicyName=principal, PolicyDocument=document)
        credentials = self.rehearsal.aws("sts").assume_role(RoleArn=role_arn, RoleSessionName=session)[
            "Credentials"
        ]
        self.keys[principal] = (
            credentials["AccessKeyId"],
            credentials["SecretAccessKey"],
            credentials["SessionToken"],
        )

    def clients(self, principal: str) -> ApiClients:
        if principal not in self.made:
            session = self.rehearsal.session(*self.keys[principal])
            self.made[principal] = api_clients(
                self.rehearsal.api_url(), self.rehearsal.region, session=session
            )
        return self.made[principal]


def _without_version_condition(statements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    weakened = copy.deepcopy(statements)
    for statement in weakened:
        statement.pop("Condition", None)
    return weakened


@pytest.fixture(scope="module")
def principals(rehearsal: Rehearsal) -> Principals:
    made = Principals(rehearsal)
    for name, (account, arn, statements) in PRINCIPALS.items():
        if ":assumed-role/" in arn:
            made.add_role_session(name, arn, statements)
        else:
            made.add_user(name, account, arn, statements)
    _, versioned_arn, versioned = PRINCIPALS["versioned"]
    made.add_user(WEAKENED, OWNER, versioned_arn + "-weakened", _without_version_condition(versioned))
    made.add_user("outsider", OUTSIDER, f"arn:aws:iam::{OUTSIDER}:user/someone", [INVOKE_API])
    return made


@pytest.fixture(scope="module")
def execution(rehearsal: Rehearsal, principals: Principals) -> Iterator[str]:
    """The matrix's pipelines, execution, jobs and accepted shares (``matrix.prepare``)."""

    def finished(execution_arn: str) -> None:
        rehearsal.wait_execution(execution_arn)

    yield matrix.prepare(principals.clients, finished, rehearsal.aws("sagemaker"))
    admin = principals.clients("admin").sagemaker
    for name in ("team-a", "team-b"):
        for summary in admin.list_pipeline_executions(PipelineName=name)["PipelineExecutionSummaries"]:
            rehearsal.wait_execution(summary["PipelineExecutionArn"])


def test_the_principal_matrix_against_the_deployed_stack(
    rehearsal: Rehearsal, principals: Principals, execution: str
) -> None:
    actual = matrix.run(principals.clients, execution)
    assert actual == matrix.EXPECTED
    admin = principals.clients("admin").sagemaker
    names = {p["PipelineName"] for p in admin.list_pipelines(MaxResults=100)["PipelineSummaries"]}
    assert names & {"team-a", "team-b", "other", "team-a-new"} == set(matrix.PIPELINES_AFTER)


def test_the_api_lambda_sees_the_identity_the_signature_proves(
    rehearsal: Rehearsal, principals: Principals, execution: str
) -> None:
    """``requestContext.identity`` is what AWS_IAM authentication established from the key:
    the user's or the session's ARN, its account and the access key; ``caller`` is IAM's unique
    id of the user, or the role's id and the session name."""
    api = rehearsal.function_name("ApiFunction")
    iam = rehearsal.aws("iam")
    for principal, (account, arn, _) in PRINCIPALS.items():
        principals.clients(principal).sagemaker.list_pipelines()
        identity = rehearsal.lambdas.calls(api)[-1].event["requestContext"]["identity"]
        assert (identity["accountId"], identity["userArn"]) == (account, arn)
        assert identity["accessKey"] == principals.keys[principal][0]
        if account != OWNER:
            continue
        if ":assumed-role/" in arn:
            role, session = arn.rsplit("/", 2)[-2:]
            assert identity["caller"] == f"{iam.get_role(RoleName=role)['Role']['RoleId']}:{session}"
        else:
            assert identity["caller"] == iam.get_user(UserName=arn.rsplit("/", 1)[1])["User"]["UserId"]


def test_a_deliberately_weakened_policy_flips_the_row_its_condition_decides(
    principals: Principals, execution: str
) -> None:
    """The matrix can fail: the same user without the PipelineVersionId condition may start
    team-b's version 1 (and schedule it), and nothing else about it changes."""
    outcomes = matrix.run(principals.clients, execution, ["versioned", WEAKENED]).values()
    versioned, weakened = zip(*outcomes, strict=True)
    rows = list(matrix.EXPECTED)
    changed = [row for row, was, now in zip(rows, versioned, weakened, strict=True) if was != now]
    assert changed == WEAKENED_ROWS
    for row in WEAKENED_ROWS:
        assert (versioned[rows.index(row)], weakened[rows.index(row)]) == (matrix.N, matrix.Y)


def test_a_policy_change_takes_effect_after_the_cache_window(
    rehearsal: Rehearsal, principals: Principals, execution: str
) -> None:
    """The warm api Lambda answers from its decision cache until the window ends (here the
    process's clock is moved on, ``LocalLambdas.advance_clock``), then IAM's current policy
    decides."""
    read_team_a = {"Effect": "Allow", "Action": "sagemaker:DescribePipeline", "Resource": matrix.TEAM_A}
    principals.add_user("cached", OWNER, f"arn:aws:iam::{OWNER}:user/cached", [INVOKE_API, read_team_a])
    sagemaker = principals.clients("cached").sagemaker
    assert sagemaker.describe_pipeline(PipelineName="team-a")["PipelineName"] == "team-a"
    revoked = json.dumps({"Version": "2012-10-17", "Statement": [INVOKE_API]})
    rehearsal.aws("iam").put_user_policy(
        UserName="cached", PolicyName="cached-policy", PolicyDocument=revoked
    )
    # within the window: the decision made before the change still holds
    assert sagemaker.describe_pipeline(PipelineName="team-a")["PipelineName"] == "team-a"
    rehearsal.lambdas.advance_clock(MAX_CACHE_SECONDS + 1)
    with pytest.raises(ClientError) as refused:
        sagemaker.describe_pipeline(PipelineName="team-a")
    assert refused.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "sagemaker:DescribePipeline" in refused.value.response["Error"]["Message"]


def test_api_gateway_refuses_what_iam_does_not_authenticate(
    rehearsal: Rehearsal, principals: Principals, execution: str
) -> None:
    """A wrong secret, a session key with another token, a key IAM never issued, no signature:
    each refused at the gateway with the error the template's gateway responses give it."""
    key, secret, _ = principals.keys["admin"]
    session_key, session_secret, _ = principals.keys["limited"]
    cases = [
        ("InvalidSignatureException", rehearsal.session(key, secret + "x")),
        ("UnrecognizedClientException", rehearsal.session(session_key, session_secret, "another-token")),
        ("UnrecognizedClientException", rehearsal.session("AKIANEVERISSUED00000", secret)),
    ]
    api = rehearsal.function_name("ApiFunction")
    before = len(rehearsal.lambdas.calls(api))
    for code, session in cases:
        client = api_clients(rehearsal.api_url(), rehearsal.region, session=session).sagemaker
        with pytest.raises(ClientError) as refused:
            client.list_pipelines()
        assert refused.value.response["Error"]["Code"] == code
    unsigned = requests.post(
        rehearsal.api_url(),
        data="{}",
        headers={"X-Amz-Target": "SageMaker.ListPipelines", "Content-Type": "application/x-amz-json-1.1"},
        timeout=30,
    )
    assert (unsigned.status_code, unsigned.json()["__type"]) == (403, "MissingAuthenticationTokenException")
    assert len(rehearsal.lambdas.calls(api)) == before


def test_an_account_outside_sharing_accounts_is_refused_by_api_gateway(
    rehearsal: Rehearsal, principals: Principals, execution: str
) -> None:
    """Its own IAM allows it to invoke the API, but the API's resource policy (from the template)
    does not admit its account: every call ends at the gateway, and the api Lambda never runs."""
    api = rehearsal.function_name("ApiFunction")
    before = len(rehearsal.lambdas.calls(api))
    outsider = principals.clients("outsider")
    calls = [
        lambda: outsider.sagemaker.list_pipelines(),
        lambda: outsider.sagemaker.describe_pipeline(PipelineName=matrix.TEAM_A),
        lambda: outsider.ram.get_resource_share_invitations(),
    ]
    for call in calls:
        with pytest.raises(ClientError) as refused:
            call()
        error = refused.value.response["Error"]
        assert error["Code"] == "AccessDeniedException"
        assert (
            f"arn:aws:iam::{OUTSIDER}:user/someone is not authorized to perform: execute-api:Invoke"
            in (error["Message"])
        )
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert len(rehearsal.lambdas.calls(api)) == before


def test_a_resource_policy_without_the_sharing_account_refuses_it(
    rehearsal: Rehearsal, principals: Principals, execution: str
) -> None:
    """The admission rows can fail too: with RUNNER left out of the synthesized resource policy,
    the runner's allowed start is refused at the gateway; restored, it is allowed again."""
    (api,) = rehearsal.gateway.apis.values()
    policy = rehearsal.deployment.template["Resources"][_rest_api_logical_id(rehearsal)]["Properties"][
        "Policy"
    ]
    assert RUNNER in json.dumps(policy), "the runnable variant admits the sharing accounts"
    start = matrix.OPERATIONS[[row for row, _ in matrix.OPERATIONS].index("StartPipelineExecution v2")][1]
    runner = principals.clients("runner")
    s = {"execution": execution, "principal": "runner"}
    original = api.policy
    try:
        api.policy = _policy_without(rehearsal, api, RUNNER)
        assert matrix.outcome(start, runner, s) == matrix.N
    finally:
        api.policy = original
    assert matrix.outcome(start, runner, s) == matrix.Y


def _rest_api_logical_id(rehearsal: Rehearsal) -> str:
    (logical,) = rehearsal.deployment.logical_ids("AWS::ApiGateway::RestApi")
    return logical


def _policy_without(rehearsal: Rehearsal, api: RestApi, account: str) -> ResourcePolicy:
    template = rehearsal.deployment.template["Resources"][_rest_api_logical_id(rehearsal)]
    document = rehearsal.deployment.resolve(copy.deepcopy(template["Properties"]["Policy"]))
    for statement in document["Statement"]:
        principal = statement["Principal"]
        if isinstance(principal, dict) and isinstance(principal.get("AWS"), list):
            principal["AWS"] = [p for p in principal["AWS"] if account not in p]
    return ResourcePolicy.of(document, api.arn)
