"""Pipeline operations: create, update, delete, describe, list, versions and tags."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pipelines.api.ops import versions
from pipelines.api.ops.access import owner_of
from pipelines.api.ops.context import (
    Operations,
    list_query,
    page_of,
    parallelism,
    request_token,
    user_context,
)
from pipelines.api.wire import CallContext
from pipelines.definition import load_definition
from pipelines.engine.idempotency import DELETE_PIPELINE
from pipelines.engine.ids import pipeline_arn
from pipelines.engine.pipelines import delete_pipeline, refuse_deleting
from pipelines.errors import ResourceNotFound, ValidationError
from pipelines.objects import ObjectNotFound
from pipelines.store import (
    ListQuery,
    PipelineRecord,
    PipelineVersionRecord,
    RecordExists,
    RoleGrant,
    StaleWrite,
)

MAX_TAGS = 50
_UPDATE_ATTEMPTS = 10
CLOUDFORMATION_STACK_TAG = "selfhosted-pipelines:cloudformation-stack"
"""The tag the ``Pipeline`` construct's custom resource puts on the pipelines it manages (value:
the stack id). DeletePipeline refuses such a pipeline: deleting it behind CloudFormation's back
would leave the stack's resource and its rules pointing at nothing (drift)."""


class ManagedByStack(ValidationError):
    """DeletePipeline of a pipeline a CloudFormation stack declares."""

    def __init__(self, name: str, stack: str) -> None:
        super().__init__(
            f"Pipeline {name} is managed by CloudFormation stack {stack} (a Pipeline construct): "
            "remove it from that stack to delete it, or first remove its tag "
            f"{CLOUDFORMATION_STACK_TAG} (DeleteTags) to take it out of the stack's management."
        )


class PipelineExists(ValidationError):
    """The SDK's ``Pipeline.upsert`` relies on this exact wording ("already exists")."""

    def __init__(self, name: str) -> None:
        super().__init__(
            "Pipeline names must be unique within an AWS account and region. "
            f"Pipeline with name ({name}) already exists."
        )


