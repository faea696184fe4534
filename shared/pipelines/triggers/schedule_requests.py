"""What every Scheduler backend checks in a CreateSchedule / UpdateSchedule request.

The local scheduler (SQLite, fired by ``pipelines serve``) and the cloud one (real EventBridge
Scheduler invoking the trigger Lambda) share these checks, so a schedule accepted locally is
accepted deployed, and nothing that could only fail at fire time -- when nobody is watching --
is accepted by either: the expression and time zone, the window, the dates, the target members,
the target pipeline (which the caller's account must own or have shared with it) and a value
for every pipeline parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipelines.api.errors import ServiceError
from pipelines.api.ops.access import SharingPolicy
from pipelines.api.schedule_expressions import ScheduleExpression, parse_schedule_expression
from pipelines.store import PipelineRecord, Store
from pipelines.triggers.validation import check_trigger_parameters, target_pipeline

DEFAULT_GROUP = "default"
# Every other Target member (Input, DeadLetterConfig, EcsParameters, ...) is for other targets.
TARGET_MEMBERS = frozenset({"Arn", "RoleArn", "SageMakerPipelineParameters", "RetryPolicy"})


def schedule_not_found(name: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"Schedule {name} does not exist.", 404)


def invalid_schedule(message: str) -> ServiceError:
    return ServiceError("ValidationException", message, 400)


def schedule_group(params: dict[str, Any], group_name: str = DEFAULT_GROUP) -> str:
    """The backend's one schedule group; ``default`` always names it (the SDK sends no group)."""
    group = params.get("GroupName") or DEFAULT_GROUP
    if group not in (DEFAULT_GROUP, group_name):
        where = (
            ""
            if group_name == DEFAULT_GROUP
            else f"; this deployment keeps schedules in {group_name} (also called {DEFAULT_GROUP})"
        )
        raise ServiceError("ResourceNotFoundException", f"Schedule group {group} does not exist{where}.", 404)
    return group_name


@dataclass(frozen=True)
class CheckedSchedule:
    """A schedule request that passed :func:`check_schedule_request`."""

    expression: ScheduleExpression
    pipeline: PipelineRecord
    parameters: dict[str, str]  # the target's static parameter values, by name


def check_schedule_request(
    params: dict[str, Any],
    account_id: str,
    store: Store,
    sharing: SharingPolicy | None = None,
    *,
    kms_refusal: str,
) -> CheckedSchedule:
    """Refuse what no backend supports or what would fail every firing (``kms_refusal`` says
    why this backend takes no ``KmsKeyArn``)."""
    if params.get("KmsKeyArn"):
        raise invalid_schedule(f"KmsKeyArn is not supported: {kms_refusal}")
    target = params["Target"]
    extra = sorted(set(target) - TARGET_MEMBERS)
    if extra:
        raise invalid_schedule(
            f"Target.{extra[0]} is not supported: schedule targets are SageMaker pipelines"
        )
    expression = parse_schedule_expression(
        params["ScheduleExpression"], params.get("ScheduleExpressionTimezone")
    )
    start, end = params.get("StartDate"), params.get("EndDate")
    if start is not None and end is not None and end <= start:
        raise invalid_schedule("EndDate must be after StartDate")
    window = params["FlexibleTimeWindow"]
    if window.get("Mode") == "FLEXIBLE" and "MaximumWindowInMinutes" not in window:
        raise invalid_schedule("FlexibleTimeWindow.MaximumWindowInMinutes is required when Mode is FLEXIBLE")
    pipeline = target_pipeline(store, target["Arn"], account_id, sharing)
    values = {
        p["Name"]: p["Value"]
        for p in target.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
    }
    check_trigger_parameters(pipeline, values, kind="schedule")
    return CheckedSchedule(expression, pipeline, values)
