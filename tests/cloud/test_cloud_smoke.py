from __future__ import annotations

import json

from tests.cloud.harness import Cloud

ROLE = "arn:aws:iam::123456789012:role/pipelines/job"


def processing(name: str, **envelope):
    arguments = {
        "ProcessingResources": {"ClusterConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 30}},
        "AppSpecification": {"ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/prep:1"},
        "RoleArn": ROLE,
    }
    return {"Name": name, "Type": "Processing", "Arguments": arguments, **envelope}


def test_two_steps(cloud: Cloud) -> None:
    cloud.register(json.dumps({"Version": "2020-12-01", "Parameters": [], "Steps": [processing("A"), processing("B", DependsOn=["A"])]}))
    final = cloud.run()
    print(final.status, final.failure_reason)
    print({k: (v.status, v.failure_reason) for k, v in cloud.steps(final.execution_id).items()})
    print(cloud.moto.invocation_counts())
    assert final.status == "Succeeded"
