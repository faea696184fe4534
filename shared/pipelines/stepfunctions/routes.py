"""Which StepRunner route (and so which typed Task states) runs each definition step type.

The table is the single source of truth shared by the ASL builder (one Choice branch per
route), the request builder (where the job name goes, which operation's shape applies) and
``pipelines plan``. Types with no route here are refused up front with
:class:`UnsupportedInCloud` rather than failing mid-execution.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pipelines.definition.models import StepBase
from pipelines.stepfunctions.errors import UnsupportedInCloud, UnsupportedStep


class Route(StrEnum):
    """The value of the StepRunner input's ``route`` field; the Route Choice branches on it."""

    PROCESSING = "Processing"
    TRAINING = "Training"
    TUNING = "Tuning"
    TRANSFORM = "Transform"
    MODEL = "Model"
    REGISTER_MODEL = "RegisterModel"
    AUTOML = "AutoML"
    LAMBDA = "Lambda"
    CALLBACK = "Callback"
    EMR = "EMR"
    EMR_NEW_CLUSTER = "EMRNewCluster"
    EMR_SERVERLESS = "EMRServerless"
    ENDPOINT_CONFIG = "EndpointConfig"
    ENDPOINT = "Endpoint"
    INFERENCE_COMPONENT = "InferenceComponent"
    JOB = "Job"
    ENGINE = "Engine"


SAGEMAKER = "arn:aws:states:::sagemaker:"
SDK_SAGEMAKER = "arn:aws:states:::aws-sdk:sagemaker:"
EMR = "arn:aws:states:::elasticmapreduce:"
EMR_SERVERLESS = "arn:aws:states:::emr-serverless:"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
SQS_SEND_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


@dataclass(frozen=True)
class RouteSpec:
    """How one route runs: its Task states in order (the first is the Choice target), the
    integration ARNs they call, and, for SageMaker routes, the botocore operation whose
    request the step's Arguments are and the member that receives the job name."""

    route: Route
    states: tuple[str, ...]
    integrations: tuple[str, ...]
    operation: str | None = None
    name_field: str | None = None

    @property
    def entry_state(self) -> str:
        return self.states[0]


ROUTES: dict[Route, RouteSpec] = {
    spec.route: spec
    for spec in (
        RouteSpec(
            Route.PROCESSING,
            ("Processing",),
            (SAGEMAKER + "createProcessingJob.sync",),
            "CreateProcessingJob",
            "ProcessingJobName",
        ),
        RouteSpec(
            Route.TRAINING,
            ("Training",),
            (SAGEMAKER + "createTrainingJob.sync",),
            "CreateTrainingJob",
            "TrainingJobName",
        ),
        RouteSpec(
            Route.TUNING,
            ("Tuning",),
            (SAGEMAKER + "createHyperParameterTuningJob.sync",),
            "CreateHyperParameterTuningJob",
            "HyperParameterTuningJobName",
        ),
        RouteSpec(
            Route.TRANSFORM,
            ("Transform",),
            (SAGEMAKER + "createTransformJob.sync",),
            "CreateTransformJob",
            "TransformJobName",
        ),
        RouteSpec(Route.MODEL, ("Model",), (SAGEMAKER + "createModel",), "CreateModel", "ModelName"),
        RouteSpec(
            Route.REGISTER_MODEL,
            ("RegisterModel",),
            (SDK_SAGEMAKER + "createModelPackage",),
            "CreateModelPackage",
            None,  # versioned packages are named by their group; see requests.build_request
        ),
        RouteSpec(
            Route.AUTOML,
            (
                "AutoMLCreate",
                "AutoMLPollWait",
                "AutoMLDescribe",
                "AutoMLStatus",
                "AutoMLSucceeded",
                "AutoMLFailed",
            ),
            (SDK_SAGEMAKER + "createAutoMLJob", SDK_SAGEMAKER + "describeAutoMLJob"),
            "CreateAutoMLJob",
            "AutoMLJobName",
        ),
        RouteSpec(Route.LAMBDA, ("Lambda",), (LAMBDA_INVOKE,)),
        RouteSpec(Route.CALLBACK, ("Callback",), (SQS_SEND_WAIT,)),
        RouteSpec(Route.EMR, ("EmrAddStep",), (EMR + "addStep.sync",)),
        RouteSpec(
            Route.EMR_NEW_CLUSTER,
            ("EmrCreateCluster", "EmrAddStepOnNewCluster", "EmrTerminateCluster", "EmrTerminateAfterFailure"),
            (EMR + "createCluster.sync", EMR + "addStep.sync", EMR + "terminateCluster"),
        ),
        RouteSpec(
            Route.EMR_SERVERLESS,
            (
                "EmrServerlessApplication",
                "EmrServerlessCreateApplication",
                "EmrServerlessStartJobRun",
                "EmrServerlessCreated",
                "EmrServerlessStopApplication",
                "EmrServerlessDeleteApplication",
                "EmrServerlessDone",
            ),
            (
                EMR_SERVERLESS + "createApplication.sync",
                EMR_SERVERLESS + "startJobRun.sync",
                EMR_SERVERLESS + "stopApplication.sync",
                EMR_SERVERLESS + "deleteApplication",
            ),
        ),
        RouteSpec(
            Route.ENDPOINT_CONFIG,
            ("EndpointConfig",),
            (SAGEMAKER + "createEndpointConfig",),
            "CreateEndpointConfig",
            None,  # the step's own EndpointConfigName is kept (the job name when it has none)
        ),
        RouteSpec(
            Route.ENDPOINT,
            (
                "EndpointLookup",
                "EndpointCreateOrUpdate",
                "EndpointCreate",
                "EndpointUpdate",
                "EndpointPollWait",
                "EndpointDescribe",
                "EndpointStatus",
                "EndpointSucceeded",
                "EndpointFailed",
                "EndpointTimedOut",
            ),
            (
                SDK_SAGEMAKER + "listEndpoints",
                SAGEMAKER + "createEndpoint",
                SAGEMAKER + "updateEndpoint",
                SDK_SAGEMAKER + "describeEndpoint",
            ),
            "CreateEndpoint",
            None,  # endpoints keep the name the step gives them: clients invoke them by it
        ),
        RouteSpec(
            Route.INFERENCE_COMPONENT,
            (
                "InferenceComponentLookup",
                "InferenceComponentCreateOrUpdate",
                "InferenceComponentCreate",
                "InferenceComponentUpdate",
                "InferenceComponentPollWait",
                "InferenceComponentDescribe",
                "InferenceComponentStatus",
                "InferenceComponentSucceeded",
                "InferenceComponentFailed",
                "InferenceComponentTimedOut",
            ),
            (
                SDK_SAGEMAKER + "listInferenceComponents",
                SDK_SAGEMAKER + "createInferenceComponent",
                SDK_SAGEMAKER + "updateInferenceComponent",
                SDK_SAGEMAKER + "describeInferenceComponent",
            ),
            "CreateInferenceComponent",
            None,  # components keep the name the step gives them: clients invoke them by it
        ),
        RouteSpec(
            Route.JOB,
            ("JobCreate", "JobPollWait", "JobDescribe", "JobStatus", "JobSucceeded", "JobFailed"),
            (SDK_SAGEMAKER + "createJob", SDK_SAGEMAKER + "describeJob"),
            "CreateJob",
            "JobName",
        ),
        RouteSpec(Route.ENGINE, (), ()),
    )
}

