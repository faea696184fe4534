"""What one SageMaker call asks IAM: actions, resource ARNs and condition keys.

Action names are the Service Authorization Reference's (``sagemaker:<Operation>``, including
``sagemaker:UpdatePipelineVersion``). Resources are ``pipeline`` ARNs
(``arn:<partition>:sagemaker:<region>:<account>:pipeline/<name>``) and ``pipeline-execution``
ARNs (the same plus ``/execution/<id>``); List/Search-style calls and callbacks are on ``*``.
Context values are lists of strings (IAM's wire form); numeric keys are compared as numbers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pipelines.api.ops import EXECUTION_OPERATIONS
from pipelines.engine.ids import sagemaker_arn

PASSED_TO_SERVICE = "sagemaker.amazonaws.com"
PIPELINE_VERSION_KEY = "sagemaker:PipelineVersionId"

# Operations whose resource is the pipeline; those on one of its executions; the rest are on "*".
PIPELINE_ACTIONS = frozenset(
    {
        "CreatePipeline",
        "UpdatePipeline",
        "UpdatePipelineVersion",
        "DeletePipeline",
        "DescribePipeline",
        "ListPipelineVersions",
        "ListPipelineExecutions",
        "StartPipelineExecution",
        "ListTags",
        "AddTags",
        "DeleteTags",
    }
)
# (the rest of the execution operations are on the pipeline, or on "*" for step callbacks)
EXECUTION_ACTIONS = frozenset(EXECUTION_OPERATIONS) - {
    "StartPipelineExecution",
    "ListPipelineExecutions",
    "SendPipelineExecutionStepSuccess",
    "SendPipelineExecutionStepFailure",
}
# Operations on one job, model, registry entry, endpoint or experiment entity: the SAR resource
# type of the ARN IAM evaluates, and the request member(s) naming it (a name or an ARN; the first
# present wins: CreateModelPackage names a package, or the group a new version goes into).
RESOURCE_MEMBERS: dict[str, tuple[str, tuple[str, ...]]] = {
    **{f"{verb}ProcessingJob": ("processing-job", ("ProcessingJobName",)) for verb in ("Describe", "Stop")},
    **{f"{verb}TrainingJob": ("training-job", ("TrainingJobName",)) for verb in ("Describe", "Stop")},
    **{f"{verb}TransformJob": ("transform-job", ("TransformJobName",)) for verb in ("Describe", "Stop")},
    **{
        operation: ("hyper-parameter-tuning-job", ("HyperParameterTuningJobName",))
        for operation in (
            "DescribeHyperParameterTuningJob",
            "StopHyperParameterTuningJob",
            "ListTrainingJobsForHyperParameterTuningJob",
        )
    },
    **{f"{verb}Model": ("model", ("ModelName",)) for verb in ("Create", "Describe", "Delete")},
    **{
        f"{verb}ModelPackageGroup": ("model-package-group", ("ModelPackageGroupName",))
        for verb in ("Create", "Describe", "Delete")
    },
    "CreateModelPackage": ("model-package", ("ModelPackageName", "ModelPackageGroupName")),
    "DescribeModelPackage": ("model-package", ("ModelPackageName",)),
    "DeleteModelPackage": ("model-package", ("ModelPackageName",)),
    "UpdateModelPackage": ("model-package", ("ModelPackageArn",)),
    **{
        f"{verb}EndpointConfig": ("endpoint-config", ("EndpointConfigName",))
        for verb in ("Create", "Describe", "Delete")
    },
    **{
        f"{verb}Endpoint": ("endpoint", ("EndpointName",))
        for verb in ("Create", "Describe", "Update", "Delete")
    },
    "InvokeEndpoint": ("endpoint", ("EndpointName",)),  # sagemaker-runtime, signed as sagemaker
    **{
        f"{verb}InferenceComponent": ("inference-component", ("InferenceComponentName",))
        for verb in ("Create", "Describe", "Update", "Delete")
    },
    **{
        operation: ("automl-job", ("AutoMLJobName",))
        for operation in (
            "DescribeAutoMLJob",
            "DescribeAutoMLJobV2",
            "StopAutoMLJob",
            "ListCandidatesForAutoMLJob",
        )
    },
    "DescribeExperiment": ("experiment", ("ExperimentName",)),
    "DescribeTrial": ("experiment-trial", ("TrialName",)),
    "DescribeTrialComponent": ("experiment-trial-component", ("TrialComponentName",)),
}
# Creates whose Tags are request tags (aws:RequestTag/..., aws:TagKeys).
TAGGING_CREATES = frozenset(
    {"CreateModel", "CreateModelPackageGroup", "CreateModelPackage", "CreateEndpointConfig", "CreateEndpoint"}
)

# The operations whose SAR entry carries sagemaker:PipelineVersionId.
VERSIONED_ACTIONS = frozenset({"StartPipelineExecution", "UpdatePipelineVersion"})


@dataclass(frozen=True)
class AccessRequest:
    """One IAM question: may the principal perform ``action`` on ``resource`` in ``context``?"""

    action: str
    resource: str
    context: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())

    @classmethod
    def of(
        cls, action: str, resource: str, context: Mapping[str, Iterable[str]] | None = None
    ) -> AccessRequest:
        items = sorted((key, tuple(str(v) for v in values)) for key, values in (context or {}).items())
        return cls(action, resource, tuple(items))

    def context_dict(self) -> dict[str, list[str]]:
        return {key: list(values) for key, values in self.context}


def sagemaker_action(operation: str) -> str:
    return f"sagemaker:{operation}"


def resource_arn(operation: str, params: Mapping[str, object], region: str, account: str) -> str:
    """The ARN IAM evaluates for an operation of :data:`RESOURCE_MEMBERS` (``*`` for the rest).
    A name becomes SageMaker's ARN for it, lower-cased as SageMaker writes these ARNs
    (``.../training-job/pipelines-abc-train-pbhgn7bcvd-0``); an ARN is taken as sent."""
    entry = RESOURCE_MEMBERS.get(operation)
    if entry is None:
        return "*"
    kind, members = entry
    named = next((str(params[m]) for m in members if params.get(m)), "")
    if not named:
        return "*"
    if named.startswith("arn:"):
        return named
    return sagemaker_arn(region, account, kind, named)


def resource_tag_context(tags: Iterable[Mapping[str, str]]) -> dict[str, list[str]]:
    """``aws:ResourceTag/<k>`` and ``sagemaker:ResourceTag/<k>`` for an existing resource's tags."""
    context: dict[str, list[str]] = {}
    for tag in tags:
        for prefix in ("aws", "sagemaker"):
            context[f"{prefix}:ResourceTag/{tag['Key']}"] = [tag.get("Value", "")]
    return context


def request_tag_context(tags: Iterable[Mapping[str, str]]) -> dict[str, list[str]]:
    """``aws:RequestTag/<k>`` and ``aws:TagKeys`` for tags a request sets."""
    tags = list(tags)
    context: dict[str, list[str]] = {f"aws:RequestTag/{t['Key']}": [t.get("Value", "")] for t in tags}
    context["aws:TagKeys"] = [t["Key"] for t in tags]
    return context


def pass_role_request(role_arn: str) -> AccessRequest:
    """``iam:PassRole`` on the pipeline role, passed to SageMaker (the key IAM sets for it)."""
    return AccessRequest.of("iam:PassRole", role_arn, {"iam:PassedToService": [PASSED_TO_SERVICE]})
