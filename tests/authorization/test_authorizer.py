"""The authorizer over moto's IAM holding real policies: decisions, the cache window (with an
injected clock), and denial on every kind of error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pipelines.api.errors import AccessDenied
from pipelines.authorization import (
    MAX_CACHE_SECONDS,
    AccessRequest,
    Authorizer,
    IamPolicySource,
    LocalEvaluator,
    Principal,
    SimulatorEvaluator,
    pass_role_request,
)

ACCOUNT = "123456789012"
PIPE = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:pipeline/train"
START = AccessRequest.of("sagemaker:StartPipelineExecution", PIPE, {"sagemaker:PipelineVersionId": ["7"]})


def allow(actions: list[str], resource: str = "*", condition: dict | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Action": actions, "Resource": resource}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def iam() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("iam", region_name="us-east-1")
        client.create_user(UserName="alice")
        client.put_user_policy(
            UserName="alice",
            PolicyName="start",
            PolicyDocument=allow(["sagemaker:StartPipelineExecution"], PIPE),
        )
        yield client


def authorizer(iam: Any, clock: Clock) -> Authorizer:
    return Authorizer(
        LocalEvaluator(IamPolicySource(iam)),
        lambda p: p.account == ACCOUNT and p.kind != "root",
        clock=clock,
    )


def test_a_policy_change_takes_effect_after_the_cache_window(iam: Any) -> None:
    clock = Clock()
    auth = authorizer(iam, clock)
    alice = auth.principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice")
    auth.check(alice, [START])
    iam.delete_user_policy(UserName="alice", PolicyName="start")
    clock.now += MAX_CACHE_SECONDS - 1
    auth.check(alice, [START])  # still the cached decision: the change is at most 60 s late
    clock.now += 2
    with pytest.raises(AccessDenied, match="sagemaker:StartPipelineExecution on resource: " + PIPE):
        auth.check(alice, [START])
    # and back: a granted policy is honoured after the window, through a group and a managed policy
    arn = iam.create_policy(PolicyName="run", PolicyDocument=allow(["sagemaker:StartPipelineExecution"]))[
        "Policy"
    ]["Arn"]
    iam.create_group(GroupName="runners")
    iam.attach_group_policy(GroupName="runners", PolicyArn=arn)
    iam.add_user_to_group(GroupName="runners", UserName="alice")
    clock.now += MAX_CACHE_SECONDS + 1
    auth.check(alice, [START])


def test_the_cache_is_keyed_by_context(iam: Any) -> None:
    iam.put_user_policy(
        UserName="alice",
        PolicyName="start",
        PolicyDocument=allow(
            ["sagemaker:StartPipelineExecution"],
            PIPE,
            {"NumericGreaterThanEquals": {"sagemaker:PipelineVersionId": "6"}},
        ),
    )
    auth = authorizer(iam, Clock())
    alice = auth.principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice")
    auth.check(alice, [START])
    old = AccessRequest.of(START.action, PIPE, {"sagemaker:PipelineVersionId": ["5"]})
    with pytest.raises(AccessDenied):
        auth.check(alice, [old])


def test_assumed_role_sessions_are_their_role_and_boundaries_apply(iam: Any) -> None:
    trust = json.dumps(
        {
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ]
        }
    )
    boundary = iam.create_policy(PolicyName="bound", PolicyDocument=allow(["iam:PassRole"]))["Policy"]["Arn"]
    iam.create_role(
        RoleName="Scientist", Path="/teams/", AssumeRolePolicyDocument=trust, PermissionsBoundary=boundary
    )
    iam.put_role_policy(
        RoleName="Scientist", PolicyName="all", PolicyDocument=allow(["sagemaker:*", "iam:PassRole"])
    )
    auth = authorizer(iam, Clock())
    session = auth.principal(ACCOUNT, f"arn:aws:sts::{ACCOUNT}:assumed-role/Scientist/bob")
    auth.check(session, [pass_role_request(f"arn:aws:iam::{ACCOUNT}:role/pipelines/Run")])
    with pytest.raises(AccessDenied, match="no identity-based policy allows"):
        auth.check(session, [START])  # allowed by the role's policy, not by its boundary


@pytest.mark.parametrize(
    ("principal_arn", "message"),
    [
        (f"arn:aws:iam::{ACCOUNT}:user/mallory", "no such user"),
        (f"arn:aws:sts::{ACCOUNT}:assumed-role/Ghost/s", "no such role"),
    ],
)
def test_unknown_principals_are_denied(iam: Any, principal_arn: str, message: str) -> None:
    auth = authorizer(iam, Clock())
    with pytest.raises(AccessDenied, match=message):
        auth.check(auth.principal(ACCOUNT, principal_arn), [START])


def test_malformed_and_foreign_caller_arns_are_denied(iam: Any) -> None:
    auth = authorizer(iam, Clock())
    with pytest.raises(AccessDenied):
        auth.principal(ACCOUNT, "arn:aws:sts::123456789012:federated-user/x")
    with pytest.raises(AccessDenied, match="not of its account"):
        auth.principal(ACCOUNT, "arn:aws:iam::999999999999:user/alice")


def test_unsupported_operators_deny_and_errors_are_not_cached(iam: Any) -> None:
    clock = Clock()
    auth = authorizer(iam, clock)
    alice = auth.principal(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/alice")
    iam.put_user_policy(
        UserName="alice",
        PolicyName="start",
        PolicyDocument=allow(
            ["sagemaker:*"], "*", {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
        ),
    )
    with pytest.raises(AccessDenied, match="DateGreaterThan is not supported"):
        auth.check(alice, [START])
    iam.put_user_policy(UserName="alice", PolicyName="start", PolicyDocument=allow(["sagemaker:*"]))
    auth.check(alice, [START])  # the error was not cached: the fixed policy applies at once


def test_the_account_root_and_other_accounts_are_not_governed(iam: Any) -> None:
    auth = authorizer(iam, Clock())
    auth.check(auth.principal(ACCOUNT, None), [START])
    auth.check(auth.principal("222222222222", "arn:aws:iam::222222222222:user/x"), [START])


def test_the_simulator_backend_sends_typed_context_and_reads_the_decision() -> None:
    class FakeIam:  # moto does not implement SimulatePrincipalPolicy: record what we send
        calls: list[dict[str, Any]] = []

        def get_user(self, UserName: str) -> dict[str, Any]:
            return {"User": {"Arn": f"arn:aws:iam::{ACCOUNT}:user/team/{UserName}"}}

        def simulate_principal_policy(self, **kwargs: Any) -> dict[str, Any]:
            self.calls.append(kwargs)
            return {"EvaluationResults": [{"EvalDecision": "explicitDeny"}]}

    iam = FakeIam()
    auth = Authorizer(SimulatorEvaluator(iam), lambda p: True, clock=Clock())
    request = AccessRequest.of(
        "sagemaker:AddTags", PIPE, {"sagemaker:PipelineVersionId": ["3"], "aws:TagKeys": ["team"]}
    )
    with pytest.raises(AccessDenied, match="explicit deny"):
        auth.check(Principal(ACCOUNT, "user", "alice", f"arn:aws:iam::{ACCOUNT}:user/team/alice"), [request])
    (call,) = iam.calls
    assert call["PolicySourceArn"] == f"arn:aws:iam::{ACCOUNT}:user/team/alice"
    assert call["ActionNames"] == ["sagemaker:AddTags"] and call["ResourceArns"] == [PIPE]
    assert sorted((e["ContextKeyName"], e["ContextKeyType"]) for e in call["ContextEntries"]) == [
        ("aws:TagKeys", "stringList"),
        ("sagemaker:PipelineVersionId", "numeric"),
    ]