STEP_TYPE_ROUTES: dict[str, Route] = {
    "Processing": Route.PROCESSING,
    # the Model Monitor / Clarify container; the engine applies the baseline semantics around
    # it (pipelines.checks, via runtime/check_steps.py: the baseline staged in, the outcome read back)
    "QualityCheck": Route.PROCESSING,
    "ClarifyCheck": Route.PROCESSING,
    "Training": Route.TRAINING,
    "Tuning": Route.TUNING,
    "Transform": Route.TRANSFORM,
    "Model": Route.MODEL,
    "RegisterModel": Route.REGISTER_MODEL,
    "AutoML": Route.AUTOML,
    "Lambda": Route.LAMBDA,
    "Callback": Route.CALLBACK,
    "EMRServerless": Route.EMR_SERVERLESS,
    "EndpointConfig": Route.ENDPOINT_CONFIG,
    "Endpoint": Route.ENDPOINT,
    "InferenceComponent": Route.INFERENCE_COMPONENT,
    "Job": Route.JOB,  # the v3 SDK's JobStep: CreateJob model-customization workloads
    "Condition": Route.ENGINE,
    "Fail": Route.ENGINE,
    # the engine expands a ForEach into iteration steps, each on its body step's own route
    "ForEach": Route.ENGINE,
    # engine-side calls, as the pipeline's role (runtime/cloud.py ENGINE_CALLED_TYPES)
    "Cleanup": Route.ENGINE,
    "Lineage": Route.ENGINE,
}
"""Every step type the cloud runs except EMR, whose route depends on its Arguments."""

CLOUD_STEP_TYPES: frozenset[str] = frozenset({*STEP_TYPE_ROUTES, "EMR"})

ENGINE_CALLS: dict[str, tuple[str, ...]] = {
    "Lineage": (
        "sagemaker:CreateAction",
        "sagemaker:CreateArtifact",
        "sagemaker:CreateContext",
        "sagemaker:AddAssociation",
    ),
    "Cleanup": (
        "s3:ListObjectsV2",
        "s3:DeleteObject",
        "sagemaker:DeleteEndpoint",
        "sagemaker:DeleteEndpointConfig",
        "emr-serverless:ListApplications",  # an application a stopped attempt created, by name
        "emr-serverless:StopApplication",
        "emr-serverless:DeleteApplication",
    ),
}
"""The API calls the engine makes itself, as the pipeline's role, for steps on the Engine route
(``pipelines plan`` lists them where a StepRunner route lists its integrations)."""

