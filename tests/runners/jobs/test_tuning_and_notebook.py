"""Tuning (a local search of training jobs) and NotebookJob (a headless notebook run)."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any

import pytest
from pipelines.objects import LocalObjectStore
from pipelines.runners.base import RunContext
from pipelines.runners.jobs import AlgorithmError, JobRequestError, TrainingRunner, TuningRunner

from .helpers import BUCKET, request, shape_problems, tar_gz, untar

SCORE = """
import argparse, os, pathlib, time
parser = argparse.ArgumentParser()
parser.add_argument("--size", type=float)
parser.add_argument("--kind")
parser.add_argument("--fixed")
args = parser.parse_args()
bonus = {"good": 100, "bad": 0, "slow": 0}[args.kind]
if args.kind == "slow":
    time.sleep(120)
pathlib.Path(os.environ["SM_MODEL_DIR"], "x.txt").write_text(str(args.size))
print(f"objective: {args.size + bonus}")
"""


def tuning_arguments(
    objects: LocalObjectStore, strategy: str, max_jobs: int, ranges: dict[str, Any]
) -> dict[str, Any]:
    objects.put(f"s3://{BUCKET}/code/sourcedir.tar.gz", tar_gz({"score.py": SCORE}))
    return {
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": "Maximize", "MetricName": "objective"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": max_jobs, "MaxParallelTrainingJobs": 2},
            "ParameterRanges": ranges,
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {
                "fixed": '"yes"',
                "sagemaker_program": '"score.py"',
                "sagemaker_submit_directory": f'"s3://{BUCKET}/code/sourcedir.tar.gz"',
            },
            "AlgorithmSpecification": {
                "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "objective", "Regex": r"objective: ([0-9\.]+)"}],
            },
            "RoleArn": "arn:aws:iam::123456789012:role/Role",
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/tuning"},
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge", "VolumeSizeInGB": 30},
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        },
    }


def test_grid_tuning_finds_the_best_trial_and_orders_summaries(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    ranges = {
        "IntegerParameterRanges": [{"Name": "size", "MinValue": "1", "MaxValue": "2", "ScalingType": "Auto"}],
        "CategoricalParameterRanges": [{"Name": "kind", "Values": ["good", "bad"]}],
    }
    arguments = tuning_arguments(objects, "Grid", 10, ranges)
    result = TuningRunner().run(request("Tuning", arguments, name="Tune", job_name="tune-abc"), job_ctx)
    props = result.properties
    summaries = props["TrainingJobSummaries"]
    assert [s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for s in summaries] == [
        102.0,
        101.0,
        2.0,
        1.0,
    ]
    best = props["BestTrainingJob"]
    assert best["TunedHyperParameters"] == {"size": "2", "kind": "good"}
    assert best["TrainingJobName"].startswith("tune-abc-")
    # what get_top_model_s3_uri builds: <S3OutputPath>/<TrainingJobSummaries[k].TrainingJobName>/output/model.tar.gz
    top = untar(objects.get(f"s3://{BUCKET}/tuning/{summaries[0]['TrainingJobName']}/output/model.tar.gz"))
    assert top == {"x.txt": b"2.0"}
    assert props["TrainingJobStatusCounters"]["Completed"] == 4
    assert result.metadata == {"TuningJob": {"Arn": props["HyperParameterTuningJobArn"]}}
    assert props["HyperParameterTuningJobArn"].endswith(":hyper-parameter-tuning-job/tune-abc")
    describe_only = {k: v for k, v in props.items() if k != "TrainingJobSummaries"}
    assert shape_problems("DescribeHyperParameterTuningJob", describe_only) == []
    assert (
        shape_problems("ListTrainingJobsForHyperParameterTuningJob", {"TrainingJobSummaries": summaries})
        == []
    )


def test_max_runtime_stops_running_trials_and_keeps_finished_ones(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    ranges = {
        "IntegerParameterRanges": [{"Name": "size", "MinValue": "1", "MaxValue": "1"}],
        "CategoricalParameterRanges": [{"Name": "kind", "Values": ["good", "slow"]}],
    }
    arguments = tuning_arguments(objects, "Grid", 2, ranges)
    arguments["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxRuntimeInSeconds"] = 4
    props = TuningRunner().run(request("Tuning", arguments, job_name="tune-limit"), job_ctx).properties
    assert props["BestTrainingJob"]["TunedHyperParameters"] == {"size": "1", "kind": "good"}
    assert props["TrainingJobStatusCounters"]["Stopped"] == 1
    assert [s["TrainingJobStatus"] for s in props["TrainingJobSummaries"]] == ["Completed", "Stopped"]


def test_random_tuning_samples_within_ranges(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    ranges = {
        "ContinuousParameterRanges": [
            {"Name": "size", "MinValue": "0.001", "MaxValue": "0.1", "ScalingType": "Logarithmic"}
        ],
        "CategoricalParameterRanges": [{"Name": "kind", "Values": ["good"]}],
    }
    arguments = tuning_arguments(objects, "Bayesian", 3, ranges)
    props = TuningRunner().run(request("Tuning", arguments, job_name="tune-rnd"), job_ctx).properties
    values = [float(s["TunedHyperParameters"]["size"]) for s in props["TrainingJobSummaries"]]
    assert len(values) == 3 and all(0.001 <= v <= 0.1 for v in values)
    assert "strategy Bayesian has no local implementation: sampling at random" in job_ctx.log.text  # type: ignore[attr-defined]

    grid_of_floats = tuning_arguments(objects, "Grid", 3, ranges)
    with pytest.raises(JobRequestError, match="Grid strategy cannot enumerate continuous parameters"):
        TuningRunner().run(request("Tuning", grid_of_floats, job_name="tune-grid"), job_ctx)


NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"tags": ["parameters"]},
            "outputs": [],
            "source": ["rate = 1\n"],
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {},
            "outputs": [],
            "source": [
                "import pathlib\n",
                "print('rate is', rate)\n",
                "pathlib.Path('seen.txt').write_text(str(rate))\n",
            ],
        },
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def notebook_arguments(objects: LocalObjectStore, notebook: dict[str, Any]) -> dict[str, Any]:
    objects.put(f"s3://{BUCKET}/nb/input-1/report.ipynb", json.dumps(notebook).encode())
    return {
        "AlgorithmSpecification": {
            "TrainingImage": "542918446943.dkr.ecr.us-west-2.amazonaws.com/sagemaker-distribution-prod:1-cpu",
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["amazon_sagemaker_scheduler"],
        },
        "InputDataConfig": [
            {
                "ChannelName": "sagemaker_headless_execution_pipelinestep",
                "DataSource": {
                    "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/nb/input-1"}
                },
            }
        ],
        "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/nb/output"},
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 30},
        "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        "RoleArn": "arn:aws:iam::123456789012:role/Role",
        "Environment": {
            "SM_KERNEL_NAME": "python3",
            "SM_INPUT_NOTEBOOK_NAME": "report.ipynb",
            "SM_OUTPUT_NOTEBOOK_NAME": "report-out.ipynb",
            "SM_EXECUTION_INPUT_PATH": "/opt/ml/input/data/sagemaker_headless_execution_pipelinestep",
        },
        "HyperParameters": {"rate": "7"},
    }


def test_notebook_job_runs_headless_with_parameters(job_ctx: RunContext, objects: LocalObjectStore) -> None:
    arguments = notebook_arguments(objects, NOTEBOOK)
    result = TrainingRunner().run(request("Training", arguments, name="Report", job_name="nb-1"), job_ctx)
    output = untar(objects.get(f"s3://{BUCKET}/nb/output/nb-1/output/output.tar.gz"))
    executed = json.loads(output["report-out.ipynb"])
    printed = "".join(
        "".join(o.get("text", "")) for cell in executed["cells"] for o in cell.get("outputs", [])
    )
    assert "rate is 7" in printed
    assert result.properties["Environment"]["SM_OUTPUT_NOTEBOOK_NAME"] == "report-out.ipynb"


def test_notebook_failures_and_missing_packages_are_named(
    job_ctx: RunContext, objects: LocalObjectStore
) -> None:
    broken = json.loads(json.dumps(NOTEBOOK))
    broken["cells"][1]["source"] = ["raise KeyError('no such column')\n"]
    with pytest.raises(AlgorithmError, match=r"the notebook report.ipynb failed: .*KeyError"):
        TrainingRunner().run(
            request("Training", notebook_arguments(objects, broken), job_name="nb-2"), job_ctx
        )

    # an interpreter without papermill or nbclient: the system Python, mapped for this image
    bare = replace(
        job_ctx,
        config=job_ctx.config.model_copy(update={"images": {"*sagemaker-distribution*": "/usr/bin/python3"}}),
    )
    with pytest.raises(
        AlgorithmError, match=r"has neither 'papermill' nor 'nbclient' \(pip install papermill ipykernel\)"
    ):
        TrainingRunner().run(
            request("Training", notebook_arguments(objects, NOTEBOOK), job_name="nb-3"), bare
        )
    assert sys.executable != "/usr/bin/python3"
