"""The route table: every step type either has its StepRunner route or is refused by name."""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from pipelines.definition.models import KNOWN_STEP_TYPES
from pipelines.stepfunctions import CLOUD_STEP_TYPES, ROUTES, Route, UnsupportedInCloud, route_for

from .builders import make_step

# The DESIGN.md "Cloud runtime" table, step type -> integration ARNs in order.
DESIGN_TABLE = {
    "Processing": ("arn:aws:states:::sagemaker:createProcessingJob.sync",),
    "Training": ("arn:aws:states:::sagemaker:createTrainingJob.sync",),
    "Tuning": ("arn:aws:states:::sagemaker:createHyperParameterTuningJob.sync",),
    "Transform": ("arn:aws:states:::sagemaker:createTransformJob.sync",),
    "Model": ("arn:aws:states:::sagemaker:createModel",),
    "RegisterModel": ("arn:aws:states:::aws-sdk:sagemaker:createModelPackage",),
    "AutoML": (
        "arn:aws:states:::aws-sdk:sagemaker:createAutoMLJob",
        "arn:aws:states:::aws-sdk:sagemaker:describeAutoMLJob",
    ),
    "Lambda": ("arn:aws:states:::lambda:invoke",),
    # Callback deviates on purpose: the engine registers the task token (queued to it, like a
    # report) and sends the SQS message itself.
    "Callback": ("arn:aws:states:::sqs:sendMessage.waitForTaskToken",),
    "QualityCheck": ("arn:aws:states:::sagemaker:createProcessingJob.sync",),
    "ClarifyCheck": ("arn:aws:states:::sagemaker:createProcessingJob.sync",),
    "Condition": (),
    "Fail": (),
}


@pytest.mark.parametrize(("step_type", "integrations"), sorted(DESIGN_TABLE.items()))
def test_route_table_matches_the_design(step_type: str, integrations: tuple[str, ...]) -> None:
    assert route_for(make_step(step_type)).integrations == integrations


@pytest.mark.parametrize(
    ("arguments", "route", "integrations"),
    [
        (
            {"ClusterId": "j-1", "StepConfig": {"HadoopJarStep": {"Jar": "x.jar"}}},
            Route.EMR,
            ("arn:aws:states:::elasticmapreduce:addStep.sync",),
        ),
        (
            {"ClusterConfig": {"Instances": {}}, "StepConfig": {"HadoopJarStep": {"Jar": "x.jar"}}},
            Route.EMR_NEW_CLUSTER,
            (
                "arn:aws:states:::elasticmapreduce:createCluster.sync",
                "arn:aws:states:::elasticmapreduce:addStep.sync",
                "arn:aws:states:::elasticmapreduce:terminateCluster",
            ),
        ),
    ],
)
def test_emr_route_follows_cluster_id_or_cluster_config(
    arguments: dict[str, Any], route: Route, integrations: tuple[str, ...]
) -> None:
    step_route = route_for(make_step("EMR", arguments))
    assert (step_route.route, step_route.integrations) == (route, integrations)


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        ({"StepConfig": {}}, "exactly one of ClusterId or ClusterConfig"),
        (
            {"StepConfig": {}, "ClusterId": "j-1", "ClusterConfig": {}},
            "exactly one of ClusterId or ClusterConfig",
        ),
        (
            {"StepConfig": {}, "ClusterConfig": {}, "ExecutionRoleArn": "arn:r"},
            "only together with ClusterId",
        ),
        ({"ClusterId": "j-1"}, "StepConfig"),
    ],
)
def test_malformed_emr_steps_are_refused(arguments: dict[str, Any], reason: str) -> None:
    with pytest.raises(UnsupportedInCloud, match=reason):
        route_for(make_step("EMR", arguments))


MINIMAL_ARGUMENTS: dict[str, dict[str, Any]] = {
    "EMR": {"ClusterId": "j", "StepConfig": {}},
    "EMRServerless": {"ApplicationId": "a", "ExecutionRoleArn": "r", "JobConfig": {"jobDriver": {}}},
    "Endpoint": {"EndpointName": "e", "EndpointConfigName": "c"},
    "InferenceComponent": {"InferenceComponentName": "ic", "EndpointName": "e"},
    "Job": {
        "RoleArn": "r",
        "JobCategory": "AgentRFT",
        "JobConfigSchemaVersion": "1.0.0",
        "JobConfigDocument": "{}",
    },
}
"""Arguments for the types whose route depends on them (the others route on Type alone)."""


def test_every_known_step_type_routes_or_is_refused_by_name() -> None:
    for step_type, model in KNOWN_STEP_TYPES.items():
        # model_construct: the route depends on Type (and EMR's Arguments) only, so no
        # type-specific required fields need inventing here.
        arguments = MINIMAL_ARGUMENTS.get(step_type, {})
        step = model.model_construct(name=f"My{step_type}", type=step_type, arguments=arguments)
        if step_type in CLOUD_STEP_TYPES:
            assert route_for(step).step_type == step_type
            continue
        with pytest.raises(UnsupportedInCloud) as caught:
            route_for(step)
        (unsupported,) = caught.value.steps
        assert (unsupported.name, unsupported.type) == (step.name, step_type)
        assert step.name in str(caught.value) and step_type in str(caught.value)


@pytest.mark.parametrize(
    ("step_type", "arguments", "missing"),
    [
        ("InferenceComponent", {"EndpointName": "e"}, "InferenceComponentName"),
        (
            "Job",
            {"RoleArn": "r", "JobCategory": "AgentRFT", "JobConfigSchemaVersion": "1"},
            "JobConfigDocument",
        ),
    ],
)
def test_v3_steps_without_their_required_members_are_refused_naming_them(
    step_type: str, arguments: dict[str, Any], missing: str
) -> None:
    with pytest.raises(UnsupportedInCloud, match=f"Arguments must hold {missing} "):
        route_for(make_step(step_type, arguments))


def test_unknown_step_types_are_refused() -> None:
    with pytest.raises(UnsupportedInCloud, match="'BedrockCustomModel'"):
        route_for(make_step("BedrockCustomModel"))


def test_unsupported_in_cloud_is_a_validation_error() -> None:
    with pytest.raises(UnsupportedInCloud) as caught:
        route_for(make_step("BedrockModelImport"))
    assert caught.value.code == "ValidationException"


def test_job_routes_need_an_object_of_arguments() -> None:
    step = make_step("Training")
    step.arguments = ["not", "a", "request"]
    with pytest.raises(UnsupportedInCloud, match="CreateTrainingJob request"):
        route_for(step)


@pytest.mark.parametrize(("timeout", "ok"), [(1, True), (600, True), (601, False), (0, False)])
def test_lambda_timeout_is_bounded_by_ten_minutes(timeout: int, ok: bool) -> None:
    step = make_step("Lambda", TimeoutSeconds=timeout)
    if ok:
        assert route_for(step).route is Route.LAMBDA
    else:
        with pytest.raises(UnsupportedInCloud, match="TimeoutSeconds"):
            route_for(step)


def test_engine_steps_have_no_step_runner() -> None:
    for step_type in ("Condition", "Fail"):
        step_route = route_for(make_step(step_type))
        assert step_route.route is Route.ENGINE and not step_route.runs_in_step_runner


def test_sagemaker_routes_name_a_real_operation_and_its_job_name_member() -> None:
    model = botocore.session.get_session().get_service_model("sagemaker")
    for spec in ROUTES.values():
        if spec.operation is None:
            continue
        shape = model.operation_model(spec.operation).input_shape
        assert shape is not None
        if spec.name_field is not None:
            assert spec.name_field in shape.required_members, spec
