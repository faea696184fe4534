"""The ``Pipeline`` custom resource: a pipeline, its tags, shares and schedules, kept as declared.

CloudFormation sends Create, Update and Delete; each becomes calls of the deployment's own API
(:func:`pipelines.deploy.clients.api_clients`), exactly what a user's boto3 would send, so the
API's validation, versioning and cleanup apply unchanged:

* Create: CreatePipeline (idempotent on the request id), then the shares (RAM
  CreateResourceShare, one per declared share) and the schedules (Scheduler CreateSchedule).
* Update: UpdatePipeline -- a changed definition publishes a new pipeline version -- then the
  tag, share and schedule differences. A new pipeline name is a replacement: the new pipeline
  is created and CloudFormation deletes the old one afterwards.
* Delete: the declared schedules and shares, then DeletePipeline (which also drops any other
  schedule targeting it). Already-gone resources are not an error.

The pipeline carries the tag ``selfhosted-pipelines:cloudformation-stack`` (the stack id), set
on Create and Update; the API refuses DeletePipeline for such a pipeline, so only the stack
deletes it (its Delete removes the tag first), and the stack's rules never lose their targets
behind CloudFormation's back.

The physical id is the pipeline ARN; ``PipelineArn``, ``PipelineName`` and ``PipelineVersionId``
are returned as attributes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from pipelines.api.ops.pipelines import CLOUDFORMATION_STACK_TAG
from pipelines.api.ram import permission_arn
from pipelines.deploy.clients import ApiClients
from pipelines.errors import ValidationError

log = logging.getLogger(__name__)

SPEC_PROPERTY = "Pipeline"
"""The one resource property: the spec as JSON text (CloudFormation turns other types into strings)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


Permission = Literal[
    "AWSRAMDefaultPermissionSageMakerPipeline", "AWSRAMPermissionSageMakerPipelineAllowExecution"
]


