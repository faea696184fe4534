"""Execution operations: start, describe, list, steps, stop, retry, update, parameters,
definition snapshots and callback completions.

Each state change is an engine call; its outcome (steps to run, stop, notify) goes to the
execution driver, which carries it out in the background -- so a start returns at once with
the ARN while the execution progresses, as on the service.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pipelines.api.ops import versions
from pipelines.api.ops.access import authorize
from pipelines.api.ops.context import (
    Operations,
    caller_user_context,
    list_query,
    page_of,
    parallelism,
    user_context,
)
from pipelines.api.wire import CallContext
from pipelines.engine import CallbackTokenNotFound, ExecutionNotFound, StartRequest
from pipelines.engine.idempotency import CALLBACK_FAILURE, CALLBACK_SUCCESS, replayed_execution
from pipelines.errors import ValidationError
from pipelines.expressions import value_text
from pipelines.store import ExecutionRecord, ListQuery, PipelineRecord, SelectiveExecutionConfig, StepRecord

# botocore's documentation of StartPipelineExecution.RoleArn: it is for pipelines AWS manages.
ROLE_ARN_REFUSED = (
    "You can't specify RoleArn when you start an execution of a pipeline that you create, "
    "because its executions use the pipeline's role."
)


def parameter_value(value: Any) -> str:
    """A coerced parameter as the string the service lists (booleans as ``true``/``false``)."""
    return value_text(value)


def execution_summary(record: ExecutionRecord) -> dict[str, Any]:
    return {
        "PipelineExecutionArn": record.execution_arn,
        "StartTime": record.created_at,
        "PipelineExecutionStatus": record.status,
        "PipelineExecutionDescription": record.description,
        "PipelineExecutionDisplayName": record.display_name or record.execution_id,
        "PipelineExecutionFailureReason": record.failure_reason,
    }


def execution_description(record: ExecutionRecord) -> dict[str, Any]:
    """DescribePipelineExecution's answer (also Search's PipelineExecution entity)."""
    selective = None
    if record.selective is not None:
        selective = {
            "SourcePipelineExecutionArn": record.selective.source_execution_arn,
            "SelectedSteps": [{"StepName": name} for name in record.selective.selected_steps],
        }
    experiment = None
    if record.experiment is not None:
        experiment = {
            "ExperimentName": record.experiment.experiment_name,
            "TrialName": record.experiment.trial_name,
        }
    return {
        "PipelineArn": record.pipeline_arn,
        "PipelineExecutionArn": record.execution_arn,
        "PipelineExecutionDisplayName": record.display_name or record.execution_id,
        "PipelineExecutionStatus": record.status,
        "PipelineExecutionDescription": record.description,
        "PipelineExperimentConfig": experiment,
        "FailureReason": record.failure_reason,
        "CreationTime": record.created_at,
        "LastModifiedTime": record.modified_at,
        "CreatedBy": user_context(record.created_by),
        "LastModifiedBy": user_context(record.modified_by),
        "ParallelismConfiguration": parallelism(record.parallelism),
        "SelectiveExecutionConfig": selective,
        "PipelineVersionId": record.pipeline_version_id,
    }


def mlflow_config(record: ExecutionRecord) -> dict[str, str] | None:
    """DescribePipelineExecution's MLflowConfig (capital L, as botocore spells it): the
    definition's tracking server and the experiment this execution logs to."""
    if record.mlflow is None:
        return None
    return {
        "MlflowResourceArn": record.mlflow.resource_arn,
        "MlflowExperimentName": record.mlflow.experiment_name,
    }


def step_entry(step: StepRecord) -> dict[str, Any]:
    """One PipelineExecutionStep: the per-type Metadata member, attempts, cache and
    selective-execution provenance, and the ForEach iteration it ran (IterationContext)."""
    entry: dict[str, Any] = {
        "StepName": step.step_name,
        "StepDisplayName": step.display_name,
        "StepDescription": step.description,
        "StartTime": step.first_started_at or step.started_at,
        "EndTime": step.ended_at,
        "StepStatus": step.status,
        "FailureReason": step.failure_reason,
        "Metadata": dict(step.metadata),
        "AttemptCount": step.attempt,
    }
    if step.cache_hit_source_arn:
        entry["CacheHitResult"] = {"SourcePipelineExecutionArn": step.cache_hit_source_arn}
    if step.selective_source_arn:
        entry["SelectiveExecutionResult"] = {"SourcePipelineExecutionArn": step.selective_source_arn}
    if step.iteration is not None:
        entry["IterationContext"] = {
            "ParentStepName": step.iteration.parent_step_name,
            "Index": step.iteration.index,
            "Item": step.iteration.item,
        }
    return entry


