"""The model registry on the wire: models (Create/Describe/List/Delete), model package groups and
model packages (Create/Describe/List/Update/Delete).

Records are the local registry's (:class:`pipelines.registry.ModelRegistry`), the same ones a
pipeline's Model and RegisterModel steps write. An UpdateModelPackage that changes the approval
status announces it with SageMaker's "Model Package State Change" event, so whatever acts on
approvals (a rule that deploys, a notification) works as with the service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pipelines.api.ops.context import Operations, page_of
from pipelines.api.ops.jobs import epoch_ms as _ms
from pipelines.api.wire import CallContext, Handler
from pipelines.events import StatusEvent, model_package_event
from pipelines.registry import ModelRegistry

Publish = Callable[[Sequence[StatusEvent]], None]


def listed(
    items: list[dict[str, Any]], params: dict[str, Any], name_member: str, listing: str
) -> tuple[list[dict[str, Any]], str | None]:
    """NameContains, CreationTimeAfter/Before, SortBy Name|CreationTime and paging."""
    contains = (params.get("NameContains") or "").lower()
    after, before = _ms(params.get("CreationTimeAfter")), _ms(params.get("CreationTimeBefore"))
    kept = []
    for item in items:
        created = _ms(item.get("CreationTime")) or 0
        if contains and contains not in str(item.get(name_member, "")).lower():
            continue
        if (after is not None and created <= after) or (before is not None and created >= before):
            continue
        kept.append(item)
    if params.get("SortBy") == "Name":
        kept.sort(key=lambda i: str(i.get(name_member, "")))
    else:
        kept.sort(key=lambda i: (_ms(i.get("CreationTime")) or 0, str(i.get(name_member, ""))))
    if params.get("SortOrder", "Descending") == "Descending":
        kept.reverse()
    return page_of(kept, params, listing)


class RegistryOperations:
    def __init__(self, ops: Operations, registry: ModelRegistry, publish: Publish) -> None:
        self.ops = ops
        self.registry = registry
        self.publish = publish

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateModel": self.create_model,
            "DescribeModel": lambda p, c: self.registry.describe_model(p["ModelName"]),
            "ListModels": self.list_models,
            "DeleteModel": self.delete_model,
            "CreateModelPackageGroup": self.create_model_package_group,
            "DescribeModelPackageGroup": lambda p, c: {
                "CreatedBy": {},  # required by the model; the local registry knows no IAM identity
                **self.registry.describe_model_package_group(p["ModelPackageGroupName"]),
            },
            "ListModelPackageGroups": self.list_model_package_groups,
            "DeleteModelPackageGroup": self.delete_model_package_group,
            "CreateModelPackage": self.create_model_package,
            "DescribeModelPackage": lambda p, c: self.registry.describe_model_package(p["ModelPackageName"]),
            "ListModelPackages": self.list_model_packages,
            "UpdateModelPackage": self.update_model_package,
            "DeleteModelPackage": self.delete_model_package,
        }

    # -- models --------------------------------------------------------------------------------
    def create_model(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """CreateModel (what the SDK's ``model.deploy()`` calls first): a local registry model
        that endpoints serve and transform jobs use."""
        record = self.registry.create_model({k: v for k, v in params.items() if k != "Tags"})
        return {"ModelArn": record["ModelArn"]}

    def list_models(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        page, token = listed(self.registry.list_models(), params, "ModelName", "ListModels")
        return {"Models": page, "NextToken": token}

    def delete_model(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.registry.delete_model(params["ModelName"])
        return {}

    # -- groups --------------------------------------------------------------------------------
    def create_model_package_group(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        record = self.registry.create_model_package_group(
            params["ModelPackageGroupName"], params.get("ModelPackageGroupDescription")
        )
        return {"ModelPackageGroupArn": record["ModelPackageGroupArn"]}

    def list_model_package_groups(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        page, token = listed(
            self.registry.list_model_package_groups(),
            params,
            "ModelPackageGroupName",
            "ListModelPackageGroups",
        )
        return {"ModelPackageGroupSummaryList": page, "NextToken": token}

    def delete_model_package_group(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.registry.delete_model_package_group(params["ModelPackageGroupName"])
        return {}

    # -- packages ------------------------------------------------------------------------------
    def create_model_package(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        request = {k: v for k, v in params.items() if k != "Tags"}
        record = self.registry.create_model_package(request)
        return {"ModelPackageArn": record["ModelPackageArn"]}

    def list_model_packages(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        group = params.get("ModelPackageGroupName")
        if group is not None:
            self.registry.describe_model_package_group(str(group).rpartition("/")[2])
        items = self.registry.list_model_packages(str(group).rpartition("/")[2] if group else None)
        status = params.get("ModelApprovalStatus")
        kind = params.get("ModelPackageType", "Both")
        items = [
            i
            for i in items
            if (status is None or i.get("ModelApprovalStatus") == status)
            and (kind == "Both" or (kind == "Versioned") == (i.get("ModelPackageVersion") is not None))
        ]
        page, token = listed(items, params, "ModelPackageName", f"ListModelPackages:{group}")
        return {"ModelPackageSummaryList": page, "NextToken": token}

    def update_model_package(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        before, after = self.registry.update_model_package(params)
        changed = sorted(
            k for k in set(before) | set(after) if k != "LastModifiedTime" and before.get(k) != after.get(k)
        )
        if "ModelApprovalStatus" in changed:
            self.publish([model_package_event(after, changed, ctx.account_id, ctx.region, datetime.now(UTC))])
        return {"ModelPackageArn": after["ModelPackageArn"]}

    def delete_model_package(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.registry.delete_model_package(params["ModelPackageName"])
        return {}


def registry_handlers(ops: Operations, registry: ModelRegistry, publish: Publish) -> dict[str, Handler]:
    return RegistryOperations(ops, registry, publish).handlers()