class PipelineOperations:
    def __init__(self, ops: Operations) -> None:
        self.ops = ops

    # -- definitions ------------------------------------------------------------------------
    def definition_text(self, params: dict[str, Any], *, required: bool) -> str | None:
        """The definition sent inline or by S3 location (exactly one), validated."""
        inline = params.get("PipelineDefinition")
        location = params.get("PipelineDefinitionS3Location")
        if inline is not None and location is not None:
            raise ValidationError(
                "Specify either PipelineDefinition or PipelineDefinitionS3Location, not both."
            )
        if inline is None and location is None:
            if required:
                raise ValidationError(
                    "Either PipelineDefinition or PipelineDefinitionS3Location is required."
                )
            return None
        text = str(inline) if location is None else self._read_s3_definition(location)
        load_definition(text)
        return text

    def _read_s3_definition(self, location: dict[str, Any]) -> str:
        if location.get("VersionId"):
            raise ValidationError(
                "PipelineDefinitionS3Location.VersionId is not supported: object versions are not kept"
            )
        uri = f"s3://{location['Bucket']}/{location['ObjectKey']}"
        try:
            data = self.ops.objects.get(uri)
        except ObjectNotFound as exc:
            raise ValidationError(
                f"Could not read the pipeline definition from {uri}: no such object."
            ) from exc
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValidationError(f"The pipeline definition at {uri} is not UTF-8 text.") from exc

    # -- operations -------------------------------------------------------------------------
    def create_pipeline(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self.ops.idempotent("CreatePipeline", params, ctx, lambda: self._create(params, ctx))

    def _create(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        name = params["PipelineName"]
        definition = self.definition_text(params, required=True)
        assert definition is not None
        now = self.ops.clock.now()
        tags = list(params.get("Tags", []))
        record = PipelineRecord(
            name=name,
            arn=pipeline_arn(ctx.region, ctx.account_id, name),
            definition=definition,
            role_arn=params["RoleArn"],
            display_name=params.get("PipelineDisplayName", name),
            description=params.get("PipelineDescription"),
            parallelism=params.get("ParallelismConfiguration", {}).get("MaxParallelExecutionSteps"),
            tags=tags,
            created_at=now,
            modified_at=now,
            created_by={},
            modified_by={},
            aliases=versions.assign({}, params.get("PipelineVersionAliases", []), 1),
            role_grants=[RoleGrant(role_arn=params["RoleArn"], passed_by=ctx.caller, passed_at=now)],
        )
        version = PipelineVersionRecord(
            pipeline_name=name, pipeline_arn=record.arn, version_id=1, definition=definition, created_at=now
        )
        try:
            self.ops.store.create_pipeline(record, version)
        except RecordExists as exc:
            raise PipelineExists(name) from exc
        return {"PipelineArn": record.arn}

    def update_pipeline(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        definition = self.definition_text(params, required=False)
        for _ in range(_UPDATE_ATTEMPTS):
            current = refuse_deleting(self.ops.pipeline(params["PipelineName"], ctx, "UpdatePipeline"))
            now = self.ops.clock.now()
            changes: dict[str, Any] = {"modified_at": now, "modified_by": {}, "version": current.version + 1}
            if "PipelineDisplayName" in params:
                changes["display_name"] = params["PipelineDisplayName"]
            if "PipelineDescription" in params:
                changes["description"] = params["PipelineDescription"]
            if "RoleArn" in params:
                changes["role_arn"] = params["RoleArn"]
                changes["role_grants"] = current.with_grant(params["RoleArn"], ctx.caller, now)
            if "ParallelismConfiguration" in params:
                changes["parallelism"] = params["ParallelismConfiguration"]["MaxParallelExecutionSteps"]
            new_version = None
            if definition is not None and definition != current.definition:
                version_id = current.latest_version_id + 1
                changes.update(definition=definition, latest_version_id=version_id)
                new_version = PipelineVersionRecord(
                    pipeline_name=current.name,
                    pipeline_arn=current.arn,
                    version_id=version_id,
                    definition=definition,
                    created_at=now,
                    display_name=params.get("PipelineDisplayName"),
                    description=params.get("PipelineDescription"),
                    created_by={},
                )
            if "PipelineVersionAliases" in params:  # they name the version this update leaves current
                changes["aliases"] = versions.assign(
                    current.aliases,
                    params["PipelineVersionAliases"],
                    changes.get("latest_version_id", current.latest_version_id),
                )
            updated = current.model_copy(update=changes)
            try:
                self.ops.store.update_pipeline(updated, current.version, new_version)
            except StaleWrite:
                continue
            return {"PipelineArn": updated.arn, "PipelineVersionId": updated.latest_version_id}
        raise StaleWrite(f"Pipeline {params['PipelineName']} is being updated concurrently; try again.")

    def delete_pipeline(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """The ClientRequestToken is written in the record's delete (not after it), so the
        retry of a call that died after the delete gets the PipelineArn, as the first would
        have, not ResourceNotFound."""
        request = request_token(DELETE_PIPELINE, params, ctx)
        replay = None if request is None else request.replayed_answer(self.ops.store)
        if replay is not None:
            return replay
        try:
            record = self.ops.pipeline(params["PipelineName"], ctx, "DeletePipeline")
            stack = next((t["Value"] for t in record.tags if t.get("Key") == CLOUDFORMATION_STACK_TAG), None)
            if stack is not None:
                raise ManagedByStack(record.name, stack)
            return delete_pipeline(
                self.ops.store, record, self.ops.on_pipeline_deleted, request, self.ops.clock.now()
            )
        except ResourceNotFound:
            # a repeat of this request, racing it, may have deleted the pipeline first
            replay = None if request is None else request.replayed_answer(self.ops.store)
            if replay is None:
                raise
            return replay

    def describe_pipeline(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        record = self.ops.pipeline(params["PipelineName"], ctx, "DescribePipeline")
        result = self.describe_record(record)
        if record.last_run_at is None:
            newest = self.ops.store.list_executions(record.arn, ListQuery(limit=1)).items
            result["LastRunTime"] = newest[0].created_at if newest else None
        version_id = versions.requested_version(record, params)
        if version_id is not None:
            version = self.ops.store.get_pipeline_version(record.arn, version_id)
            if version is None:
                raise ResourceNotFound(f"Pipeline version {version_id} of {record.arn} does not exist.")
            result.update(
                PipelineDefinition=version.definition,
                PipelineVersionDisplayName=version.display_name,
                PipelineVersionDescription=version.description,
            )
        result["PipelineVersionAliases"] = versions.aliases_of(
            record, record.latest_version_id if version_id is None else version_id
        )
        return result

    @staticmethod
    def describe_record(record: PipelineRecord) -> dict[str, Any]:
        """DescribePipeline's answer for the latest version (also Search's Pipeline entity)."""
        return {
            **_pipeline_members(record),
            "PipelineDefinition": record.definition,
            "PipelineStatus": record.status,
            "LastRunTime": record.last_run_at,
            "CreatedBy": user_context(record.created_by),
            "LastModifiedBy": user_context(record.modified_by),
            "ParallelismConfiguration": parallelism(record.parallelism),
        }

    def list_pipelines(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        base = list_query(
            params, sort_by=params.get("SortBy", "CreationTime"), name_prefix=params.get("PipelineNamePrefix")
        )
        if params.get("ManagedBy") == "AWS":  # no pipeline here is managed by AWS
            return {"PipelineSummaries": []}
        summaries: list[dict[str, Any]] = []
        token = base.next_token
        # Other accounts' pipelines share the store: keep fetching until the page is full.
        while True:
            remaining = base.limit - len(summaries)
            page = self.ops.store.list_pipelines(replace(base, limit=remaining, next_token=token))
            summaries.extend(self._summary(p) for p in page.items if owner_of(p.arn) == ctx.account_id)
            token = page.next_token
            if token is None or len(summaries) >= base.limit:
                break
        return {"PipelineSummaries": summaries, "NextToken": token}

    @staticmethod
    def _summary(record: PipelineRecord) -> dict[str, Any]:
        return {**_pipeline_members(record), "LastExecutionTime": record.last_run_at}

    def list_pipeline_versions(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        record = self.ops.pipeline(params["PipelineName"], ctx, "ListPipelineVersions")
        page = self.ops.store.list_pipeline_versions(record.arn, list_query(params))
        executions = self.ops.store.list_executions(record.arn, ListQuery(limit=1000))
        last_run: dict[int, str] = {}
        for execution in executions.items:  # newest first: keep the first seen per version
            if execution.pipeline_version_id is not None:
                last_run.setdefault(execution.pipeline_version_id, execution.execution_arn)
        return {
            "PipelineVersionSummaries": [
                {
                    "PipelineArn": record.arn,
                    "PipelineVersionId": v.version_id,
                    "CreationTime": v.created_at,
                    "PipelineVersionDescription": v.description,
                    "PipelineVersionDisplayName": v.display_name,
                    "LastExecutionPipelineExecutionArn": last_run.get(v.version_id),
                    "PipelineVersionAliases": versions.aliases_of(record, v.version_id),
                }
                for v in page.items
            ],
            "NextToken": page.next_token,
        }

    def update_pipeline_version(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """A version's display name and description, and its aliases (Add moves an alias here;
        Remove takes off aliases this version has)."""
        version_id = int(params["PipelineVersionId"])
        operations = params.get("PipelineVersionAliasOperations", {})
        for _ in range(_UPDATE_ATTEMPTS):
            current = refuse_deleting(self.ops.pipeline(params["PipelineArn"], ctx, "UpdatePipelineVersion"))
            version = self.ops.store.get_pipeline_version(current.arn, version_id)
            if version is None:
                raise ResourceNotFound(f"Pipeline version {version_id} of {current.arn} does not exist.")
            aliases = versions.remove(current.aliases, operations.get("Remove", []), version_id)
            aliases = versions.assign(aliases, operations.get("Add", []), version_id)
            changed_version = None
            if "PipelineVersionDisplayName" in params or "PipelineVersionDescription" in params:
                changed_version = version.model_copy(
                    update={
                        "display_name": params.get("PipelineVersionDisplayName", version.display_name),
                        "description": params.get("PipelineVersionDescription", version.description),
                    }
                )
            updated = current.model_copy(
                update={
                    "aliases": aliases,
                    "modified_at": self.ops.clock.now(),
                    "modified_by": {},
                    "version": current.version + 1,
                }
            )
            try:
                self.ops.store.update_pipeline(updated, current.version, changed_version=changed_version)
            except StaleWrite:
                continue
            return {"PipelineArn": current.arn, "PipelineVersionId": version_id}
        raise StaleWrite(f"Pipeline {params['PipelineArn']} is being updated concurrently; try again.")

    # -- tags (the SDK's upsert reads and adds pipeline tags) --------------------------------------
    def _tagged(self, arn: str, ctx: CallContext, action: str) -> PipelineRecord:
        if ":pipeline/" not in arn or "/execution/" in arn:
            raise ValidationError(f"Tagging is supported for pipeline ARNs only, not {arn!r}.")
        return self.ops.pipeline(arn, ctx, action)

    def _retag(self, arn: str, ctx: CallContext, action: str, change: Any) -> list[dict[str, str]]:
        for _ in range(_UPDATE_ATTEMPTS):
            record = refuse_deleting(self._tagged(arn, ctx, action))
            tags = change(list(record.tags))
            if len(tags) > MAX_TAGS:
                raise ValidationError(f"A pipeline can have at most {MAX_TAGS} tags.")
            updated = record.model_copy(update={"tags": tags, "version": record.version + 1})
            try:
                self.ops.store.update_pipeline(updated, record.version)
            except StaleWrite:
                continue
            return tags
        raise StaleWrite(f"Pipeline {arn} is being updated concurrently; try again.")

    def list_tags(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        record = self._tagged(params["ResourceArn"], ctx, "ListTags")
        tags, token = page_of(record.tags, {"MaxResults": 50, **params}, f"tags:{record.arn}")
        return {"Tags": tags, "NextToken": token}

    def add_tags(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        new = {t["Key"]: t for t in params["Tags"]}

        def merge(tags: list[dict[str, str]]) -> list[dict[str, str]]:
            return [t for t in tags if t["Key"] not in new] + list(new.values())

        self._retag(params["ResourceArn"], ctx, "AddTags", merge)
        return {"Tags": params["Tags"]}

    def delete_tags(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        keys = set(params["TagKeys"])
        self._retag(
            params["ResourceArn"], ctx, "DeleteTags", lambda tags: [t for t in tags if t["Key"] not in keys]
        )
        return {}


def _pipeline_members(record: PipelineRecord) -> dict[str, Any]:
    """The members DescribePipeline and a PipelineSummary share."""
    return {
        "PipelineArn": record.arn,
        "PipelineName": record.name,
        "PipelineDisplayName": record.display_name or record.name,
        "PipelineDescription": record.description,
        "RoleArn": record.role_arn,
        "CreationTime": record.created_at,
        "LastModifiedTime": record.modified_at,
    }
