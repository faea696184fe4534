"""EventBridge rules that start pipelines: registration at run time, and the EventBridge subset.

``boto3.client("events", endpoint_url=<our API>)`` works against the API for the calls that
wire a rule to a pipeline, as they would against EventBridge with a SageMaker pipeline target:
PutRule (an event pattern), PutTargets (the pipeline ARN and ``SageMakerPipelineParameters``),
RemoveTargets, DeleteRule, DescribeRule, ListRules, ListTargetsByRule. Each becomes a real rule
on the deployment account's default bus -- where S3 and CloudWatch deliver their events --
named ``<prefix><Name>`` and targeting the trigger Lambda through an input transformer that
carries the pipeline, the registering account and the parameter mappings
(:mod:`pipelines.triggers.mapping`: static, ``$.json.path`` or ``{template}`` values).

PutTargets checks everything that would otherwise fail at fire time (unknown pipeline,
undeclared parameter, a parameter left without value, a mapping that cannot be parsed or reads
a field the rule's events do not carry) and refuses the request with a ValidationException
naming it. Refused rather than ignored: schedule expressions (use the Scheduler subset), other
event buses, targets that are not our pipelines, and caller-supplied Input/InputPath/
InputTransformer. A target's ``RoleArn`` is kept and echoed; the trigger Lambda starts the
execution as the registering account, and the steps run with the pipeline's own RoleArn.
Rule names are unique across the accounts using the deployment; each account sees its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from pipelines.api.errors import ServiceError
from pipelines.api.ops.access import SharingPolicy
from pipelines.api.wire import CallContext, Handler
from pipelines.engine.pipelines import attach, still_active
from pipelines.store import PipelineRecord, Store
from pipelines.triggers.aws_errors import aws_errors
from pipelines.triggers.mapping import StaticValue, parse_mapping
from pipelines.triggers.patterns import check_mappable, load_pattern
from pipelines.triggers.sources import DeclaredSources, check_declared_sources
from pipelines.triggers.targets import TriggerTarget, rule_input_template, target_of_rule_template
from pipelines.triggers.validation import being_deleted, check_trigger_parameters, target_pipeline

OWNER_TAG = "selfhosted-pipelines:account"
MAX_RULE_NAME = 64
_BUSES = frozenset({"default", ""})
_TARGET_MEMBERS = frozenset({"Id", "Arn", "RoleArn", "SageMakerPipelineParameters", "RetryPolicy"})


def _invalid(message: str) -> ServiceError:
    return ServiceError("ValidationException", message, 400)


def _not_found(name: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", f"Rule {name} does not exist on EventBus default.", 400)


class EventRuleTriggers:
    """Rules on the default bus whose targets start our pipelines (see the module docstring)."""

    def __init__(
        self,
        client: Any,
        *,
        rule_prefix: str,
        trigger_function_arn: str,
        store: Store,
        sharing: SharingPolicy | None = None,
        declared: DeclaredSources | None = None,
    ) -> None:
        self.client = client
        # What patterns may select (pipelines.triggers.sources); None: anything.
        self.declared = declared if declared is not None else DeclaredSources.anything()
        self.rule_prefix = rule_prefix
        self.trigger_function_arn = trigger_function_arn
        self.store = store
        self.sharing = sharing

    # -- names and ownership -------------------------------------------------------------------
    def real_name(self, name: str) -> str:
        real = f"{self.rule_prefix}{name}"
        if len(real) > MAX_RULE_NAME:
            raise _invalid(
                f"Rule name {name} is too long: at most {MAX_RULE_NAME - len(self.rule_prefix)} characters "
                f"here (rules are created as {self.rule_prefix}<Name>)"
            )
        return real

    def _describe(self, name: str, ctx: CallContext) -> dict[str, Any]:
        """The real rule behind ``name``, if the caller's account registered it."""
        try:
            with aws_errors("EventBridge"):
                rule = dict(self.client.describe_rule(Name=self.real_name(name)))
                tags = self.client.list_tags_for_resource(ResourceARN=rule["Arn"])["Tags"]
        except ServiceError as error:
            if error.code == "ResourceNotFoundException":
                raise _not_found(name) from error
            raise
        owner = next((t["Value"] for t in tags if t["Key"] == OWNER_TAG), None)
        if owner != ctx.account_id:
            raise _not_found(name)
        return rule

    @staticmethod
    def _check_bus(params: Mapping[str, Any]) -> None:
        bus = params.get("EventBusName", "default")
        if bus not in _BUSES and not str(bus).endswith(":event-bus/default"):
            raise _invalid(f"EventBusName {bus} is not supported: pipeline rules live on the default bus")

    # -- rules -----------------------------------------------------------------------------------
    def put_rule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._check_bus(params)
        for member in ("ScheduleExpression", "RoleArn"):
            if params.get(member):
                raise _invalid(
                    f"{member} is not supported here: "
                    + (
                        "schedule pipelines with the Scheduler API"
                        if member == "ScheduleExpression"
                        else "rules need no role"
                    )
                )
        if "EventPattern" not in params:
            raise _invalid("EventPattern is required: pipeline rules match events")
        pattern = load_pattern(params["EventPattern"])
        check_declared_sources(pattern, self.declared, ctx.account_id)
        name = params["Name"]
        real = self.real_name(name)
        exists = True
        try:
            self._describe(name, ctx)
        except ServiceError as error:
            if error.code != "ResourceNotFoundException":
                raise
            exists = False
        request: dict[str, Any] = {
            "Name": real,
            "EventPattern": json.dumps(pattern),
            "State": params.get("State", "ENABLED"),
            "Description": params.get("Description", f"Starts SageMaker pipelines (registered as {name})"),
        }
        with aws_errors("EventBridge"):
            if not exists and self._real_rule_exists(real):
                raise ServiceError("ResourceAlreadyExistsException", f"Rule {name} already exists.", 400)
            response = self.client.put_rule(**request)
            if not exists:
                self.client.tag_resource(
                    ResourceARN=response["RuleArn"], Tags=[{"Key": OWNER_TAG, "Value": ctx.account_id}]
                )
        if exists:
            self._recheck_targets(name, pattern, ctx)
        return {"RuleArn": response["RuleArn"]}

    def _real_rule_exists(self, real: str) -> bool:
        try:
            self.client.describe_rule(Name=real)
        except self.client.exceptions.ResourceNotFoundException:
            return False
        return True

    def _recheck_targets(self, name: str, pattern: dict[str, Any], ctx: CallContext) -> None:
        """A changed pattern must still give every existing target the fields it maps."""
        for target in self._targets(name):
            for parameter, source in parse_mapping(target.parameters).items():
                check_mappable(parameter, source, pattern)

    def describe_rule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._check_bus(params)
        rule = self._describe(params["Name"], ctx)
        return self._shown_rule(params["Name"], rule)

    @staticmethod
    def _shown_rule(name: str, rule: Mapping[str, Any]) -> dict[str, Any]:
        shown = {k: rule[k] for k in ("Arn", "EventPattern", "State", "Description") if k in rule}
        shown.update(Name=name, EventBusName="default")
        return shown

    def delete_rule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._check_bus(params)
        self._describe(params["Name"], ctx)
        with aws_errors("EventBridge"):
            self.client.delete_rule(
                Name=self.real_name(params["Name"]), Force=bool(params.get("Force", False))
            )
        return {}

    def list_rules(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._check_bus(params)
        request: dict[str, Any] = {"NamePrefix": self.rule_prefix + params.get("NamePrefix", "")}
        if params.get("NextToken"):
            request["NextToken"] = params["NextToken"]
        if params.get("Limit"):
            request["Limit"] = params["Limit"]
        with aws_errors("EventBridge"):
            page = self.client.list_rules(**request)
        rules = []
        for rule in page.get("Rules", []):
            name = rule["Name"][len(self.rule_prefix) :]
            try:
                self._describe(name, ctx)
            except ServiceError as error:
                if error.code == "ResourceNotFoundException":
                    continue
                raise
            rules.append(self._shown_rule(name, rule))
        return {"Rules": rules, "NextToken": page.get("NextToken")}

    # -- targets ---------------------------------------------------------------------------------
    def put_targets(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._check_bus(params)
        name = params["Rule"]
        rule = self._describe(name, ctx)
        pattern = load_pattern(rule["EventPattern"])
        # again: the declarations may have narrowed since the rule was put
        check_declared_sources(pattern, self.declared, ctx.account_id)
        checked = [self._real_target(name, target, pattern, ctx) for target in params["Targets"]]
        real_name = self.real_name(name)
        real_targets = [real for real, _ in checked]
        pipelines = [pipeline for _, pipeline in checked]
        ids = {real["Id"] for real in real_targets}
        previous = [real for real in self._real_targets(real_name) if real["Id"] in ids]

        def put() -> dict[str, Any]:
            with aws_errors("EventBridge"):
                return dict(self.client.put_targets(Rule=real_name, Targets=real_targets))

        def undo() -> None:  # a target pipeline is going: the rule's targets as they were
            gone = {p.arn.lower() for p in pipelines if not still_active(self.store, p)}
            with aws_errors("EventBridge"):
                self.client.remove_targets(Rule=real_name, Ids=sorted(ids))
                kept = [real for real in previous if self._pipeline_of(real) not in gone]
                if kept:
                    self.client.put_targets(Rule=real_name, Targets=kept)

        # written, then each target pipeline checked again: see pipelines.engine.pipelines.attach
        response = attach(self.store, pipelines, put, undo, being_deleted)
        return {
            "FailedEntryCount": response.get("FailedEntryCount", 0),
            "FailedEntries": response.get("FailedEntries", []),
        }

    def _pipeline_of(self, real: Mapping[str, Any]) -> str | None:
        """The (lower-cased) ARN of the pipeline a real target starts; None if not ours."""
        template = real.get("InputTransformer", {}).get("InputTemplate")
        if real.get("Arn") != self.trigger_function_arn or not template:
            return None
        return target_of_rule_template(template).pipeline_arn.lower()

    def _real_target(
        self, rule: str, target: Mapping[str, Any], pattern: dict[str, Any], ctx: CallContext
    ) -> tuple[dict[str, Any], PipelineRecord]:
        extra = sorted(set(target) - _TARGET_MEMBERS)
        if extra:
            raise _invalid(
                f"Target {target['Id']}: {extra[0]} is not supported: pipeline targets take "
                "SageMakerPipelineParameters (static values, $.paths or {templates})"
            )
        pipeline = target_pipeline(self.store, target["Arn"], ctx.account_id, self.sharing)
        mappings = {
            p["Name"]: p["Value"]
            for p in target.get("SageMakerPipelineParameters", {}).get("PipelineParameterList", [])
        }
        sources = parse_mapping(mappings)
        static = {n: s.text for n, s in sources.items() if isinstance(s, StaticValue)}
        check_trigger_parameters(pipeline, static, [n for n in sources if n not in static], kind="event")
        for parameter, source in sources.items():
            check_mappable(parameter, source, pattern)
        trigger = TriggerTarget(
            pipeline_arn=pipeline.arn,
            account=ctx.account_id,
            trigger=f"rule/{rule}/{target['Id']}",
            parameters=mappings,
            role_arn=target.get("RoleArn"),
        )
        real: dict[str, Any] = {
            "Id": target["Id"],
            "Arn": self.trigger_function_arn,
            "InputTransformer": {"InputPathsMap": {}, "InputTemplate": rule_input_template(trigger)},
        }
        if "RetryPolicy" in target:
            real["RetryPolicy"] = target["RetryPolicy"]
        return real, pipeline

    def _targets(self, name: str) -> Iterator[TriggerTarget]:
        for real in self._real_targets(self.real_name(name)):
            template = real.get("InputTransformer", {}).get("InputTemplate")
            if real.get("Arn") == self.trigger_function_arn and template:
                yield target_of_rule_template(template)

    def _real_targets(self, real_name: str) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            request: dict[str, Any] = {"Rule": real_name}
            if token:
                request["NextToken"] = token
            with aws_errors("EventBridge"):
                page = self.client.list_targets_by_rule(**request)
            yield from page.get("Targets", [])
            token = page.get("NextToken")
            if not token:
                return

    def list_targets_by_rule(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._check_bus(params)
        self._describe(params["Rule"], ctx)
        shown = []
        for real in self._real_targets(self.real_name(params["Rule"])):
            template = real.get("InputTransformer", {}).get("InputTemplate")
            if real.get("Arn") != self.trigger_function_arn or not template:
                continue
            target = target_of_rule_template(template)
            entry: dict[str, Any] = {
                "Id": real["Id"],
                "Arn": target.pipeline_arn,
                "SageMakerPipelineParameters": {
                    "PipelineParameterList": [{"Name": k, "Value": v} for k, v in target.parameters.items()]
                },
            }
            if target.role_arn:
                entry["RoleArn"] = target.role_arn
            if "RetryPolicy" in real:
                entry["RetryPolicy"] = real["RetryPolicy"]
            shown.append(entry)
        return {"Targets": shown}

    def remove_targets(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._check_bus(params)
        self._describe(params["Rule"], ctx)
        with aws_errors("EventBridge"):
            response = self.client.remove_targets(
                Rule=self.real_name(params["Rule"]),
                Ids=list(params["Ids"]),
                Force=bool(params.get("Force", False)),
            )
        return {
            "FailedEntryCount": response.get("FailedEntryCount", 0),
            "FailedEntries": response.get("FailedEntries", []),
        }

    # -- pipeline deletion -----------------------------------------------------------------------
    def delete_targets_for_pipeline(self, pipeline_arn: str) -> int:
        """Remove every target of an API-registered rule that starts ``pipeline_arn`` (called
        when it is deleted); the rules themselves stay, as EventBridge rules outlive their
        targets. Rules a CloudFormation stack declares are left alone (see
        :meth:`_registered_through_api`).

        Idempotent, as DeletePipeline's retry runs it again: a rule or target that is already
        gone (deleted meanwhile, or by the call that died) is skipped, not an error."""
        removed = 0
        token = None
        while True:
            request: dict[str, Any] = {"NamePrefix": self.rule_prefix}
            if token:
                request["NextToken"] = token
            with aws_errors("EventBridge"):
                page = self.client.list_rules(**request)
            for rule in page.get("Rules", []):
                try:
                    removed += self._remove_pipeline_targets(rule, pipeline_arn)
                except ServiceError as error:
                    if error.code != "ResourceNotFoundException":  # the rule was deleted meanwhile
                        raise
            token = page.get("NextToken")
            if not token:
                return removed

    def _remove_pipeline_targets(self, rule: Mapping[str, Any], pipeline_arn: str) -> int:
        ids = [
            real["Id"]
            for real in self._real_targets(rule["Name"])
            if self._pipeline_of(real) == pipeline_arn.lower()
        ]
        if not ids or not self._registered_through_api(rule["Arn"]):
            return 0
        with aws_errors("EventBridge"):
            self.client.remove_targets(Rule=rule["Name"], Ids=ids)
        return len(ids)

    def _registered_through_api(self, rule_arn: str) -> bool:
        """Rules PutRule made carry the owner tag; a stack's rules (the Pipeline construct's, with
        the same prefix) are CloudFormation's to change, and are never touched here."""
        with aws_errors("EventBridge"):
            tags = self.client.list_tags_for_resource(ResourceARN=rule_arn)["Tags"]
        return any(tag["Key"] == OWNER_TAG for tag in tags)

    def handlers(self) -> dict[str, Handler]:
        """The EventBridge subset, for :class:`pipelines.api.wire.JsonService` (``events``)."""
        return {
            "PutRule": self.put_rule,
            "DescribeRule": self.describe_rule,
            "DeleteRule": self.delete_rule,
            "ListRules": self.list_rules,
            "PutTargets": self.put_targets,
            "ListTargetsByRule": self.list_targets_by_rule,
            "RemoveTargets": self.remove_targets,
        }
