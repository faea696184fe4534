"""The cloud Scheduler backend: the Scheduler subset on real EventBridge Scheduler.

Schedules created through our API (the SageMaker SDK's ``put_triggers``, boto3's ``scheduler``
client pointed at the API) become real schedules in the deployment's schedule group. Their
target is the trigger Lambda, whose input names the pipeline, the account that created the
schedule and the parameter values; the Lambda starts the execution with a ClientRequestToken
per occurrence. Reads translate back: ``GetSchedule`` shows the pipeline as the target, as
the service would.

Differences from targeting a pipeline directly, all visible in the API:

* Schedules live in the deployment's group; ``default`` is accepted as another name for it.
* ``Target.RoleArn`` (required by the API) is kept and echoed, but the schedule invokes the
  trigger Lambda with the deployment's scheduler role; the execution runs with the pipeline's
  own RoleArn as usual.
* Schedule names are unique across the accounts using the deployment (as pipeline names are);
  each account sees and changes only its own schedules.
* ``KmsKeyArn``, ``Target.DeadLetterConfig`` and targets other than our pipelines are refused.

Registration checks the expression (at/rate/cron, time zone), the window, the target pipeline
and that every parameter has a value, so nothing that must fail at fire time is accepted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pipelines.api.errors import ServiceError
from pipelines.api.ops.access import SharingPolicy
from pipelines.api.wire import CallContext
from pipelines.engine.pipelines import attach
from pipelines.store import PipelineRecord, Store
from pipelines.triggers.aws_errors import aws_errors
from pipelines.triggers.schedule_requests import (
    DEFAULT_GROUP,
    check_schedule_request,
    schedule_group,
    schedule_not_found,
)
from pipelines.triggers.targets import TriggerTarget, schedule_input
from pipelines.triggers.validation import being_deleted

DEFAULT_GROUP_ALIAS = DEFAULT_GROUP
_KMS_REFUSAL = "schedules are encrypted with an AWS owned key"
_COPIED = (
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "StartDate",
    "EndDate",
    "Description",
    "State",
    "FlexibleTimeWindow",
    "ActionAfterCompletion",
    "ClientToken",
)


class CloudScheduler:
    """:class:`~pipelines.api.scheduler.SchedulerBackend` over a boto3 ``scheduler`` client."""

    def __init__(
        self,
        client: Any,
        *,
        group_name: str,
        trigger_function_arn: str,
        scheduler_role_arn: str,
        store: Store,
        sharing: SharingPolicy | None = None,
    ) -> None:
        self.client = client
        self.group_name = group_name
        self.trigger_function_arn = trigger_function_arn
        self.scheduler_role_arn = scheduler_role_arn
        self.store = store
        self.sharing = sharing

    # -- writes -----------------------------------------------------------------------------------
    def create_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        request, pipeline = self._request(params, ctx)

        def create() -> dict[str, Any]:
            with aws_errors("EventBridge Scheduler"):
                return dict(self.client.create_schedule(**request))

        # written, then its target checked again: see pipelines.engine.pipelines.attach
        response = attach(self.store, [pipeline], create, lambda: self._drop(params["Name"]), being_deleted)
        return {"ScheduleArn": response["ScheduleArn"]}

    def update_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        previous, target = self._owned(params["Name"], self._group(params), ctx)
        request, pipeline = self._request(params, ctx)
        request.pop("ClientToken", None)

        def update() -> dict[str, Any]:
            with aws_errors("EventBridge Scheduler"):
                return dict(self.client.update_schedule(**request))

        def undo() -> None:  # the target is going: the schedule as it was before this call
            if target.pipeline_arn.lower() == pipeline.arn.lower():
                self._drop(params["Name"])
                return
            restored = {k: previous[k] for k in (*_COPIED, "KmsKeyArn") if previous.get(k) is not None}
            restored.pop("ClientToken", None)
            with aws_errors("EventBridge Scheduler"):
                self.client.update_schedule(
                    Name=params["Name"], GroupName=self.group_name, Target=previous["Target"], **restored
                )

        response = attach(self.store, [pipeline], update, undo, being_deleted)
        return {"ScheduleArn": response["ScheduleArn"]}

    def _drop(self, name: str) -> None:
        """Delete a schedule of the group; one already gone is not an error."""
        try:
            with aws_errors("EventBridge Scheduler"):
                self.client.delete_schedule(Name=name, GroupName=self.group_name)
        except ServiceError as error:
            if error.code != "ResourceNotFoundException":
                raise

    def _request(self, params: dict[str, Any], ctx: CallContext) -> tuple[dict[str, Any], PipelineRecord]:
        group = self._group(params)
        checked = check_schedule_request(
            params, ctx.account_id, self.store, self.sharing, kms_refusal=_KMS_REFUSAL
        )
        target = params["Target"]
        trigger = TriggerTarget(
            pipeline_arn=checked.pipeline.arn,
            account=ctx.account_id,
            trigger=f"schedule/{group}/{params['Name']}",
            parameters=checked.parameters,
            role_arn=target.get("RoleArn"),
        )
        real_target: dict[str, Any] = {
            "Arn": self.trigger_function_arn,
            "RoleArn": self.scheduler_role_arn,
            "Input": schedule_input(trigger),
        }
        if "RetryPolicy" in target:
            real_target["RetryPolicy"] = target["RetryPolicy"]
        request: dict[str, Any] = {"Name": params["Name"], "GroupName": group, "Target": real_target}
        request.update({k: params[k] for k in _COPIED if params.get(k) is not None})
        request.setdefault("State", "ENABLED")
        return request, checked.pipeline

    def _group(self, params: dict[str, Any]) -> str:
        return schedule_group(params, self.group_name)

    # -- reads ------------------------------------------------------------------------------------
    def _get(self, name: str) -> dict[str, Any]:
        try:
            with aws_errors("EventBridge Scheduler"):
                return dict(self.client.get_schedule(Name=name, GroupName=self.group_name))
        except ServiceError as error:
            if error.code == "ResourceNotFoundException":
                raise schedule_not_found(name) from error
            raise

    def _owned(self, name: str, group: str, ctx: CallContext) -> tuple[dict[str, Any], TriggerTarget]:
        schedule = self._get(name)
        target = _trigger_target(schedule)
        if target is None or target.account != ctx.account_id:
            raise schedule_not_found(name)
        return schedule, target

    def get_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        schedule, target = self._owned(params["Name"], self._group(params), ctx)
        shown = {k: v for k, v in schedule.items() if k != "ResponseMetadata"}
        real = schedule["Target"]
        shown_target: dict[str, Any] = {
            "Arn": target.pipeline_arn,
            "RoleArn": target.role_arn or real["RoleArn"],
            "SageMakerPipelineParameters": {
                "PipelineParameterList": [{"Name": k, "Value": v} for k, v in target.parameters.items()]
            },
        }
        if "RetryPolicy" in real:
            shown_target["RetryPolicy"] = real["RetryPolicy"]
        shown["Target"] = shown_target
        return shown

    def delete_schedule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._owned(params["Name"], self._group(params), ctx)
        with aws_errors("EventBridge Scheduler"):
            self.client.delete_schedule(Name=params["Name"], GroupName=self.group_name)
        return {}

    def list_schedules(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        if params.get("GroupName"):
            self._group(params)
        request: dict[str, Any] = {"GroupName": self.group_name, "MaxResults": params.get("MaxResults", 100)}
        for member in ("NamePrefix", "State", "NextToken"):
            if params.get(member):
                request[member] = params[member]
        with aws_errors("EventBridge Scheduler"):
            page = self.client.list_schedules(**request)
        summaries = []
        for summary in page.get("Schedules", []):
            try:
                target = _trigger_target(self._get(summary["Name"]))
            except ServiceError as error:
                if error.code == "ResourceNotFoundException":  # deleted while listing
                    continue
                raise
            if target is None or target.account != ctx.account_id:
                continue
            shown = {
                k: summary[k]
                for k in ("Arn", "Name", "GroupName", "State", "CreationDate", "LastModificationDate")
                if k in summary
            }
            shown["Target"] = {"Arn": target.pipeline_arn}
            summaries.append(shown)
        return {"Schedules": summaries, "NextToken": page.get("NextToken")}

    # -- pipeline deletion ------------------------------------------------------------------------
    def _all_schedules(self) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            request: dict[str, Any] = {"GroupName": self.group_name, "MaxResults": 100}
            if token:
                request["NextToken"] = token
            with aws_errors("EventBridge Scheduler"):
                page = self.client.list_schedules(**request)
            yield from page.get("Schedules", [])
            token = page.get("NextToken")
            if not token:
                return

    def delete_schedules_for_target(self, pipeline_arn: str) -> int:
        deleted = 0
        for summary in list(self._all_schedules()):
            try:
                target = _trigger_target(self._get(summary["Name"]))
            except ServiceError as error:
                if error.code == "ResourceNotFoundException":
                    continue
                raise
            if target is None or target.pipeline_arn.lower() != pipeline_arn.lower():
                continue
            self._drop(summary["Name"])
            deleted += 1
        return deleted


def _trigger_target(schedule: dict[str, Any]) -> TriggerTarget | None:
    """The pipeline target a real schedule carries, or None for a schedule that is not ours."""
    try:
        document = json.loads(schedule["Target"]["Input"])
        return TriggerTarget.model_validate(document["target"])
    except (KeyError, TypeError, ValueError):
        return None


__all__ = ["DEFAULT_GROUP_ALIAS", "CloudScheduler"]