REQUIRED_MEMBERS: dict[Route, tuple[str, ...]] = {
    Route.INFERENCE_COMPONENT: ("InferenceComponentName", "EndpointName"),
    Route.JOB: ("RoleArn", "JobCategory", "JobConfigSchemaVersion", "JobConfigDocument"),
}
"""Request members a route cannot run without (botocore's required members, JobName aside: the
StepRunner names each attempt's job)."""

MAX_LAMBDA_TIMEOUT_SECONDS = 600
DEFAULT_LAMBDA_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class StepRoute:
    """The route one step takes through the StepRunner."""

    step_name: str
    step_type: str
    route: Route

    @property
    def spec(self) -> RouteSpec:
        return ROUTES[self.route]

    @property
    def states(self) -> tuple[str, ...]:
        return self.spec.states

    @property
    def integrations(self) -> tuple[str, ...]:
        return self.spec.integrations

    @property
    def runs_in_step_runner(self) -> bool:
        """False for Condition and Fail: the engine decides them without a StepRunner execution."""
        return self.route is not Route.ENGINE


def route_for(step: StepBase) -> StepRoute:
    """The step's route; raises :class:`UnsupportedInCloud` naming the step when it has none."""
    route, reason = _route_or_reason(step)
    if route is None:
        raise UnsupportedInCloud([UnsupportedStep(step.name, step.type, reason)])
    return StepRoute(step.name, step.type, route)


def _route_or_reason(step: StepBase) -> tuple[Route | None, str]:
    if step.type == "EMR":
        return _emr_route(step.arguments)
    if step.type == "EMRServerless":
        return _emr_serverless_route(step.arguments)
    route = STEP_TYPE_ROUTES.get(step.type)
    if route is None:
        return None, "this step type has no StepRunner route"
    if ROUTES[route].operation is not None and not isinstance(step.arguments, dict):
        return None, f"Arguments must be a JSON object (the {ROUTES[route].operation} request)"
    if route is Route.LAMBDA:
        return _lambda_timeout_problem(step)
    if route is Route.ENDPOINT:
        missing = [
            name for name in ("EndpointName", "EndpointConfigName") if step.arguments.get(name) is None
        ]
        if missing:
            return None, f"Arguments must name the {' and '.join(missing)} (the CreateEndpoint request)"
    if route in REQUIRED_MEMBERS:
        missing = [name for name in REQUIRED_MEMBERS[route] if step.arguments.get(name) is None]
        if missing:
            operation = ROUTES[route].operation
            return None, f"Arguments must hold {' and '.join(missing)} (the {operation} request)"
    return route, ""


def _emr_route(arguments: Any) -> tuple[Route | None, str]:
    if not isinstance(arguments, dict) or not isinstance(arguments.get("StepConfig"), dict):
        return None, "Arguments must be an object with a StepConfig object"
    has_cluster_id = "ClusterId" in arguments
    has_cluster_config = "ClusterConfig" in arguments
    if has_cluster_id == has_cluster_config:
        return None, "Arguments must hold exactly one of ClusterId or ClusterConfig"
    if has_cluster_config and "ExecutionRoleArn" in arguments:
        return None, "ExecutionRoleArn is allowed only together with ClusterId"
    return (Route.EMR if has_cluster_id else Route.EMR_NEW_CLUSTER), ""


def _emr_serverless_route(arguments: Any) -> tuple[Route | None, str]:
    """The v3 SDK's EMRServerlessStep: a StartJobRun body (``JobConfig``) on an existing
    application (``ApplicationId``) or on one the step creates (``ApplicationConfig``)."""
    if not isinstance(arguments, dict) or not isinstance(arguments.get("JobConfig"), dict):
        return None, "Arguments must be an object with a JobConfig object (the StartJobRun request)"
    has_id = arguments.get("ApplicationId") is not None
    has_config = arguments.get("ApplicationConfig") is not None
    if has_id == has_config:
        return None, "Arguments must hold exactly one of ApplicationId or ApplicationConfig"
    if has_config and not isinstance(arguments["ApplicationConfig"], dict):
        return None, "ApplicationConfig must be an object (the CreateApplication request)"
    job_config = arguments["JobConfig"]
    if not isinstance(job_config.get("jobDriver"), dict):
        return None, "JobConfig must hold a jobDriver object"
    if arguments.get("ExecutionRoleArn") is None and job_config.get("executionRoleArn") is None:
        return None, "Arguments must name the job's ExecutionRoleArn"
    return Route.EMR_SERVERLESS, ""


def _lambda_timeout_problem(step: StepBase) -> tuple[Route | None, str]:
    timeout = getattr(step, "timeout_seconds", None)
    if timeout is not None and not 1 <= timeout <= MAX_LAMBDA_TIMEOUT_SECONDS:
        return None, f"TimeoutSeconds {timeout} is outside 1..{MAX_LAMBDA_TIMEOUT_SECONDS}"
    return Route.LAMBDA, ""
