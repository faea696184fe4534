"""AutoML steps (a CreateAutoMLJob request, or its V2 form) run locally for tabular data.

The search runs as a local job (``_automl_worker.py``, sandboxed like every job, under the
interpreter ``[images]`` maps the scikit-learn image to): scikit-learn candidates for
Regression, BinaryClassification or MulticlassClassification (inferred from the target when the
request names none), scored on the validation part with the objective metric, within the
request's CompletionCriteria (``MaxCandidates``, ``MaxRuntimePerTrainingJobInSeconds``,
``MaxAutoMLJobRuntimeInSeconds``, which also stops the job). Each completed candidate's model
data (``model.tar.gz`` with ``code/inference.py``) goes under
``<S3OutputPath>/<job name>/candidates/<candidate>/``.

The step's properties are the DescribeAutoMLJob response (with the V2 members when the request
was V2): ``BestCandidate`` with its ``InferenceContainers`` (the scikit-learn image, the model
data, and the environment ``get_best_auto_ml_model`` reads: ``MODEL_NAME``,
``SAGEMAKER_PROGRAM``, ``SAGEMAKER_SUBMIT_DIRECTORY``, ``SAGEMAKER_INFERENCE_OUTPUT``, ...),
``CandidateProperties`` with the validation metrics and report locations, and
``BestCandidateProperties`` (``ModelInsightsJsonReportPath``, ``ExplainabilityJsonReportPath``),
so a Model step creates the best candidate and an Endpoint step serves it.

Refused, with the reason, before the execution starts: text, image and time-series problem
types (V2 ``TextClassificationJobConfig``, ``ImageClassificationJobConfig``,
``TimeSeriesForecastingJobConfig``, ``TextGenerationJobConfig``), and ``Mode: HYPERPARAMETER_TUNING``
requests that generate candidate definitions only.
"""

from __future__ import annotations

import dataclasses
import json
import tarfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from pipelines.config import Config
from pipelines.definition.models import Step
from pipelines.engine.ids import sagemaker_arn
from pipelines.runners.base import RunContext, StepRequest, StepResult
from pipelines.runners.jobs import describe
from pipelines.runners.jobs.channels import fetch_input, join_uri, upload_file, write_json
from pipelines.runners.jobs.container import (
    JobLabel,
    JobWorkspace,
    as_list,
    as_mapping,
    job_environment,
    run_job_process,
)
from pipelines.runners.jobs.errors import JobStopped
from pipelines.runners.jobs.images import resolve_interpreter
from pipelines.runners.jobs.records import STOP_POLL_SECONDS, JobRecords

WORKER = Path(__file__).parent / "jobs" / "_automl_worker.py"
SKLEARN_IMAGE = "683313688378.dkr.ecr.{region}.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
DEFAULT_MAX_CANDIDATES = 8  # the worker's candidate list
DEFAULT_VALIDATION_FRACTION = 0.2
CANDIDATES = "Candidates"  # every candidate, kept in the job record for ListCandidatesForAutoMLJob
_REFUSED_V2 = {
    "TextClassificationJobConfig": "text classification",
    "ImageClassificationJobConfig": "image classification",
    "TimeSeriesForecastingJobConfig": "time-series forecasting",
    "TextGenerationJobConfig": "text generation (LLM fine-tuning)",
}
_TABULAR_CONTENT = ("text/csv", "x-application/vnd.amazon+parquet")


def refusal(arguments: Any) -> str | None:
    """Why this AutoML request cannot run locally (None if it can)."""
    if not isinstance(arguments, Mapping):
        return None
    problem = arguments.get("AutoMLProblemTypeConfig")
    if isinstance(problem, Mapping):
        for key, what in _REFUSED_V2.items():
            if key in problem:
                return f"{what} AutoML jobs ({key}) are not supported locally; only tabular data is"
    channels = arguments.get("InputDataConfig") or arguments.get("AutoMLJobInputDataConfig") or []
    for channel in channels if isinstance(channels, list) else []:
        content = str((channel or {}).get("ContentType") or "text/csv").split(";")[0].strip()
        if content not in _TABULAR_CONTENT:
            return f"AutoML input of content type {content!r} is not supported locally (tabular CSV or Parquet only)"
    return None


