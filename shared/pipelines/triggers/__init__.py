"""Triggers: schedules and EventBridge rules that start pipeline executions.

Public API (``from pipelines.triggers import ...``)::

    # parameter mappings: static text, "$.json.path" into the event, or "s3://{detail.bucket.name}/{...}"
    parse_parameter_source(name, text) -> StaticValue | EventPath | Template   # InvalidParameterMapping
    parse_mapping({name: text}) -> {name: source};  resolve_parameters(sources, event) -> [{Name, Value}]

    # event patterns and what matching events carry
    s3_object_created(bucket, prefix="") / model_monitor_drift(alarm_names | alarm_name_prefix=)
    pipeline_execution_status(pipeline_arn, statuses) / load_pattern(json | dict)
    check_mappable(parameter, source, pattern)                      # UnmappableEventField

    # registration-time checks shared by schedules and rules
    target_pipeline(store, pipeline_arn, account_id, sharing=None) -> PipelineRecord   # UnknownTriggerPipeline
        # (also for a pipeline being deleted; writers then re-check with engine.pipelines.attach)
    check_trigger_parameters(record, static_values, mapped_names, kind=...)            # Unknown/Missing/Invalid
    check_definition_parameters(definition, pipeline_name, static_values, mapped_names, kind=...)

    # what schedules and rules send to the trigger Lambda, and firing it
    TriggerTarget(pipelineArn, account, trigger, parameters, roleArn=None)
    schedule_input(target) -> str;  rule_input_template(target) -> str
    parse_invocation(payload) -> ScheduledInvocation | EventInvocation         # InvalidTriggerInvocation
    fire(invocation, start: StartExecution) -> execution ARN    # ClientRequestToken per firing: redelivery-safe
    operations_starter(ops: Operations, region) -> StartExecution

    # cloud backends (boto3 clients; the api Lambda wires them)
    CloudScheduler(scheduler_client, group_name=, trigger_function_arn=, scheduler_role_arn=, store=, sharing=)
        # pipelines.api.scheduler.SchedulerBackend on real EventBridge Scheduler
    EventRuleTriggers(events_client, rule_prefix=, trigger_function_arn=, store=, sharing=, declared=)
        .handlers() -> the EventBridge subset (PutRule, PutTargets, ...) for JsonService("events", ...)

    # rule patterns confined to the deployment's declared buckets, alarms and custom sources
    # (pipelines.triggers.sources; CloudSettings.trigger_sources from TRIGGER_BUCKETS/ALARMS/SOURCES)
    DeclaredSources(buckets, alarms, sources) / DeclaredSources.anything()
    check_declared_sources(pattern, declared, owner_account)                   # UndeclaredEventSource

Errors (all ValidationError subclasses, answered as ValidationException): UnknownTriggerPipeline,
UnknownTriggerParameter, TriggerParameterMissing, InvalidParameterMapping, UnmappableEventField,
InvalidEventPattern (and its UndeclaredEventSource), EventValueMissing (fire time),
InvalidTriggerInvocation.
"""

from pipelines.triggers.errors import (
    EventValueMissing,
    InvalidEventPattern,
    InvalidParameterMapping,
    InvalidTriggerInvocation,
    TriggerError,
    TriggerParameterMissing,
    UnknownTriggerParameter,
    UnknownTriggerPipeline,
    UnmappableEventField,
)
from pipelines.triggers.fire import fire, operations_starter, start_parameters
from pipelines.triggers.mapping import (
    EventPath,
    ParameterSource,
    StaticValue,
    Template,
    parse_mapping,
    parse_parameter_source,
    resolve_parameters,
)
from pipelines.triggers.patterns import (
    check_mappable,
    load_pattern,
    model_monitor_drift,
    pipeline_execution_status,
    s3_object_created,
    sample_event,
)
from pipelines.triggers.targets import (
    EventInvocation,
    ScheduledInvocation,
    TriggerTarget,
    event_token,
    parse_invocation,
    rule_input_template,
    schedule_input,
    schedule_token,
)
from pipelines.triggers.validation import (
    check_definition_parameters,
    check_trigger_parameters,
    target_pipeline,
)

__all__ = [
    "EventInvocation",
    "EventPath",
    "EventValueMissing",
    "InvalidEventPattern",
    "InvalidParameterMapping",
    "InvalidTriggerInvocation",
    "ParameterSource",
    "ScheduledInvocation",
    "StaticValue",
    "Template",
    "TriggerError",
    "TriggerParameterMissing",
    "TriggerTarget",
    "UnknownTriggerParameter",
    "UnknownTriggerPipeline",
    "UnmappableEventField",
    "check_definition_parameters",
    "check_mappable",
    "check_trigger_parameters",
    "event_token",
    "fire",
    "load_pattern",
    "model_monitor_drift",
    "operations_starter",
    "parse_invocation",
    "parse_mapping",
    "parse_parameter_source",
    "pipeline_execution_status",
    "resolve_parameters",
    "rule_input_template",
    "s3_object_created",
    "sample_event",
    "schedule_input",
    "schedule_token",
    "start_parameters",
    "target_pipeline",
]