def _aliases(pipeline: PipelineRecord | None, execution: ExecutionRecord) -> list[str] | None:
    return None if pipeline is None else versions.aliases_of(pipeline, execution.pipeline_version_id)


class ExecutionOperations:
    def __init__(self, ops: Operations) -> None:
        self.ops = ops

    def start_pipeline_execution(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        if "RoleArn" in params:
            raise ValidationError(ROLE_ARN_REFUSED)
        pipeline = self.ops.pipeline(params["PipelineName"], ctx, "StartPipelineExecution")
        version_id = versions.requested_version(pipeline, params)
        names = [p["Name"] for p in params.get("PipelineParameters", [])]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValidationError(f"Pipeline parameters are given more than once: {', '.join(duplicates)}")
        selective = None
        if "SelectiveExecutionConfig" in params:
            config = params["SelectiveExecutionConfig"]
            source = config.get("SourcePipelineExecutionArn")
            if source:
                source_record = self.ops.execution(source, ctx, "DescribePipelineExecution")
                if source_record.pipeline_arn != pipeline.arn:
                    raise ValidationError(f"SourcePipelineExecutionArn {source} belongs to another pipeline.")
            selective = SelectiveExecutionConfig(
                source_execution_arn=source, selected_steps=[s["StepName"] for s in config["SelectedSteps"]]
            )
        request = StartRequest(
            pipeline_name=pipeline.arn,  # the ARN: names are per account, the engine's account may differ
            parameters={p["Name"]: p["Value"] for p in params.get("PipelineParameters", [])},
            parallelism=params.get("ParallelismConfiguration", {}).get("MaxParallelExecutionSteps"),
            selective=selective,
            display_name=params.get("PipelineExecutionDisplayName"),
            description=params.get("PipelineExecutionDescription"),
            client_request_token=params.get("ClientRequestToken"),
            created_by=caller_user_context(ctx),
            # an older version runs that version's definition (the engine refuses unknown ones)
            pipeline_version_id=version_id,
            mlflow_experiment_name=params.get("MlflowExperimentName"),
        )
        execution = self.ops.runtime.start(request)
        return {"PipelineExecutionArn": execution.execution_arn}

    def describe_pipeline_execution(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        record = self.ops.execution(params["PipelineExecutionArn"], ctx, "DescribePipelineExecution")
        pipeline = self.ops.store.get_pipeline(record.pipeline_arn)
        # MLflowConfig, the version's aliases and the role are Describe's alone: Search's
        # PipelineExecution entity has no such members
        return {
            **execution_description(record),
            "MLflowConfig": mlflow_config(record),
            "PipelineVersionAliases": _aliases(pipeline, record),
            "RoleArn": pipeline.role_arn if pipeline is not None else None,
        }

    def list_pipeline_executions(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        pipeline = self.ops.pipeline(params["PipelineName"], ctx, "ListPipelineExecutions")
        if "PipelineVersionAlias" not in params:
            page = self.ops.store.list_executions(pipeline.arn, list_query(params))
            items, token = page.items, page.next_token
        else:  # the executions of the version the alias names now
            version_id = versions.requested_version(pipeline, params)
            everything = self._all_executions(pipeline.arn, list_query(params))
            items, token = page_of(
                [e for e in everything if e.pipeline_version_id == version_id],
                params,
                f"ListPipelineExecutions:{pipeline.name}:{params['PipelineVersionAlias']}",
            )
        return {
            "PipelineExecutionSummaries": [
                {**execution_summary(e), "PipelineVersionAliases": _aliases(pipeline, e)} for e in items
            ],
            "NextToken": token,
        }

    def _all_executions(self, pipeline_arn: str, query: ListQuery) -> list[ExecutionRecord]:
        found: list[ExecutionRecord] = []
        token: str | None = None
        while True:
            page = self.ops.store.list_executions(pipeline_arn, replace(query, limit=1000, next_token=token))
            found.extend(page.items)
            token = page.next_token
            if token is None:
                return found

    def list_pipeline_execution_steps(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        if "PipelineExecutionArn" not in params:  # optional in the model, required by the service
            raise ValidationError(
                "1 validation error detected: Value null at 'PipelineExecutionArn' failed to satisfy "
                "constraint: Member must not be null"
            )
        record = self.ops.execution(params["PipelineExecutionArn"], ctx, "ListPipelineExecutionSteps")
        page = self.ops.store.list_steps(record.execution_id, list_query(params))
        return {"PipelineExecutionSteps": [step_entry(s) for s in page.items], "NextToken": page.next_token}

    def stop_pipeline_execution(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        record = self.ops.execution(params["PipelineExecutionArn"], ctx, "StopPipelineExecution")
        self.ops.runtime.stop(record.execution_id, client_request_token=params.get("ClientRequestToken"))
        return {"PipelineExecutionArn": record.execution_arn}

    def retry_pipeline_execution(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        record = self.ops.execution(params["PipelineExecutionArn"], ctx, "RetryPipelineExecution")
        self.ops.runtime.retry(
            record.execution_id,
            parallelism=params.get("ParallelismConfiguration", {}).get("MaxParallelExecutionSteps"),
            client_request_token=params.get("ClientRequestToken"),
        )
        return {"PipelineExecutionArn": record.execution_arn}

    def update_pipeline_execution(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        record = self.ops.execution(params["PipelineExecutionArn"], ctx, "UpdatePipelineExecution")
        changes = {
            "parallelism": params.get("ParallelismConfiguration", {}).get("MaxParallelExecutionSteps"),
            "display_name": params.get("PipelineExecutionDisplayName"),
            "description": params.get("PipelineExecutionDescription"),
        }
        self.ops.runtime.update_execution(
            record.execution_id, **{k: v for k, v in changes.items() if v is not None}
        )
        return {"PipelineExecutionArn": record.execution_arn}

    def describe_pipeline_definition_for_execution(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        record = self.ops.execution(
            params["PipelineExecutionArn"], ctx, "DescribePipelineDefinitionForExecution"
        )
        return {"PipelineDefinition": record.definition, "CreationTime": record.created_at}

    def list_pipeline_parameters_for_execution(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        record = self.ops.execution(params["PipelineExecutionArn"], ctx, "ListPipelineParametersForExecution")
        every = [{"Name": name, "Value": parameter_value(value)} for name, value in record.parameters.items()]
        items, token = page_of(every, params, f"parameters:{record.execution_id}")
        return {"PipelineParameters": items, "NextToken": token}

    # -- callbacks ----------------------------------------------------------------------------
    def _callback_execution(self, params: dict[str, Any], ctx: CallContext, action: str) -> ExecutionRecord:
        """The execution a callback is about, if the caller may complete it. A repeat of a
        callback (the same ClientRequestToken) finds its token spent by the first call, so it
        is authorized against the execution the engine recorded for that first call."""
        token = params["CallbackToken"]
        callback = self.ops.store.get_callback(token)
        execution_id = (
            callback.execution_id
            if callback is not None
            else replayed_execution(self.ops.store, action, params.get("ClientRequestToken"))
        )
        if execution_id is None:
            raise CallbackTokenNotFound(token)
        record = self.ops.store.get_execution(execution_id)
        if record is None:
            raise ExecutionNotFound(execution_id)
        authorize(self.ops.sharing, ctx.account_id, action, record.pipeline_arn)
        return record

    def send_pipeline_execution_step_success(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        record = self._callback_execution(params, ctx, CALLBACK_SUCCESS)
        outputs = {p["Name"]: p.get("Value") for p in params.get("OutputParameters", [])}
        self.ops.runtime.callback_success(
            params["CallbackToken"],
            outputs,
            background=True,
            client_request_token=params.get("ClientRequestToken"),
        )
        return {"PipelineExecutionArn": record.execution_arn}

    def send_pipeline_execution_step_failure(
        self, params: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any]:
        record = self._callback_execution(params, ctx, CALLBACK_FAILURE)
        reason = params.get("FailureReason", "The callback step reported a failure.")
        self.ops.runtime.callback_failure(
            params["CallbackToken"],
            reason,
            background=True,
            client_request_token=params.get("ClientRequestToken"),
        )
        return {"PipelineExecutionArn": record.execution_arn}
