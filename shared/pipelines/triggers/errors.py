"""Typed errors of trigger registration (schedules and event rules) and firing.

Registration refuses anything that could only fail later, when nobody is watching: an
unknown pipeline, a parameter the pipeline does not declare or cannot get a value for, a
mapping that cannot be parsed or that names an event field the matching events do not carry.
"""

from __future__ import annotations

from pipelines.errors import ValidationError


class TriggerError(ValidationError):
    """Base of trigger errors (the API answers ValidationException)."""


class UnknownTriggerPipeline(TriggerError):
    def __init__(self, pipeline_arn: str, why: str = "no such pipeline") -> None:
        super().__init__(f"The trigger's target {pipeline_arn} cannot be used: {why}.")
        self.pipeline_arn = pipeline_arn


class UnknownTriggerParameter(TriggerError):
    def __init__(self, parameter: str, pipeline_name: str) -> None:
        super().__init__(
            f"Parameter {parameter!r} is not declared by pipeline {pipeline_name}; "
            "a trigger can only set the pipeline's own parameters."
        )
        self.parameter = parameter


class TriggerParameterMissing(TriggerError):
    def __init__(self, parameters: list[str], pipeline_name: str, kind: str) -> None:
        super().__init__(
            f"Every parameter of pipeline {pipeline_name} needs a default value or a value from the "
            f"{kind} (it starts executions unattended); missing: {', '.join(parameters)}."
        )
        self.parameters = parameters


class InvalidParameterMapping(TriggerError):
    def __init__(self, parameter: str, value: str, reason: str) -> None:
        super().__init__(f"Parameter {parameter!r}: the mapping {value!r} is invalid: {reason}.")
        self.parameter = parameter


class UnmappableEventField(TriggerError):
    def __init__(self, parameter: str, path: str, reason: str) -> None:
        super().__init__(f"Parameter {parameter!r}: event field {path} cannot be mapped: {reason}.")
        self.parameter = parameter
        self.path = path


class InvalidEventPattern(TriggerError):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid event pattern: {reason}.")


class EventValueMissing(TriggerError):
    """At fire time: the event lacks a field a parameter is mapped from (the start is refused)."""

    def __init__(self, parameter: str, path: str, event_id: str | None) -> None:
        super().__init__(f"Event {event_id or '(no id)'} has no value at {path} for parameter {parameter!r}.")
        self.parameter = parameter
        self.path = path


class InvalidTriggerInvocation(TriggerError):
    """The trigger Lambda was invoked with an input that no schedule or rule of ours sends."""
