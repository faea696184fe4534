"""How long parse + validate + graph take on large, densely cross-referenced definitions.

Synthetic definitions of 100, 500, 1,000 and 2,000 steps, and one grown to just under the
1,048,576-character limit. Each step reads properties of up to three earlier steps, a
parameter and an execution variable, and depends on one more; every tenth step is a
Condition with a step in each branch. Prints the best-of-N time per size and the growth
ratio (time per step relative to the smallest size; 1.0 is linear).

Targets: < 100 ms for 1,000 steps, < 300 ms at the size limit.
Run: .venv/bin/python benchmarks/validate.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "shared"))

from pipelines.definition import check_definition  # noqa: E402
from pipelines.definition.models import MAX_DEFINITION_CHARS  # noqa: E402
from pipelines.graph import PipelineGraph  # noqa: E402

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/bench:latest"


def _output_uri(step: str, name: str) -> dict[str, Any]:
    return {
        "Std:Join": {
            "On": "/",
            "Values": ["s3:/", "bench-bucket", {"Get": "Execution.PipelineExecutionId"}, step, name],
        }
    }


def _reads(kind: str, name: str) -> dict[str, Any]:
    if kind == "Processing":
        return {"Get": f"Steps.{name}.ProcessingOutputConfig.Outputs['train'].S3Output.S3Uri"}
    return {"Get": f"Steps.{name}.ModelArtifacts.S3ModelArtifacts"}


def _processing(name: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Processing",
        "Arguments": {
            "ProcessingResources": {
                "ClusterConfig": {
                    "InstanceType": "ml.m5.xlarge",
                    "InstanceCount": {"Get": "Parameters.InstanceCount"},
                    "VolumeSizeInGB": 30,
                }
            },
            "AppSpecification": {"ImageUri": IMAGE, "ContainerEntrypoint": ["python3", "/opt/ml/code/run.py"]},
            "RoleArn": ROLE,
            "ProcessingInputs": [
                {
                    "InputName": f"input-{i}",
                    "AppManaged": False,
                    "S3Input": {
                        "S3Uri": uri,
                        "LocalPath": f"/opt/ml/processing/input/{i}",
                        "S3DataType": "S3Prefix",
                        "S3InputMode": "File",
                        "S3DataDistributionType": "FullyReplicated",
                        "S3CompressionType": "None",
                    },
                }
                for i, uri in enumerate(inputs)
            ],
            "ProcessingOutputConfig": {
                "Outputs": [
                    {
                        "OutputName": "train",
                        "AppManaged": False,
                        "S3Output": {
                            "S3Uri": _output_uri(name, "train"),
                            "LocalPath": "/opt/ml/processing/train",
                            "S3UploadMode": "EndOfJob",
                        },
                    }
                ]
            },
        },
        "CacheConfig": {"Enabled": True, "ExpireAfter": "P30D"},
    }


def _training(name: str, inputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": "Training",
        "Arguments": {
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "OutputDataConfig": {"S3OutputPath": "s3://bench-bucket/models"},
            "StoppingCondition": {"MaxRuntimeInSeconds": 86400},
            "ResourceConfig": {"VolumeSizeInGB": 30, "InstanceCount": 1, "InstanceType": "ml.m5.xlarge"},
            "RoleArn": ROLE,
            "InputDataConfig": [
                {
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": uri,
                            "S3DataDistributionType": "FullyReplicated",
                        }
                    },
                    "ContentType": "text/csv",
                    "ChannelName": f"channel-{i}",
                }
                for i, uri in enumerate(inputs)
            ],
            "HyperParameters": {"max_depth": "5", "eta": "0.2"},
        },
        "RetryPolicies": [
            {"ExceptionType": ["SageMaker.CAPACITY_ERROR"], "IntervalSeconds": 10, "BackoffRate": 2.0, "MaxAttempts": 3}
        ],
    }


def _step(name: str, kind: str, earlier: list[tuple[str, str]], rng: random.Random) -> dict[str, Any]:
    sources = rng.sample(earlier, min(3, len(earlier)))
    inputs: list[dict[str, Any]] = [_reads(k, n) for n, k in sources] or [{"Get": "Parameters.InputData"}]
    step = _processing(name, inputs) if kind == "Processing" else _training(name, inputs)
    if len(earlier) > 3:
        step["DependsOn"] = [rng.choice(earlier)[0]]
    return step


def _condition(name: str, earlier: list[tuple[str, str]], rng: random.Random) -> tuple[dict[str, Any], list]:
    processing = [n for n, k in earlier if k == "Processing"]
    inside_if, inside_else = f"{name}-If", f"{name}-Else"
    step = {
        "Name": name,
        "Type": "Condition",
        "Arguments": {
            "Conditions": [
                {
                    "Type": "LessThanOrEqualTo",
                    "LeftValue": {
                        "Std:JsonGet": {
                            "PropertyFile": {"Get": f"Steps.{rng.choice(processing)}.PropertyFiles.Report"},
                            "Path": "metrics.mse.value",
                        }
                    },
                    "RightValue": {"Get": "Parameters.MseThreshold"},
                }
            ],
            "IfSteps": [_step(inside_if, "Training", earlier, rng)],
            "ElseSteps": [
                {
                    "Name": inside_else,
                    "Type": "Fail",
                    "Arguments": {"ErrorMessage": {"Std:Join": {"On": " ", "Values": ["MSE above", 6.0]}}},
                }
            ],
        },
    }
    return step, [(inside_if, "Training")]


def synthetic_definition(steps: int, seed: int = 7) -> dict[str, Any]:
    """``steps`` steps in total (condition branch steps included)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    earlier: list[tuple[str, str]] = []
    count = 0
    while count < steps:
        name = f"Step-{count:05d}"
        if count % 10 == 9 and any(k == "Processing" for _, k in earlier) and steps - count >= 3:
            step, added = _condition(name, earlier, rng)
            count += 3
        else:
            kind = "Processing" if count % 2 == 0 else "Training"
            step = _step(name, kind, earlier, rng)
            if kind == "Processing":
                step["PropertyFiles"] = [{"PropertyFileName": "Report", "OutputName": "train", "FilePath": "r.json"}]
            added = [(name, kind)]
            count += 1
        out.append(step)
        earlier.extend(added)
    return {
        "Version": "2020-12-01",
        "Metadata": {},
        "Parameters": [
            {"Name": "InputData", "Type": "String", "DefaultValue": "s3://bench-bucket/input"},
            {"Name": "InstanceCount", "Type": "Integer", "DefaultValue": 1},
            {"Name": "MseThreshold", "Type": "Float", "DefaultValue": 6.0},
        ],
        "PipelineExperimentConfig": {
            "ExperimentName": {"Get": "Execution.PipelineName"},
            "TrialName": {"Get": "Execution.PipelineExecutionId"},
        },
        "Steps": out,
    }


