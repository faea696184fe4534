"""An EventBridge rule that starts a pipeline when matching events arrive (S3 uploads, drift
alarms, another pipeline's status events -- pass the status bus as ``event_bus_name`` --, any
pattern).

The rule targets the deployment's trigger Lambda through an input transformer carrying the
pipeline, the owner account and the parameter mappings, exactly as rules registered through
the API's EventBridge subset do (:mod:`pipelines.triggers.rules`). Everything that could only
fail at fire time is checked at synth time: the pattern's shape, each mapping's syntax, that
each mapped field is carried by every event the pattern matches, and -- when the definition
is known -- that the parameters are declared and every parameter gets a value.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_events as events
from constructs import Construct
from pipelines.definition.models import PipelineDefinition
from pipelines.triggers import (
    StaticValue,
    TriggerTarget,
    check_definition_parameters,
    check_mappable,
    load_pattern,
    parse_mapping,
    rule_input_template,
)

from infra.constructs.deployment import PipelinesDeployment

MAX_RULE_NAME = 64


class PipelineEventTrigger(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        deployment: PipelinesDeployment,
        pipeline_arn: str,
        pattern: Mapping[str, Any],
        parameters: Mapping[str, str] | None = None,
        definition: PipelineDefinition | None = None,
        pipeline_name: str = "the pipeline",
        rule_name: str | None = None,
        description: str | None = None,
        enabled: bool = True,
        event_bus_name: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        checked = load_pattern(pattern)
        mappings = dict(parameters or {})
        sources = parse_mapping(mappings)
        for name, source in sources.items():
            check_mappable(name, source, checked)
        if definition is not None:
            static = {n: s.text for n, s in sources.items() if isinstance(s, StaticValue)}
            check_definition_parameters(
                definition, pipeline_name, static, [n for n in sources if n not in static], kind="event"
            )
        room = MAX_RULE_NAME - len(deployment.rule_prefix)
        name = rule_name or cdk.Names.unique_resource_name(self, max_length=room, separator="-")
        if len(name) > room:
            raise ValueError(f"rule_name {name!r} is too long: at most {room} characters after the prefix")
        self.rule_name = deployment.rule_prefix + name
        # The account and pipeline ARN are tokens at synth time: build the target without
        # validating them (the API-side registration validates concrete values).
        target = TriggerTarget.model_construct(
            pipeline_arn=pipeline_arn,
            account=cdk.Stack.of(self).account,
            trigger=f"rule/{self.rule_name}/pipeline",
            parameters=mappings,
            role_arn=None,
        )
        self.rule = events.CfnRule(
            self,
            "Rule",
            name=self.rule_name,
            event_bus_name=event_bus_name,
            description=description or f"Starts {pipeline_name}",
            event_pattern=checked,
            state="ENABLED" if enabled else "DISABLED",
            targets=[
                events.CfnRule.TargetProperty(
                    id="pipeline",
                    arn=deployment.trigger_function_arn,
                    input_transformer=events.CfnRule.InputTransformerProperty(
                        input_template=rule_input_template(target)
                    ),
                )
            ],
        )
