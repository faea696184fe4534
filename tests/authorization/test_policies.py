"""Local policy evaluation: IAM's logic over real policy documents, and refusals of what it
cannot evaluate exactly."""

from __future__ import annotations

import pytest
from pipelines.authorization import Decision, UnsupportedPolicy, evaluate
from pipelines.authorization.principals import MalformedPrincipal, principal_of

PIPE = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/train"
START = "sagemaker:StartPipelineExecution"
# The SageMaker developer guide's example: start and update versions 6 and above only.
VERSIONED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["sagemaker:StartPipelineExecution", "sagemaker:UpdatePipelineVersion"],
            "Resource": "arn:aws:sagemaker:*:123456789012:pipeline/*",
            "Condition": {"NumericGreaterThanEquals": {"sagemaker:PipelineVersionId": 6}},
        }
    ],
}


@pytest.mark.parametrize(
    ("version", "expected"), [("5", Decision.IMPLICIT_DENY), ("6", Decision.ALLOW), ("12", Decision.ALLOW)]
)
def test_pipeline_version_condition_is_numeric(version: str, expected: Decision) -> None:
    assert evaluate([VERSIONED], START, PIPE, {"sagemaker:PipelineVersionId": [version]}) is expected


def test_a_missing_condition_key_does_not_match() -> None:
    assert evaluate([VERSIONED], START, PIPE, {}) is Decision.IMPLICIT_DENY


def test_explicit_deny_wins_over_allow_and_tags_are_matched() -> None:
    admin = {"Statement": [{"Effect": "Allow", "Action": "sagemaker:*", "Resource": "*"}]}
    no_prod = {
        "Statement": [
            {
                "Effect": "Deny",
                "Action": "sagemaker:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/stage": "prod"}},
            }
        ]
    }
    assert evaluate([admin, no_prod], START, PIPE, {"aws:ResourceTag/stage": ["dev"]}) is Decision.ALLOW
    assert (
        evaluate([admin, no_prod], START, PIPE, {"aws:ResourceTag/stage": ["prod"]}) is Decision.EXPLICIT_DENY
    )


def test_request_tag_keys_with_set_qualifier() -> None:
    only_team = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sagemaker:CreatePipeline",
                "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost"]}},
            }
        ]
    }
    create = "sagemaker:CreatePipeline"
    assert evaluate([only_team], create, PIPE, {"aws:TagKeys": ["team"]}) is Decision.ALLOW
    assert evaluate([only_team], create, PIPE, {"aws:TagKeys": ["team", "owner"]}) is Decision.IMPLICIT_DENY


def test_a_boundary_must_allow_too() -> None:
    admin = {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    describe_only = {"Statement": [{"Effect": "Allow", "Action": "sagemaker:Describe*", "Resource": "*"}]}
    assert evaluate([admin], START, PIPE, {}, boundary=describe_only) is Decision.IMPLICIT_DENY
    assert evaluate([admin], "sagemaker:DescribePipeline", PIPE, {}, boundary=describe_only) is Decision.ALLOW


@pytest.mark.parametrize(
    "statement",
    [
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01"}},
        },
        {
            "Effect": "Allow",
            "Action": "*",
            "Resource": "*",
            "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        },
        {"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"},
        {"Effect": "Maybe", "Action": "*", "Resource": "*"},
    ],
)
def test_what_cannot_be_evaluated_exactly_is_refused(statement: dict) -> None:
    with pytest.raises(UnsupportedPolicy):
        evaluate([{"Statement": [statement]}], START, PIPE, {})


def test_a_non_numeric_value_under_a_numeric_operator_is_refused() -> None:
    with pytest.raises(UnsupportedPolicy, match="non-number .six."):
        evaluate([VERSIONED], START, PIPE, {"sagemaker:PipelineVersionId": ["six"]})


def test_principals_map_sessions_to_roles_and_refuse_the_rest() -> None:
    session = principal_of("arn:aws:sts::123456789012:assumed-role/DataScientist/alice")
    assert (session.kind, session.name, session.account) == ("role", "DataScientist", "123456789012")
    user = principal_of("arn:aws:iam::123456789012:user/team/bob")
    assert (user.kind, user.name) == ("user", "bob")
    assert principal_of("arn:aws:iam::123456789012:root").kind == "root"
    for bad in (
        "",
        "bob",
        "arn:aws:sts::123456789012:federated-user/x",
        "arn:aws:iam::12:user/x",
        "arn:aws:s3:::b",
    ):
        with pytest.raises(MalformedPrincipal):
            principal_of(bad)