def at_size_limit() -> tuple[str, int]:
    """The largest synthetic definition under the character limit, and its step count."""
    low, high = 100, 4000
    best = json.dumps(synthetic_definition(low)), low
    while low <= high:
        middle = (low + high) // 2
        text = json.dumps(synthetic_definition(middle))
        if len(text) <= MAX_DEFINITION_CHARS:
            best, low = (text, middle), middle + 1
        else:
            high = middle - 1
    return best


def measure(text: str, repeat: int) -> float:
    """Best wall time (ms) of parse + validate + graph + topological order."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        report = check_definition(text)
        assert report.definition is not None and not report.errors, report.errors[:3]
        graph = PipelineGraph.from_definition(report.definition)
        graph.topological_order()
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    check_definition(json.dumps(synthetic_definition(20)))  # load botocore models once, untimed
    cases = [(f"{n} steps", json.dumps(synthetic_definition(n)), n) for n in (100, 500, 1000, 2000)]
    limit_text, limit_steps = at_size_limit()
    cases.append((f"size limit ({limit_steps} steps)", limit_text, limit_steps))
    base_per_step: float | None = None
    print(f"{'case':<28}{'chars':>11}{'ms':>10}{'ms/step':>10}{'growth':>9}")
    for label, text, steps in cases:
        ms = measure(text, args.repeat)
        per_step = ms / steps
        base_per_step = base_per_step or per_step
        print(f"{label:<28}{len(text):>11,}{ms:>10.1f}{per_step:>10.3f}{per_step / base_per_step:>9.2f}")


if __name__ == "__main__":
    main()