class AutoMLRunner:
    step_type: ClassVar[str] = "AutoML"

    def check(self, step: Step, config: Config) -> str | None:
        reason = refusal(step.arguments)
        return f"step {step.name}: {reason}" if reason else None

    def run(self, request: StepRequest, ctx: RunContext) -> StepResult:
        config = ctx.config
        arguments = dict(as_mapping(request.arguments, what=f"step {request.step_name}: Arguments"))
        arn = sagemaker_arn(config.region, config.account_id, "automl-job", request.job_name)
        label = JobLabel.of(request, "AutoML", {"AutoMLJob": {"Arn": arn}})
        reason = refusal(arguments)
        if reason:
            raise label.request_error(reason)
        v2 = "AutoMLProblemTypeConfig" in arguments
        plan = _plan(arguments, v2, label)
        started = datetime.now(UTC)
        records = JobRecords.from_config(config)
        first = _in_progress(arguments, request.job_name, arn, started)
        records.put(
            "AutoMLJob",
            first,
            name=request.job_name,
            status="InProgress",
            execution_arn=request.execution_arn,
            step_name=request.step_name,
        )
        try:
            with _stoppable(records, request.job_name, ctx) as job_ctx:
                properties, candidates = self._search(
                    request, job_ctx, arguments, v2, plan, arn, label, started
                )
        except BaseException as exc:
            stopped = isinstance(exc, JobStopped)
            records.put(
                "AutoMLJob",
                {
                    **first,
                    "AutoMLJobStatus": "Stopped" if stopped else "Failed",
                    "AutoMLJobSecondaryStatus": "Stopped" if stopped else "Failed",
                    "FailureReason": str(exc),
                    "EndTime": datetime.now(UTC),
                    "LastModifiedTime": datetime.now(UTC),
                },
                name=request.job_name,
                status="Stopped" if stopped else "Failed",
            )
            raise
        records.put(
            "AutoMLJob", {**properties, CANDIDATES: candidates}, name=request.job_name, status="Completed"
        )
        return StepResult(properties=properties, metadata=dict(label.metadata))

    def _search(
        self,
        request: StepRequest,
        ctx: RunContext,
        arguments: Mapping[str, Any],
        v2: bool,
        plan: dict[str, Any],
        arn: str,
        label: JobLabel,
        started: datetime,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        config = ctx.config
        image = SKLEARN_IMAGE.format(region=config.region)
        interpreter = resolve_interpreter(config, image)
        ctx.log(f"interpreter: {interpreter.describe(image)}")
        workspace = JobWorkspace.create(config, request.job_name)
        try:
            spec = {**plan["spec"], "job_name": request.job_name}
            for channel in ("training", "validation"):
                spec[channel] = []
                for uri, data_type in plan["channels"].get(channel, []):
                    fetched = fetch_input(
                        ctx.objects,
                        uri,
                        data_type,
                        workspace.ml / "input" / "data" / channel,
                        what=label.reason(f"{channel} data"),
                    )
                    spec[channel] += [f"/opt/ml/input/data/{channel}/{f.relative}" for f in fetched]
            if not spec["training"]:
                raise label.request_error("the training channel has no data")
            write_json(workspace.ml / "automl" / "spec.json", spec)
            env = interpreter.path_env(job_environment(config, None, ctx.environment))
            run_job_process(
                workspace,
                label,
                [*interpreter.argv, str(WORKER)],
                env,
                ctx,
                cwd="/opt/ml/automl",
                max_runtime=plan["max_job_seconds"],
                image_uri=image,
            )
            found = json.loads((workspace.ml / "output" / "candidates.json").read_text())
            output = join_uri(str(plan["output_path"]), request.job_name)
            candidates = [
                _candidate(entry, found, output, workspace, image, ctx, config, request.job_name)
                for entry in found["candidates"]
            ]
        finally:
            workspace.discard()
        properties = _description(arguments, v2, request, arn, found, candidates, started, output)
        best = properties["BestCandidate"]
        ctx.log(
            f"best candidate {best['CandidateName']}: {found['metric']} = "
            f"{best['FinalAutoMLJobObjectiveMetric']['Value']:.6g} of {len(candidates)} candidate(s)"
        )
        return properties, candidates


def _in_progress(arguments: Mapping[str, Any], name: str, arn: str, started: datetime) -> dict[str, Any]:
    """The job's DescribeAutoMLJob response while it runs."""
    members = (
        "InputDataConfig",
        "OutputDataConfig",
        "RoleArn",
        "AutoMLJobObjective",
        "ProblemType",
        "AutoMLJobConfig",
    )
    described = {k: arguments[k] for k in members if k in arguments}
    described.update(
        AutoMLJobName=name,
        AutoMLJobArn=arn,
        AutoMLJobStatus="InProgress",
        AutoMLJobSecondaryStatus="TrainingModels",
        CreationTime=started,
        LastModifiedTime=started,
    )
    for member in ("AutoMLJobInputDataConfig", "AutoMLProblemTypeConfig"):
        if member in arguments:
            described[member] = arguments[member]
    return described


@contextmanager
def _stoppable(records: JobRecords, name: str, ctx: RunContext) -> Iterator[RunContext]:
    """``ctx`` with a cancel event that a StopAutoMLJob call (a stop mark on the record) also sets."""
    cancel = threading.Event()
    done = threading.Event()

    def watch() -> None:
        while not done.wait(STOP_POLL_SECONDS):
            if ctx.cancel.is_set() or records.stop_requested("AutoMLJob", name):
                cancel.set()
                return

    watcher = threading.Thread(target=watch, name=f"automl-stop-{name}", daemon=True)
    watcher.start()
    try:
        yield dataclasses.replace(ctx, cancel=cancel)
    finally:
        done.set()
        watcher.join()


def _plan(arguments: Mapping[str, Any], v2: bool, label: JobLabel) -> dict[str, Any]:
    """The worker's spec, the channels and the limits, from either request form."""
    if v2:
        problem = as_mapping(arguments.get("AutoMLProblemTypeConfig"), what="AutoMLProblemTypeConfig")
        tabular = as_mapping(problem.get("TabularJobConfig"), what="TabularJobConfig")
        if not tabular:
            raise label.request_error("AutoMLProblemTypeConfig names no TabularJobConfig")
        channels = as_list(arguments.get("AutoMLJobInputDataConfig"), what="AutoMLJobInputDataConfig")
        target = tabular.get("TargetAttributeName")
        problem_type = tabular.get("ProblemType")
        criteria = as_mapping(tabular.get("CompletionCriteria"), what="CompletionCriteria")
        mode = tabular.get("Mode")
        split = as_mapping(arguments.get("DataSplitConfig"), what="DataSplitConfig")
        only_definitions = tabular.get("GenerateCandidateDefinitionsOnly")
    else:
        channels = as_list(arguments.get("InputDataConfig"), what="InputDataConfig")
        targets = {c.get("TargetAttributeName") for c in channels if isinstance(c, Mapping)}
        target = next(iter(targets)) if len(targets) == 1 else None
        if len(targets) > 1:
            raise label.request_error("the channels name different TargetAttributeName values")
        problem_type = arguments.get("ProblemType")
        job_config = as_mapping(arguments.get("AutoMLJobConfig"), what="AutoMLJobConfig")
        criteria = as_mapping(job_config.get("CompletionCriteria"), what="CompletionCriteria")
        mode = job_config.get("Mode")
        split = as_mapping(job_config.get("DataSplitConfig"), what="DataSplitConfig")
        only_definitions = arguments.get("GenerateCandidateDefinitionsOnly")
    if only_definitions:
        raise label.request_error(
            "GenerateCandidateDefinitionsOnly is not supported locally: candidates are trained"
        )
    if not target:
        raise label.request_error("the request names no TargetAttributeName")
    objective = as_mapping(arguments.get("AutoMLJobObjective"), what="AutoMLJobObjective").get("MetricName")
    by_channel: dict[str, list[tuple[str, str]]] = {}
    formats: dict[str, str] = {}
    for channel in channels:
        kind = str(channel.get("ChannelType") or "training")
        content = str(channel.get("ContentType") or "text/csv").split(";")[0].strip()
        formats[kind] = "parquet" if content == "x-application/vnd.amazon+parquet" else "csv"
        source = as_mapping(
            as_mapping(channel.get("DataSource"), what="DataSource").get("S3DataSource"), what="S3DataSource"
        )
        if not source.get("S3Uri"):
            raise label.request_error(f"the {kind} channel has no DataSource.S3DataSource.S3Uri")
        by_channel.setdefault(kind, []).append(
            (str(source["S3Uri"]), str(source.get("S3DataType", "S3Prefix")))
        )
    output = as_mapping(arguments.get("OutputDataConfig"), what="OutputDataConfig").get("S3OutputPath")
    if not output:
        raise label.request_error("the request has no OutputDataConfig.S3OutputPath")
    max_candidates = int(criteria.get("MaxCandidates") or DEFAULT_MAX_CANDIDATES)
    return {
        "spec": {
            "target": str(target),
            "problem_type": problem_type,
            "metric": objective,
            "mode": mode,
            "validation_fraction": float(split.get("ValidationFraction") or DEFAULT_VALIDATION_FRACTION),
            "formats": formats,
            "max_candidates": max(1, max_candidates),
            "max_candidate_seconds": criteria.get("MaxRuntimePerTrainingJobInSeconds"),
            "max_job_seconds": criteria.get("MaxAutoMLJobRuntimeInSeconds"),
        },
        "channels": by_channel,
        "output_path": output,
        "max_job_seconds": float(criteria["MaxAutoMLJobRuntimeInSeconds"])
        if criteria.get("MaxAutoMLJobRuntimeInSeconds")
        else None,
    }


def _candidate(
    entry: Mapping[str, Any],
    found: Mapping[str, Any],
    output: str,
    workspace: JobWorkspace,
    image: str,
    ctx: RunContext,
    config: Config,
    job_name: str,
) -> dict[str, Any]:
    """One AutoMLCandidate; a completed one's model data and reports are uploaded."""
    name = str(entry["name"])
    start = datetime.fromtimestamp(entry["start"], UTC)
    end = datetime.fromtimestamp(entry.get("end", entry["start"]), UTC)
    training_arn = describe.job_arn(config, "TrainingJob", name)
    candidate: dict[str, Any] = {
        "CandidateName": name,
        "CandidateSteps": [
            {
                "CandidateStepType": "AWS::SageMaker::TrainingJob",
                "CandidateStepArn": training_arn,
                "CandidateStepName": name,
            }
        ],
        "CandidateStatus": entry["status"],
        "ObjectiveStatus": "Succeeded" if entry["status"] == "Completed" else "Failed",
        "CreationTime": start,
        "EndTime": end,
        "LastModifiedTime": end,
    }
    if entry["status"] != "Completed":
        candidate["FailureReason"] = str(entry.get("reason", "the candidate failed"))
        return candidate
    folder = workspace.ml / "model" / name
    prefix = join_uri(output, "candidates", name)
    model_tar = workspace.root / f"{name}.tar.gz"
    with tarfile.open(model_tar, "w:gz") as tar:
        tar.add(folder / "model.pkl", arcname="model.pkl")
        tar.add(folder / "code", arcname="code")
    model_url = join_uri(prefix, "model.tar.gz")
    upload_file(ctx.objects, model_tar, model_url)
    insights = join_uri(prefix, "reports", "model_insights.json")
    explainability = join_uri(prefix, "reports", "explainability.json")
    upload_file(ctx.objects, folder / "reports" / "model_insights.json", insights)
    upload_file(ctx.objects, folder / "reports" / "explainability.json", explainability)
    classification = found["problem_type"] != "Regression"
    metric = str(found["metric"])
    candidate.update(
        FinalAutoMLJobObjectiveMetric={
            "Type": found["objective_type"],
            "MetricName": metric,
            "Value": float(entry["objective"]),
            "StandardMetricName": metric,
        },
        InferenceContainers=[
            {
                "Image": image,
                "ModelDataUrl": model_url,
                "Environment": {
                    "MODEL_NAME": name,
                    "SAGEMAKER_PROGRAM": "inference.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                    "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv",
                    "SAGEMAKER_INFERENCE_SUPPORTED": (
                        "predicted_label,probability,probabilities,labels"
                        if classification
                        else "predicted_label"
                    ),
                    "SAGEMAKER_INFERENCE_OUTPUT": "predicted_label",
                },
            }
        ],
        CandidateProperties={
            "CandidateArtifactLocations": {"Explainability": explainability, "ModelInsights": insights},
            "CandidateMetrics": [
                {"MetricName": k, "Value": float(v), "Set": "Validation", "StandardMetricName": k}
                for k, v in entry["metrics"].items()
            ],
        },
    )
    ctx.log(f"candidate {name} -> {model_url}")
    return candidate


def _description(
    arguments: Mapping[str, Any],
    v2: bool,
    request: StepRequest,
    arn: str,
    found: Mapping[str, Any],
    candidates: list[dict[str, Any]],
    started: datetime,
    output: str,
) -> dict[str, Any]:
    """The DescribeAutoMLJob (V2) response the step's properties are."""
    best = next(c for c in candidates if c["CandidateName"] == found["best"])
    ended = datetime.now(UTC)
    failed = [c for c in candidates if c["CandidateStatus"] != "Completed"]
    resolved = {
        "AutoMLJobObjective": {"MetricName": found["metric"]},
        "ProblemType": found["problem_type"],
    }
    description: dict[str, Any] = {
        "AutoMLJobName": request.job_name,
        "AutoMLJobArn": arn,
        "RoleArn": arguments.get("RoleArn"),
        "AutoMLJobObjective": arguments.get("AutoMLJobObjective") or {"MetricName": found["metric"]},
        "OutputDataConfig": arguments.get("OutputDataConfig"),
        "CreationTime": started,
        "EndTime": ended,
        "LastModifiedTime": ended,
        "AutoMLJobStatus": "Completed",
        "AutoMLJobSecondaryStatus": "Completed",
        "BestCandidate": best,
        "AutoMLJobArtifacts": {"CandidateDefinitionNotebookLocation": join_uri(output, "candidates")},
        "BestCandidateProperties": best["CandidateProperties"]["CandidateArtifactLocations"]
        and {
            "ModelInsightsJsonReportPath": best["CandidateProperties"]["CandidateArtifactLocations"][
                "ModelInsights"
            ],
            "ExplainabilityJsonReportPath": best["CandidateProperties"]["CandidateArtifactLocations"][
                "Explainability"
            ],
        },
    }
    if failed:
        description["PartialFailureReasons"] = [
            {"PartialFailureMessage": f"{c['CandidateName']}: {c.get('FailureReason', '')}"} for c in failed
        ]
    if v2:
        tabular = dict(arguments["AutoMLProblemTypeConfig"]["TabularJobConfig"])
        description.update(
            AutoMLJobInputDataConfig=arguments.get("AutoMLJobInputDataConfig"),
            AutoMLProblemTypeConfig=arguments.get("AutoMLProblemTypeConfig"),
            AutoMLProblemTypeConfigName="Tabular",
            ResolvedAttributes={
                "AutoMLJobObjective": resolved["AutoMLJobObjective"],
                "AutoMLProblemTypeResolvedAttributes": {
                    "TabularResolvedAttributes": {"ProblemType": found["problem_type"]}
                },
                "CompletionCriteria": tabular.get("CompletionCriteria") or {},
            },
        )
        if arguments.get("DataSplitConfig"):
            description["DataSplitConfig"] = arguments["DataSplitConfig"]
    else:
        config = dict(arguments.get("AutoMLJobConfig") or {})
        description.update(
            InputDataConfig=arguments.get("InputDataConfig"),
            ProblemType=arguments.get("ProblemType") or found["problem_type"],
            AutoMLJobConfig=config,
            GenerateCandidateDefinitionsOnly=False,
            ResolvedAttributes={**resolved, "CompletionCriteria": config.get("CompletionCriteria") or {}},
        )
    return {k: v for k, v in description.items() if v is not None}


RUNNERS = [AutoMLRunner()]
