"""What schedules and rules send to the trigger Lambda, and the start each one asks for.

Both carry a :class:`TriggerTarget` -- which pipeline, as which account, with which parameter
mappings -- so the Lambda needs no lookup:

* a schedule's target ``Input`` is a fixed JSON document in which EventBridge Scheduler fills
  ``<aws.scheduler.schedule-arn>`` and ``<aws.scheduler.scheduled-time>``;
* a rule's target uses an input transformer whose template wraps the whole matched event
  (``<aws.events.event.json>``) next to the target.

Each start carries a ClientRequestToken derived from what identifies one firing (the schedule
and the scheduled time; the rule and the event id), so a redelivered firing replays the first
start instead of starting a second execution.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from pipelines.triggers.errors import InvalidTriggerInvocation

SCHEDULE_ARN_PLACEHOLDER = "<aws.scheduler.schedule-arn>"
SCHEDULED_TIME_PLACEHOLDER = "<aws.scheduler.scheduled-time>"
EVENT_PLACEHOLDER = "<aws.events.event.json>"  # the whole event, detail included
MAX_INPUT_TEMPLATE_CHARS = 8192  # EventBridge's InputTemplate limit


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class TriggerTarget(_Model):
    """Which pipeline a trigger starts, as which account, with which parameter mappings."""

    pipeline_arn: str = Field(alias="pipelineArn")
    account: str = Field(pattern=r"^\d{12}$")
    trigger: str  # the schedule or rule name, for logs and tokens
    parameters: dict[str, str] = Field(default_factory=dict)  # name -> static value / path / template
    role_arn: str | None = Field(default=None, alias="roleArn")  # a schedule's Target.RoleArn, echoed back

    def wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class ScheduledInvocation(_Model):
    kind: Literal["schedule"]
    target: TriggerTarget
    schedule_arn: str = Field(alias="scheduleArn")
    scheduled_time: str = Field(alias="scheduledTime")

    def token(self) -> str:
        return schedule_token(self.schedule_arn, self.scheduled_time)


class EventInvocation(_Model):
    kind: Literal["event"]
    target: TriggerTarget
    event: dict[str, Any]

    def token(self) -> str:
        event_id = self.event.get("id")
        if not isinstance(event_id, str) or not event_id:
            raise InvalidTriggerInvocation("the event has no id, so a redelivery could not be recognised")
        return event_token(self.target.trigger, event_id)


Invocation = Annotated[ScheduledInvocation | EventInvocation, Field(discriminator="kind")]
_INVOCATION: TypeAdapter[ScheduledInvocation | EventInvocation] = TypeAdapter(Invocation)


def parse_invocation(payload: Any) -> ScheduledInvocation | EventInvocation:
    try:
        return _INVOCATION.validate_python(payload)
    except PydanticValidationError as exc:
        raise InvalidTriggerInvocation(
            f"not a schedule or rule invocation of the trigger Lambda: {exc}"
        ) from exc


def schedule_input(target: TriggerTarget) -> str:
    """A schedule target's ``Input`` (Scheduler fills the placeholders)."""
    return json.dumps(
        {
            "kind": "schedule",
            "target": target.wire(),
            "scheduleArn": SCHEDULE_ARN_PLACEHOLDER,
            "scheduledTime": SCHEDULED_TIME_PLACEHOLDER,
        },
        separators=(",", ":"),
    )


def rule_input_template(target: TriggerTarget) -> str:
    """A rule target's ``InputTransformer.InputTemplate``."""
    head = json.dumps({"kind": "event", "target": target.wire()}, separators=(",", ":"))
    template = head[:-1] + ',"event":' + EVENT_PLACEHOLDER + "}"
    if len(template) > MAX_INPUT_TEMPLATE_CHARS:
        raise InvalidTriggerInvocation(
            f"the trigger's input template is {len(template)} characters; EventBridge allows "
            f"{MAX_INPUT_TEMPLATE_CHARS} (shorten the parameter mappings)"
        )
    return template


def target_of_rule_template(template: str) -> TriggerTarget:
    """The target a rule input template carries (the inverse of :func:`rule_input_template`)."""
    head = template.replace(',"event":' + EVENT_PLACEHOLDER + "}", "}")
    try:
        return TriggerTarget.model_validate(json.loads(head)["target"])
    except (ValueError, KeyError, TypeError, PydanticValidationError) as exc:
        raise InvalidTriggerInvocation(f"not a trigger input template: {exc}") from exc


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()  # 64 chars: ClientRequestToken allows 32-128


def schedule_token(schedule_arn: str, scheduled_time: str) -> str:
    """One token per schedule occurrence; the time is normalised so ``Z`` and ``+00:00`` agree
    (the local scheduler derives its tokens the same way)."""
    try:
        moment = datetime.fromisoformat(scheduled_time.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        occurrence = moment.astimezone(UTC).isoformat()
    except ValueError as exc:
        raise InvalidTriggerInvocation(f"scheduledTime {scheduled_time!r} is not an ISO-8601 time") from exc
    return _digest(f"{schedule_arn}@{occurrence}")


def event_token(trigger: str, event_id: str) -> str:
    return _digest(f"{trigger}:{event_id}")
