"""`pipelines serve` with a per-account IAM policy file: the same action names and condition keys
as the cloud, evaluated locally, through real boto3 clients."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from pipelines.api.embedded import build_embedded_api
from pipelines.authorization.sources import InvalidPolicyFile
from pipelines.config import load_config

from tests.api.conftest import OWNER, ROLE, Served, condition_definition, make_config

RUNNER = "222222222222"  # AKIDRUNNER in tests.api.conftest
# Team B may read, create pipelines named team-b-*, and start only versions 2 and above.
TEAM_B_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["sagemaker:Describe*", "sagemaker:List*"], "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": f"arn:aws:iam::{RUNNER}:role/pipelines/*"},
        {
            "Effect": "Allow",
            "Action": ["sagemaker:CreatePipeline", "sagemaker:UpdatePipeline"],
            "Resource": f"arn:aws:sagemaker:*:{RUNNER}:pipeline/team-b-*",
        },
        {
            "Effect": "Allow",
            "Action": "sagemaker:StartPipelineExecution",
            "Resource": f"arn:aws:sagemaker:*:{RUNNER}:pipeline/*",
            "Condition": {"NumericGreaterThanEquals": {"sagemaker:PipelineVersionId": "2"}},
        },
    ],
}


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    policy = tmp_path / "team-b.json"
    policy.write_text(json.dumps(TEAM_B_POLICY))
    config = make_config(tmp_path).model_copy(update={"policies": {RUNNER: policy}})
    api = build_embedded_api(config, strict_shapes=True)
    server = api.server("127.0.0.1", 0, run_scheduler=False, resume=False).start()
    yield Served(api, server, config)
    server.stop()


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_an_accounts_policy_file_decides_its_calls(served: Served) -> None:
    team_b: Any = served.client("sagemaker", "AKIDRUNNER")
    role = f"arn:aws:iam::{RUNNER}:role/pipelines/run"
    with pytest.raises(ClientError) as exc:  # a role of another account is never passed
        team_b.create_pipeline(
            PipelineName="team-b-x", PipelineDefinition=condition_definition(), RoleArn=ROLE
        )
    assert code(exc) == "AccessDeniedException" and ROLE in str(exc.value)
    with pytest.raises(ClientError) as exc:
        team_b.create_pipeline(PipelineName="other", PipelineDefinition=condition_definition(), RoleArn=role)
    assert code(exc) == "AccessDeniedException"
    assert (
        f"sagemaker:CreatePipeline on resource: arn:aws:sagemaker:us-east-1:{RUNNER}:pipeline/other"
        in str(exc.value)
    )
    role = f"arn:aws:iam::{RUNNER}:role/pipelines/run"
    team_b.create_pipeline(
        PipelineName="team-b-train", PipelineDefinition=condition_definition(), RoleArn=role
    )
    with pytest.raises(ClientError) as exc:  # version 1
        team_b.start_pipeline_execution(PipelineName="team-b-train")
    assert code(exc) == "AccessDeniedException"
    assert team_b.list_pipeline_executions(PipelineName="team-b-train")["PipelineExecutionSummaries"] == []
    team_b.update_pipeline(
        PipelineName="team-b-train", PipelineDefinition=condition_definition(with_lambda=True)
    )
    assert team_b.start_pipeline_execution(PipelineName="team-b-train")["PipelineExecutionArn"]
    # an account without a policy file is not restricted
    owner: Any = served.client("sagemaker")
    owner.create_pipeline(PipelineName="anything", PipelineDefinition=condition_definition(), RoleArn=ROLE)
    assert OWNER in owner.describe_pipeline(PipelineName="anything")["PipelineArn"]


def test_a_bad_policy_file_fails_at_start_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "*",
                        "Resource": "*",
                        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                    }
                ]
            }
        )
    )
    (tmp_path / "pipelines.toml").write_text(f'[policies]\n"{RUNNER}" = "bad.json"\n')
    config = load_config(tmp_path / "pipelines.toml")
    assert config.policies == {RUNNER: bad.resolve()}
    with pytest.raises(InvalidPolicyFile, match="bad.json.*IpAddress is not supported"):
        build_embedded_api(config)