class ShareSpec(_Model):
    name: str = Field(alias="Name", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    accounts: list[str] = Field(alias="Accounts", min_length=1)
    permission: Permission = Field(alias="Permission", default="AWSRAMDefaultPermissionSageMakerPipeline")


class ScheduleSpec(_Model):
    name: str = Field(alias="Name", pattern=r"^[0-9a-zA-Z-_.]{1,64}$")
    expression: str = Field(alias="ScheduleExpression")
    timezone: str | None = Field(alias="ScheduleExpressionTimezone", default=None)
    start_date: datetime | None = Field(alias="StartDate", default=None)
    end_date: datetime | None = Field(alias="EndDate", default=None)
    state: Literal["ENABLED", "DISABLED"] = Field(alias="State", default="ENABLED")
    description: str | None = Field(alias="Description", default=None)
    parameters: dict[str, str] = Field(alias="Parameters", default_factory=dict)
    role_arn: str = Field(alias="RoleArn")

    def request(self, pipeline_arn: str) -> dict[str, Any]:
        request: dict[str, Any] = {
            "Name": self.name,
            "ScheduleExpression": self.expression,
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "State": self.state,
            "Target": {
                "Arn": pipeline_arn,
                "RoleArn": self.role_arn,
                "SageMakerPipelineParameters": {
                    "PipelineParameterList": [{"Name": k, "Value": v} for k, v in self.parameters.items()]
                },
            },
        }
        optional = {
            "ScheduleExpressionTimezone": self.timezone,
            "StartDate": self.start_date,
            "EndDate": self.end_date,
            "Description": self.description,
        }
        request.update({k: v for k, v in optional.items() if v is not None})
        return request


class PipelineSpec(_Model):
    pipeline_name: str = Field(alias="PipelineName", pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}$")
    definition: str = Field(alias="PipelineDefinition")
    role_arn: str = Field(alias="RoleArn")
    display_name: str | None = Field(alias="PipelineDisplayName", default=None)
    description: str | None = Field(alias="PipelineDescription", default=None)
    parallelism: int | None = Field(alias="MaxParallelExecutionSteps", default=None, ge=1)
    tags: dict[str, str] = Field(alias="Tags", default_factory=dict)
    shares: list[ShareSpec] = Field(alias="Shares", default_factory=list)
    schedules: list[ScheduleSpec] = Field(alias="Schedules", default_factory=list)

    def to_property(self) -> str:
        return json.dumps(self.model_dump(by_alias=True, exclude_none=True, mode="json"), sort_keys=True)

    def share_name(self, share: ShareSpec) -> str:
        return f"pipeline-{self.pipeline_name}-{share.name}"


class InvalidResourceRequest(ValidationError):
    """The custom resource was sent something the Pipeline construct never sends."""


def parse_spec(properties: Mapping[str, Any] | None) -> PipelineSpec | None:
    if not properties:
        return None
    text = properties.get(SPEC_PROPERTY)
    if not isinstance(text, str):
        raise InvalidResourceRequest(
            f"the resource property {SPEC_PROPERTY} (the pipeline spec as JSON) is missing"
        )
    return PipelineSpec.model_validate_json(text)


def _token(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class PipelineResource:
    """Carries out the custom resource's requests against one deployment's API."""

    def __init__(self, clients: ApiClients) -> None:
        self.clients = clients

    def on_event(self, event: Mapping[str, Any]) -> dict[str, Any]:
        request_type = event.get("RequestType")
        spec = parse_spec(event.get("ResourceProperties"))
        if spec is None:
            raise InvalidResourceRequest("the resource has no properties")
        stack = str(event.get("StackId") or "")
        if request_type == "Create":
            return self.create(spec, str(event.get("RequestId", "")), stack)
        if request_type == "Update":
            old = parse_spec(event.get("OldResourceProperties"))
            arn = str(event["PhysicalResourceId"])
            return self.update(spec, old, arn, str(event.get("RequestId", "")), stack)
        if request_type == "Delete":
            self.delete(spec, str(event.get("PhysicalResourceId", "")))
            return {"PhysicalResourceId": event.get("PhysicalResourceId")}
        raise InvalidResourceRequest(f"unknown RequestType {request_type!r}")

    # -- create ------------------------------------------------------------------------------------
    def create(self, spec: PipelineSpec, request_id: str, stack: str = "") -> dict[str, Any]:
        request: dict[str, Any] = {
            "PipelineName": spec.pipeline_name,
            "PipelineDefinition": spec.definition,
            "RoleArn": spec.role_arn,
            "ClientRequestToken": _token("create", spec.pipeline_name, request_id),
        }
        request.update(self._optional(spec))
        tags = [{"Key": k, "Value": v} for k, v in spec.tags.items()]
        if stack:
            tags.append({"Key": CLOUDFORMATION_STACK_TAG, "Value": stack})
        if tags:
            request["Tags"] = tags
        arn = str(self.clients.sagemaker.create_pipeline(**request)["PipelineArn"])
        # A retried Create replays CreatePipeline (same token); shares and schedules that the
        # first attempt made are kept rather than duplicated.
        for share in spec.shares:
            if not self._find_shares(spec, share):
                self._create_share(spec, share, arn)
        for schedule in spec.schedules:
            self._put_schedule(schedule, arn, exists=False)
        return self._result(spec, arn, 1)

    @staticmethod
    def _optional(spec: PipelineSpec) -> dict[str, Any]:
        optional: dict[str, Any] = {}
        if spec.display_name is not None:
            optional["PipelineDisplayName"] = spec.display_name
        if spec.description is not None:
            optional["PipelineDescription"] = spec.description
        if spec.parallelism is not None:
            optional["ParallelismConfiguration"] = {"MaxParallelExecutionSteps": spec.parallelism}
        return optional

    @staticmethod
    def _result(spec: PipelineSpec, arn: str, version: int) -> dict[str, Any]:
        return {
            "PhysicalResourceId": arn,
            "Data": {
                "PipelineArn": arn,
                "PipelineName": spec.pipeline_name,
                "PipelineVersionId": str(version),
            },
        }

    # -- update ------------------------------------------------------------------------------------
    def update(
        self, spec: PipelineSpec, old: PipelineSpec | None, arn: str, request_id: str, stack: str = ""
    ) -> dict[str, Any]:
        if old is None or old.pipeline_name != spec.pipeline_name:
            # A replacement: CloudFormation deletes the old pipeline afterwards. Its schedules go
            # first, since the new pipeline's schedules may reuse their names.
            for schedule in old.schedules if old is not None else []:
                self._delete_schedule(schedule.name)
            return self.create(spec, request_id, stack)
        request: dict[str, Any] = {
            "PipelineName": spec.pipeline_name,
            "PipelineDefinition": spec.definition,
            "RoleArn": spec.role_arn,
        }
        request.update(self._optional(spec))
        version = int(self.clients.sagemaker.update_pipeline(**request).get("PipelineVersionId", 1))
        self._retag(spec, old, arn)
        if stack:  # also marks pipelines created before the tag existed
            self.clients.sagemaker.add_tags(
                ResourceArn=arn, Tags=[{"Key": CLOUDFORMATION_STACK_TAG, "Value": stack}]
            )
        self._reshare(spec, old, arn)
        self._reschedule(spec, old, arn)
        return self._result(spec, arn, version)

    def _retag(self, spec: PipelineSpec, old: PipelineSpec, arn: str) -> None:
        removed = [k for k in old.tags if k not in spec.tags]
        changed = [{"Key": k, "Value": v} for k, v in spec.tags.items() if old.tags.get(k) != v]
        if removed:
            self.clients.sagemaker.delete_tags(ResourceArn=arn, TagKeys=removed)
        if changed:
            self.clients.sagemaker.add_tags(ResourceArn=arn, Tags=changed)

    def _reshare(self, spec: PipelineSpec, old: PipelineSpec, arn: str) -> None:
        before = {s.name: s for s in old.shares}
        after = {s.name: s for s in spec.shares}
        for name, share in before.items():
            if after.get(name) != share:
                self._delete_share(old, share)
        for name, share in after.items():
            if before.get(name) != share:
                self._create_share(spec, share, arn)

    def _reschedule(self, spec: PipelineSpec, old: PipelineSpec, arn: str) -> None:
        after = {s.name: s for s in spec.schedules}
        for schedule in old.schedules:
            if schedule.name not in after:
                self._delete_schedule(schedule.name)
        before = {s.name for s in old.schedules}
        for schedule in spec.schedules:
            self._put_schedule(schedule, arn, exists=schedule.name in before)

    # -- delete ------------------------------------------------------------------------------------
    def delete(self, spec: PipelineSpec, arn: str) -> None:
        if not arn.startswith("arn:"):
            return  # the create failed before a pipeline existed
        for schedule in spec.schedules:
            self._delete_schedule(schedule.name, only_for=arn)
        for share in spec.shares:
            self._delete_share(spec, share)
        try:
            self.clients.sagemaker.delete_tags(ResourceArn=arn, TagKeys=[CLOUDFORMATION_STACK_TAG])
            self.clients.sagemaker.delete_pipeline(
                PipelineName=spec.pipeline_name, ClientRequestToken=_token("delete", arn)
            )
        except ClientError as exc:
            if _code(exc) != "ResourceNotFound":
                raise
            log.info("pipeline %s was already gone: %s", arn, exc)

    # -- shares and schedules ----------------------------------------------------------------------
    def _create_share(self, spec: PipelineSpec, share: ShareSpec, arn: str) -> None:
        self.clients.ram.create_resource_share(
            name=spec.share_name(share),
            resourceArns=[arn],
            principals=list(share.accounts),
            permissionArns=[permission_arn(share.permission)],
            allowExternalPrincipals=True,
        )

    def _find_shares(self, spec: PipelineSpec, share: ShareSpec) -> list[str]:
        found = self.clients.ram.get_resource_shares(
            resourceOwner="SELF", name=spec.share_name(share), resourceShareStatus="ACTIVE"
        )
        return [str(s["resourceShareArn"]) for s in found.get("resourceShares", [])]

    def _delete_share(self, spec: PipelineSpec, share: ShareSpec) -> None:
        for arn in self._find_shares(spec, share):
            self.clients.ram.delete_resource_share(resourceShareArn=arn)

    def _put_schedule(self, schedule: ScheduleSpec, pipeline_arn: str, *, exists: bool) -> None:
        """Create or update, whichever the schedule's current state needs (as the SDK's upsert)."""
        request = schedule.request(pipeline_arn)
        first, second = (
            (self.clients.scheduler.update_schedule, self.clients.scheduler.create_schedule)
            if exists
            else (self.clients.scheduler.create_schedule, self.clients.scheduler.update_schedule)
        )
        try:
            first(**request)
        except ClientError as exc:
            if _code(exc) not in ("ResourceNotFoundException", "ConflictException"):
                raise
            second(**request)

    def _delete_schedule(self, name: str, *, only_for: str | None = None) -> None:
        """Delete a schedule (if it still targets ``only_for``: after a rename the new pipeline
        may have taken the name over)."""
        try:
            if only_for is not None:
                target = self.clients.scheduler.get_schedule(Name=name)["Target"]["Arn"]
                if target.lower() != only_for.lower():
                    return
            self.clients.scheduler.delete_schedule(Name=name)
        except ClientError as exc:
            if _code(exc) != "ResourceNotFoundException":
                raise


__all__ = [
    "SPEC_PROPERTY",
    "InvalidResourceRequest",
    "PipelineResource",
    "PipelineSpec",
    "ScheduleSpec",
    "ShareSpec",
    "parse_spec",
]
