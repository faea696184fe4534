"""Deploy a synthesized template into moto, the way CloudFormation would, from the template alone.

moto's own CloudFormation cannot run this stack (it skips the Scheduler group and API stage,
breaks ``Ref`` of an event bus, ignores ``DefinitionSubstitutions``, and runs custom resources
through Docker), so this walker creates each resource in dependency order through the service
APIs with the properties the template gives it, resolving ``Ref``, ``Fn::GetAtt``, ``Fn::Join``,
``Fn::Sub``, ``Fn::Select``, ``Fn::Split`` and the pseudo parameters. Types the rehearsal does
not need to exist in moto (policies on resources, API Gateway plumbing, log settings) get a
placeholder physical id; an unknown type fails the rehearsal, so a new kind of resource is a
conscious decision here.

The web console's resources: its user pool, app client, domain and identity pool are created in
moto's Cognito; CloudFront (not in moto) and the identity pool's role attachment get the
identifiers CloudFormation would return; CDK's BucketDeployment is carried out by copying its
staged sources into the bucket with their deploy-time markers replaced (its own handler runs the
AWS CLI on CDK's runtime); the API's CORS preflights are mock methods the local API Gateway
answers unsigned.

Lambda functions are created in moto (so Step Functions and ``lambda.invoke`` find them) and
registered with the local Lambda service with their asset directories (from ``Code.S3Key``),
their layers' directories, handler, timeout, memory and environment. Custom resources are sent
the CloudFormation request through their provider, as the CDK Provider framework forwards it.
"""

from __future__ import annotations

import copy
import json
import mimetypes
import re
import secrets
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from tests.cloud.harness import FifoEventSource
from tests.rehearsal.apigateway import (
    GatewayResponse,
    LocalApiGateway,
    Method,
    MockMethod,
    ResourcePolicy,
    RestApi,
)
from tests.rehearsal.invoker import LocalFunction, LocalLambdas
from tests.rehearsal.synth import Assembly

PYTHON_RUNTIMES = ("python3.12",)

# Types whose effect the rehearsal does not model; they get a placeholder physical id.
PLACEHOLDER_TYPES = {
    "AWS::CDK::Metadata",
    "AWS::Lambda::Permission",
    "AWS::S3::BucketPolicy",
    "AWS::SQS::QueuePolicy",
    "AWS::ApiGateway::RequestValidator",
    "AWS::ApiGateway::Deployment",
    "AWS::ApiGateway::Account",
    "AWS::CloudWatch::Alarm",
    "AWS::SNS::Topic",
    "AWS::Logs::ResourcePolicy",
    "Custom::S3AutoDeleteObjects",  # empties a bucket on stack deletion
    "AWS::Cognito::IdentityPoolRoleAttachment",  # moto's Cognito Identity cannot set pool roles
}


class DeployFailed(AssertionError):
    """A resource could not be created from the template as CloudFormation would."""


def _random(length: int, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _references(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            found.add(target[0] if isinstance(target, list) else str(target).split(".")[0])
        if "Fn::Sub" in value:
            text = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            found.update(m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", text))
        for item in value.values():
            found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


@dataclass
class Created:
    physical_id: str
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class Deployment:
    """One stack deployed into moto; ``created`` maps logical ids to what was made."""

    assembly: Assembly
    lambdas: LocalLambdas
    gateway: LocalApiGateway
    created: dict[str, Created] = field(default_factory=dict)
    layers: dict[str, Path] = field(default_factory=dict)  # layer version ARN -> asset dir
    custom_properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    event_sources: list[FifoEventSource] = field(default_factory=list)

    @property
    def template(self) -> dict[str, Any]:
        return self.assembly.template

    @property
    def region(self) -> str:
        return self.assembly.region

    @property
    def account(self) -> str:
        return self.assembly.account

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=self.region)

    # -- intrinsic functions --------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(argument)
            if key == "Fn::GetAtt":
                logical, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self._get_att(logical, attribute)
            if key == "Fn::Join":
                separator, items = argument
                return separator.join(str(self.resolve(i)) for i in self.resolve(items))
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Select":
                index, items = argument
                return self.resolve(items)[int(self.resolve(index))]
            if key == "Fn::Split":
                separator, text = argument
                return str(self.resolve(text)).split(separator)
            if key.startswith("Fn::"):
                raise DeployFailed(f"intrinsic function {key} is not supported by the rehearsal")
        return {k: self.resolve(v) for k, v in value.items()}

    def _pseudo(self, name: str) -> str | None:
        return {
            "AWS::AccountId": self.account,
            "AWS::Region": self.region,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": self.assembly.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account}:stack/"
            f"{self.assembly.stack_name}/rehearsal",
        }.get(name)

    def _ref(self, name: str) -> Any:
        pseudo = self._pseudo(name)
        if pseudo is not None:
            return pseudo
        if name in self.template.get("Parameters", {}):
            return self.template["Parameters"][name].get("Default")
        if name not in self.created:
            raise DeployFailed(f"Ref to {name}, which is not created (yet)")
        return self.created[name].physical_id

    def _get_att(self, logical: str, attribute: str) -> Any:
        if logical not in self.created:
            raise DeployFailed(f"Fn::GetAtt on {logical}, which is not created (yet)")
        attributes = self.created[logical].attributes
        if attribute not in attributes:
            kind = self.template["Resources"][logical]["Type"]
            raise DeployFailed(
                f"Fn::GetAtt {logical}.{attribute}: the rehearsal has no such attribute of {kind}"
            )
        return attributes[attribute]

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        variables = {k: self.resolve(v) for k, v in variables.items()}

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name:
                return str(self._get_att(*name.split(".", 1)))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", value, text)

    def output(self, name: str) -> Any:
        return self.resolve(self.template["Outputs"][name]["Value"])

    def logical_ids(self, kind: str) -> list[str]:
        return [k for k, r in self.template["Resources"].items() if r["Type"] == kind]

    # -- creating ------------------------------------------------------------------------------

    def deploy(self) -> None:
        for logical in self._order():
            resource = self.template["Resources"][logical]
            try:
                self.created[logical] = self._create(
                    logical, resource["Type"], resource.get("Properties", {})
                )
            except DeployFailed:
                raise
            except Exception as exc:
                raise DeployFailed(f"{logical} ({resource['Type']}) failed to create: {exc}") from exc

    def _order(self) -> list[str]:
        resources = self.template["Resources"]
        needs = {}
        for logical, resource in resources.items():
            depends = resource.get("DependsOn", [])
            depends = [depends] if isinstance(depends, str) else depends
            refs = _references(resource.get("Properties", {})) | set(depends)
            needs[logical] = {r for r in refs if r in resources}
        order: list[str] = []
        done: set[str] = set()
        while len(order) < len(resources):
            ready = sorted(r for r in resources if r not in done and needs[r] <= done)
            if not ready:
                raise DeployFailed(f"circular dependencies among {sorted(set(resources) - done)}")
            order += ready
            done |= set(ready)
        return order

    def _name(self, logical: str, limit: int = 64, lower: bool = False) -> str:
        name = f"{self.assembly.stack_name}-{logical}"[: limit - 14] + "-" + _random(13)
        return name.lower() if lower else name

    def _create(self, logical: str, kind: str, raw: dict[str, Any]) -> Created:
        if kind in PLACEHOLDER_TYPES:
            return Created(f"{logical}-{_random(8)}")
        handler = self._handlers().get(kind)
        if handler is None:
            if kind.startswith("Custom::"):
                return self._custom_resource(logical, kind, raw, "Create")
            raise DeployFailed(f"{logical}: resource type {kind} is not modelled by the rehearsal")
        return handler(logical, self.resolve(raw))

    def _handlers(self) -> dict[str, Callable[[str, dict[str, Any]], Created]]:
        return {
            "AWS::IAM::Role": self._role,
            "AWS::IAM::Policy": self._policy,
            "AWS::DynamoDB::Table": self._table,
            "AWS::S3::Bucket": self._bucket,
            "AWS::SQS::Queue": self._queue,
            "AWS::Events::EventBus": self._event_bus,
            "AWS::Events::Rule": self._rule,
            "AWS::Scheduler::ScheduleGroup": self._schedule_group,
            "AWS::Logs::LogGroup": self._log_group,
            "AWS::Lambda::LayerVersion": self._layer,
            "AWS::Lambda::Function": self._function,
            "AWS::Lambda::EventSourceMapping": self._event_source_mapping,
            "AWS::StepFunctions::StateMachine": self._state_machine,
            "AWS::ApiGateway::RestApi": self._rest_api,
            "AWS::ApiGateway::GatewayResponse": self._gateway_response,
            "AWS::ApiGateway::Resource": self._api_resource,
            "AWS::ApiGateway::Method": self._api_method,
            "AWS::ApiGateway::Stage": self._api_stage,
            "Custom::S3BucketNotifications": self._bucket_notifications,
            "Custom::CDKBucketDeployment": self._bucket_deployment,
            "AWS::Cognito::UserPool": self._user_pool,
            "AWS::Cognito::UserPoolClient": self._user_pool_client,
            "AWS::Cognito::UserPoolDomain": self._user_pool_domain,
            "AWS::Cognito::IdentityPool": self._identity_pool,
            "AWS::CloudFront::Distribution": self._distribution,
            "AWS::CloudFront::OriginAccessControl": self._cloudfront_id,
            "AWS::CloudFront::ResponseHeadersPolicy": self._cloudfront_id,
            "AWS::CloudFront::Function": self._cloudfront_function,
        }

    def _role(self, logical: str, p: dict[str, Any]) -> Created:
        name = p.get("RoleName") or self._name(logical)
        role = self.client("iam").create_role(
            RoleName=name,
            Path=p.get("Path", "/"),
            AssumeRolePolicyDocument=json.dumps(p["AssumeRolePolicyDocument"]),
        )["Role"]
        for policy in p.get("Policies", []):
            self.client("iam").put_role_policy(
                RoleName=name,
                PolicyName=policy["PolicyName"],
                PolicyDocument=json.dumps(policy["PolicyDocument"]),
            )
        return Created(name, {"Arn": role["Arn"], "RoleId": role["RoleId"]})

    def _policy(self, logical: str, p: dict[str, Any]) -> Created:
        for role in p.get("Roles", []):
            self.client("iam").put_role_policy(
                RoleName=role, PolicyName=p["PolicyName"], PolicyDocument=json.dumps(p["PolicyDocument"])
            )
        return Created(p["PolicyName"])

    def _table(self, logical: str, p: dict[str, Any]) -> Created:
        name = p.get("TableName") or self._name(logical, 255)
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": p["AttributeDefinitions"],
            "KeySchema": p["KeySchema"],
            "BillingMode": p.get("BillingMode", "PROVISIONED"),
        }
        if p.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = p["GlobalSecondaryIndexes"]
        if p.get("LocalSecondaryIndexes"):
            kwargs["LocalSecondaryIndexes"] = p["LocalSecondaryIndexes"]
        if p.get("ProvisionedThroughput"):
            kwargs["ProvisionedThroughput"] = p["ProvisionedThroughput"]
        if p.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **p["StreamSpecification"]}
        table = self.client("dynamodb").create_table(**kwargs)["TableDescription"]
        ttl = p.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            self.client("dynamodb").update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        return Created(name, {"Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn")})

    def _bucket(self, logical: str, p: dict[str, Any]) -> Created:
        name = p.get("BucketName") or self._name(logical, 63, lower=True)
        s3 = self.client("s3")
        if self.region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.region})
        if p.get("LifecycleConfiguration"):
            s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration=_lifecycle(p["LifecycleConfiguration"])
            )
        if (p.get("NotificationConfiguration") or {}).get("EventBridgeConfiguration") is not None:
            s3.put_bucket_notification_configuration(
                Bucket=name, NotificationConfiguration={"EventBridgeConfiguration": {}}
            )
        return Created(
            name,
            {
                "Arn": f"arn:aws:s3:::{name}",
                "DomainName": f"{name}.s3.amazonaws.com",
                "RegionalDomainName": f"{name}.s3.{self.region}.amazonaws.com",
            },
        )

    def _queue(self, logical: str, p: dict[str, Any]) -> Created:
        fifo = bool(p.get("FifoQueue"))
        name = p.get("QueueName") or (self._name(logical, 75) + (".fifo" if fifo else ""))
        attributes = {}
        for key, value in p.items():
            if key in ("QueueName", "Tags"):
                continue
            attributes[key] = (
                json.dumps(value)
                if isinstance(value, dict)
                else str(value).lower()
                if isinstance(value, bool)
                else str(value)
            )
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return Created(url, {"Arn": arn, "QueueName": name, "QueueUrl": url})

    def _event_bus(self, logical: str, p: dict[str, Any]) -> Created:
        arn = self.client("events").create_event_bus(Name=p["Name"])["EventBusArn"]
        return Created(p["Name"], {"Arn": arn, "Name": p["Name"]})

    def _rule(self, logical: str, p: dict[str, Any]) -> Created:
        name = p.get("Name") or self._name(logical)
        kwargs: dict[str, Any] = {"Name": name, "State": p.get("State", "ENABLED")}
        for key in ("Description", "ScheduleExpression", "EventBusName", "RoleArn"):
            if p.get(key):
                kwargs[key] = p[key]
        if p.get("EventPattern") is not None:
            kwargs["EventPattern"] = json.dumps(p["EventPattern"])
        events = self.client("events")
        arn = events.put_rule(**kwargs)["RuleArn"]
        if p.get("Targets"):
            bus = {"EventBusName": p["EventBusName"]} if p.get("EventBusName") else {}
            events.put_targets(Rule=name, Targets=p["Targets"], **bus)
        return Created(name, {"Arn": arn})

    def _schedule_group(self, logical: str, p: dict[str, Any]) -> Created:
        name = p.get("Name") or self._name(logical)
        arn = self.client("scheduler").create_schedule_group(Name=name)["ScheduleGroupArn"]
        return Created(name, {"Arn": arn})

    def _log_group(self, logical: str, p: dict[str, Any]) -> Created:
        name = p.get("LogGroupName") or f"/aws/rehearsal/{self._name(logical)}"
        self.client("logs").create_log_group(logGroupName=name)
        return Created(name, {"Arn": f"arn:aws:logs:{self.region}:{self.account}:log-group:{name}:*"})

    def _layer(self, logical: str, p: dict[str, Any]) -> Created:
        arn = f"arn:aws:lambda:{self.region}:{self.account}:layer:{p.get('LayerName') or logical}:1"
        self.layers[arn] = self.assembly.asset(p["Content"])
        return Created(arn)

    def _function(self, logical: str, p: dict[str, Any]) -> Created:
        name = p.get("FunctionName") or self._name(logical)
        environment = {k: str(v) for k, v in ((p.get("Environment") or {}).get("Variables") or {}).items()}
        created = self.client("lambda").create_function(
            FunctionName=name,
            Runtime=p.get("Runtime", "python3.12"),
            Role=p["Role"],
            Handler=p.get("Handler", "index.handler"),
            Code={"ZipFile": b"the rehearsal runs the asset directory"},
            Timeout=int(p.get("Timeout", 3)),
            MemorySize=int(p.get("MemorySize", 128)),
            Environment={"Variables": environment},
        )
        if p.get("Runtime") in PYTHON_RUNTIMES and "S3Key" in p["Code"]:
            self.lambdas.add(
                LocalFunction(
                    name=name,
                    arn=created["FunctionArn"],
                    handler=p["Handler"],
                    code=self.assembly.asset(p["Code"]),
                    layers=tuple(self.layers[arn] for arn in p.get("Layers", [])),
                    environment={k: self.local_url(v) for k, v in environment.items()},
                    timeout=int(p.get("Timeout", 3)),
                    memory=int(p.get("MemorySize", 128)),
                    role_arn=p["Role"],
                )
            )
        return Created(name, {"Arn": created["FunctionArn"]})

    def local_url(self, value: str) -> str:
        """A stage URL of this stack's API points at the local API Gateway (its DNS, here)."""
        for api in self.gateway.apis.values():
            for stage in api.stages:
                prefix = f"https://{api.api_id}.execute-api.{self.region}.amazonaws.com/{stage}"
                if value.startswith(prefix):
                    return self.gateway.stage_url(api.api_id, stage) + value[len(prefix) :].lstrip("/")
        return value

    def _event_source_mapping(self, logical: str, p: dict[str, Any]) -> Created:
        source = str(p.get("EventSourceArn", ""))
        if source.startswith("arn:") and ":sqs:" in source and source.endswith(".fifo"):
            # moto's mapping fires inside SendMessage, one message per invocation, and ignores
            # ReportBatchItemFailures: Lambda's FIFO poller is played by FifoEventSource instead.
            sqs = self.client("sqs")
            url = sqs.get_queue_url(QueueName=source.rsplit(":", 1)[1])["QueueUrl"]
            poller = FifoEventSource(
                url, self.client("lambda"), sqs, function=str(p["FunctionName"]), pollers=2
            )
            self.event_sources.append(poller)
            return Created(f"fifo-poller-{logical}")
        kwargs = {
            k: v
            for k, v in p.items()
            if k in ("EventSourceArn", "FunctionName", "BatchSize", "Enabled", "FunctionResponseTypes")
        }
        uuid = self.client("lambda").create_event_source_mapping(**kwargs)["UUID"]
        return Created(uuid)

    def _state_machine(self, logical: str, p: dict[str, Any]) -> Created:
        definition = p.get("DefinitionString")
        if definition is None:
            definition = json.dumps(p["Definition"])
        for key, value in (p.get("DefinitionSubstitutions") or {}).items():
            definition = definition.replace("${" + key + "}", str(value))
        leftover = re.findall(r"\$\{[A-Za-z0-9_]+\}", definition)
        if leftover:
            raise DeployFailed(f"{logical}: unresolved substitutions {sorted(set(leftover))}")
        name = p.get("StateMachineName") or self._name(logical, 80)
        arn = self.client("stepfunctions").create_state_machine(
            name=name, definition=definition, roleArn=p["RoleArn"], type=p.get("StateMachineType", "STANDARD")
        )["stateMachineArn"]
        return Created(arn, {"Arn": arn, "Name": name})

    def _rest_api(self, logical: str, p: dict[str, Any]) -> Created:
        api_id = _random(10, string.ascii_lowercase + string.digits)
        root = _random(10, string.ascii_lowercase + string.digits)
        api = self.gateway.apis[api_id] = RestApi(api_id, self.account, self.region)
        api.policy = ResourcePolicy.of(p.get("Policy"), api.arn)  # what API Gateway admits
        self._api_paths = getattr(self, "_api_paths", {})
        self._api_paths[root] = "/"
        return Created(api_id, {"RootResourceId": root, "RestApiId": api_id})

    def _api_resource(self, logical: str, p: dict[str, Any]) -> Created:
        resource_id = _random(6, string.ascii_lowercase + string.digits)
        parent = self._api_paths[p["ParentId"]]
        self._api_paths[resource_id] = parent.rstrip("/") + "/" + p["PathPart"]
        return Created(resource_id, {"ResourceId": resource_id})

    def _api_method(self, logical: str, p: dict[str, Any]) -> Created:
        integration = p.get("Integration") or {}
        if p["HttpMethod"] == "OPTIONS" and integration.get("Type") == "MOCK":
            return self._preflight(logical, p, integration)
        if integration.get("Type") != "AWS_PROXY":
            raise DeployFailed(
                f"{logical}: only AWS_PROXY integrations are rehearsed, not {integration.get('Type')}"
            )
        if p.get("AuthorizationType") != "AWS_IAM":
            raise DeployFailed(
                f"{logical}: the API must require AWS_IAM auth, found {p.get('AuthorizationType')}"
            )
        function_arn = integration["Uri"].split("/functions/", 1)[1].removesuffix("/invocations")
        self.gateway.apis[p["RestApiId"]].methods.append(
            Method(self._api_paths[p["ResourceId"]], p["HttpMethod"], self.lambdas.by_arn(function_arn).name)
        )
        return Created(f"{logical}-{_random(6)}")

    def _preflight(self, logical: str, p: dict[str, Any], integration: dict[str, Any]) -> Created:
        """A CORS preflight: API Gateway answers it from the integration response, unsigned."""
        if p.get("AuthorizationType") != "NONE":
            raise DeployFailed(f"{logical}: a preflight must not require auth (browsers send none)")
        [response] = integration["IntegrationResponses"]
        headers = tuple(
            (name.removeprefix("method.response.header."), str(value).strip("'"))
            for name, value in (response.get("ResponseParameters") or {}).items()
        )
        self.gateway.apis[p["RestApiId"]].mocks.append(
            MockMethod(self._api_paths[p["ResourceId"]], "OPTIONS", int(response["StatusCode"]), headers)
        )
        return Created(f"{logical}-{_random(6)}")

    def _gateway_response(self, logical: str, p: dict[str, Any]) -> Created:
        """How API Gateway answers its own refusals (status, headers, body template)."""
        headers = tuple(
            (name.removeprefix("gatewayresponse.header."), str(value).strip("'"))
            for name, value in (p.get("ResponseParameters") or {}).items()
            if name.startswith("gatewayresponse.header.")
        )
        status = int(p["StatusCode"]) if p.get("StatusCode") else None
        template = (p.get("ResponseTemplates") or {}).get("application/json")
        self.gateway.apis[p["RestApiId"]].responses[p["ResponseType"]] = GatewayResponse(
            status, headers, template
        )
        return Created(f"{logical}-{_random(6)}")

    def _api_stage(self, logical: str, p: dict[str, Any]) -> Created:
        self.gateway.apis[p["RestApiId"]].stages.add(p["StageName"])
        return Created(p["StageName"])

    def _bucket_notifications(self, logical: str, p: dict[str, Any]) -> Created:
        configuration = p.get("NotificationConfiguration") or {}
        self.client("s3").put_bucket_notification_configuration(
            Bucket=p["BucketName"], NotificationConfiguration=configuration
        )
        return Created(f"{logical}-{_random(6)}")

    # -- the web console: files, sign-in, CloudFront -------------------------------------------

    def _bucket_deployment(self, logical: str, p: dict[str, Any]) -> Created:
        """CDK's BucketDeployment as its handler does it: each source's files (their deploy-time
        markers replaced, e.g. config.json's API URL and Cognito ids) into the bucket, with the
        system metadata; objects no source has are pruned. (Its handler runs the AWS CLI on
        CDK's own runtime; the rehearsal copies the same staged directories itself.)"""
        s3 = self.client("s3")
        bucket, prefix = p["DestinationBucketName"], p.get("DestinationBucketKeyPrefix", "")
        metadata = p.get("SystemMetadata") or {}
        written: set[str] = set()
        for index, key in enumerate(p["SourceObjectKeys"]):
            markers = (p.get("SourceMarkers") or [{}] * len(p["SourceObjectKeys"]))[index]
            source = self.assembly.assets[key]
            for path in sorted(f for f in source.rglob("*") if f.is_file()):
                data = path.read_bytes()
                for marker, value in markers.items():
                    data = data.replace(marker.encode(), str(value).encode())
                name = prefix + path.relative_to(source).as_posix()
                extra = {"ContentType": mimetypes.guess_type(name)[0] or "application/octet-stream"}
                if "cache-control" in metadata:
                    extra["CacheControl"] = metadata["cache-control"]
                s3.put_object(Bucket=bucket, Key=name, Body=data, **extra)
                written.add(name)
        if p.get("Prune", True):
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for item in page.get("Contents", []):
                    if item["Key"] not in written:
                        s3.delete_object(Bucket=bucket, Key=item["Key"])
        return Created(f"aws.cdk.s3deployment.{_random(8)}")

    def _user_pool(self, logical: str, p: dict[str, Any]) -> Created:
        policies = p.get("Policies") or {}
        pool = self.client("cognito-idp").create_user_pool(
            PoolName=p.get("UserPoolName") or self._name(logical),
            Policies=policies,
            UsernameAttributes=p.get("UsernameAttributes", []),
            AutoVerifiedAttributes=p.get("AutoVerifiedAttributes", []),
            MfaConfiguration=p.get("MfaConfiguration", "OFF"),
            AdminCreateUserConfig=p.get("AdminCreateUserConfig") or {},
        )["UserPool"]
        return Created(
            pool["Id"],
            {
                "Arn": pool["Arn"],
                "ProviderName": f"cognito-idp.{self.region}.amazonaws.com/{pool['Id']}",
                "ProviderURL": f"https://cognito-idp.{self.region}.amazonaws.com/{pool['Id']}",
            },
        )

    def _user_pool_client(self, logical: str, p: dict[str, Any]) -> Created:
        fields = (
            "GenerateSecret",
            "ExplicitAuthFlows",
            "AllowedOAuthFlows",
            "AllowedOAuthScopes",
            "AllowedOAuthFlowsUserPoolClient",
            "CallbackURLs",
            "LogoutURLs",
            "SupportedIdentityProviders",
            "PreventUserExistenceErrors",
        )
        client = self.client("cognito-idp").create_user_pool_client(
            UserPoolId=p["UserPoolId"],
            ClientName=p.get("ClientName") or logical,
            **{k: p[k] for k in fields if k in p},
        )["UserPoolClient"]
        return Created(client["ClientId"], {"ClientId": client["ClientId"], "Name": client["ClientName"]})

    def _user_pool_domain(self, logical: str, p: dict[str, Any]) -> Created:
        self.client("cognito-idp").create_user_pool_domain(Domain=p["Domain"], UserPoolId=p["UserPoolId"])
        return Created(p["Domain"], {"CloudFrontDistribution": f"{_random(12).lower()}.cloudfront.net"})

    def _identity_pool(self, logical: str, p: dict[str, Any]) -> Created:
        pool = self.client("cognito-identity").create_identity_pool(
            IdentityPoolName=p.get("IdentityPoolName") or logical,
            AllowUnauthenticatedIdentities=p["AllowUnauthenticatedIdentities"],
            AllowClassicFlow=p.get("AllowClassicFlow", False),
            CognitoIdentityProviders=p.get("CognitoIdentityProviders", []),
        )
        return Created(pool["IdentityPoolId"], {"Name": pool["IdentityPoolName"]})

    # moto has no CloudFront OAC, response headers policies or functions: each gets the identifiers
    # and attributes CloudFormation returns, so what references them resolves.
    def _distribution(self, logical: str, p: dict[str, Any]) -> Created:
        distribution_id = "E" + _random(13)
        return Created(
            distribution_id, {"Id": distribution_id, "DomainName": f"d{_random(13).lower()}.cloudfront.net"}
        )

    def _cloudfront_id(self, logical: str, p: dict[str, Any]) -> Created:
        identifier = _random(14)
        return Created(identifier, {"Id": identifier})

    def _cloudfront_function(self, logical: str, p: dict[str, Any]) -> Created:
        arn = f"arn:aws:cloudfront::{self.account}:function/{p['Name']}"
        return Created(arn, {"FunctionARN": arn, "FunctionMetadata.FunctionARN": arn, "Stage": "LIVE"})

    # -- custom resources ------------------------------------------------------------------------

    def _custom_resource(self, logical: str, kind: str, raw: dict[str, Any], request_type: str) -> Created:
        properties = self.resolve(raw)
        self.custom_properties[logical] = properties
        data = self.send_custom_request(logical, request_type, properties)
        return Created(data["PhysicalResourceId"], dict(data.get("Data") or {}))

    def send_custom_request(
        self,
        logical: str,
        request_type: str,
        properties: dict[str, Any],
        old_properties: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The request CloudFormation sends (through the CDK Provider framework's onEvent, which
        forwards it to the user's function); returns the merged response, as the framework does."""
        kind = self.template["Resources"][logical]["Type"]
        request_id = _random(8).lower() + "-rehearsal"
        request: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": properties["ServiceToken"],
            "ResponseURL": "https://cloudformation-custom-resource-response.invalid/",
            "StackId": self._pseudo("AWS::StackId"),
            "RequestId": request_id,
            "LogicalResourceId": logical,
            "ResourceType": kind,
            "ResourceProperties": properties,
        }
        if request_type != "Create":
            request["PhysicalResourceId"] = self.created[logical].physical_id
        if old_properties is not None:
            request["OldResourceProperties"] = old_properties
        function = self._provider_function(properties["ServiceToken"])
        done = self.lambdas.invoke(function.name, request)
        if done.error is not None:
            raise DeployFailed(
                f"{logical} ({kind}) {request_type} failed: {done.error.get('errorType')}: {done.error.get('errorMessage')}"
            )
        answer = dict(done.payload or {})
        physical = answer.get("PhysicalResourceId") or request.get("PhysicalResourceId") or request_id
        if request_type == "Delete" and physical != request["PhysicalResourceId"]:
            raise DeployFailed(f"{logical}: a Delete changed the physical id to {physical}")
        answer["PhysicalResourceId"] = physical
        return answer

    def _provider_function(self, service_token: str) -> LocalFunction:
        """The function that handles a custom resource: the Provider framework's user function."""
        name = service_token.split(":function:", 1)[1]
        configuration = self.client("lambda").get_function(FunctionName=name)["Configuration"]
        variables = (configuration.get("Environment") or {}).get("Variables") or {}
        user = variables.get("USER_ON_EVENT_FUNCTION_ARN")
        if user is not None:
            return self.lambdas.by_arn(user)
        if name in self.lambdas.functions:
            return self.lambdas.functions[name]
        raise DeployFailed(f"custom resource provider {service_token} is not a function the rehearsal runs")

    def recreate(self, logical: str) -> Created:
        """Create a deleted resource again from the template, and re-apply the resources that
        depend on it (as a deploy after its deletion would): returns the resource."""
        for name in [logical, *self.dependents(logical)]:
            resource = self.template["Resources"][name]
            self.created[name] = self._create(name, resource["Type"], resource.get("Properties", {}))
        return self.created[logical]

    def dependents(self, logical: str) -> list[str]:
        resources = self.template["Resources"]
        return [
            name
            for name in self._order()
            if name != logical and logical in _references(resources[name].get("Properties", {}))
        ]

    def update_custom_resource(self, logical: str, properties: dict[str, Any]) -> Created:
        old = self.custom_properties[logical]
        data = self.send_custom_request(logical, "Update", properties, old)
        self.custom_properties[logical] = properties
        self.created[logical] = Created(data["PhysicalResourceId"], dict(data.get("Data") or {}))
        return self.created[logical]

    def delete_custom_resource(self, logical: str) -> None:
        self.send_custom_request(logical, "Delete", self.custom_properties[logical])
        del self.created[logical]


def _lifecycle(configuration: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation's lifecycle rule shape -> the S3 API's."""
    rules = []
    for rule in configuration.get("Rules", []):
        converted: dict[str, Any] = {
            "ID": rule.get("Id", _random(8)),
            "Status": rule.get("Status", "Enabled"),
        }
        converted["Filter"] = {"Prefix": rule.get("Prefix", "")}
        if "ExpirationInDays" in rule:
            converted["Expiration"] = {"Days": rule["ExpirationInDays"]}
        if "AbortIncompleteMultipartUpload" in rule:
            converted["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            }
        rules.append(converted)
    return {"Rules": rules}


def copy_properties(properties: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(properties)
