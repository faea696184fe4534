"""The AWS RAM subset for sharing pipelines across accounts.

An owner shares pipelines with account ids under one of the two managed SageMaker pipeline
permissions; each account gets an invitation and may act on the pipelines (and all their
executions) only after accepting it, and then only with the permission's actions (see
:mod:`pipelines.api.ops.access`). :class:`ResourceShares` is both the RAM operations and the
:class:`~pipelines.api.ops.access.SharingPolicy` the SageMaker operations consult.

Refused rather than ignored: organization or role principals, ``sources``, customer-managed or
templated permissions, resource types other than pipelines, and pipelines that do not exist or are
being deleted (UnknownResourceException). A share written while its pipeline's DeletePipeline
runs is undone (the new share deleted, an association taken back) by its own check after the
write (:func:`pipelines.engine.pipelines.attach`); DeletePipeline takes the pipeline out of
every share (:meth:`ResourceShares.forget_resource`).
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from pipelines.api.errors import ServiceError
from pipelines.api.ops.access import PERMISSION_ACTIONS, READ_ONLY_PERMISSION, owner_of
from pipelines.api.ops.context import page_of
from pipelines.api.ram_storage import ShareStorage
from pipelines.api.wire import CallContext, Handler
from pipelines.engine import Clock, SystemClock
from pipelines.engine.pipelines import attach
from pipelines.store import PipelineRecord, Store

RESOURCE_TYPE = "sagemaker:Pipeline"
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_PIPELINE_ARN = re.compile(r"^arn:aws[a-z-]*:sagemaker:[a-z0-9-]+:\d{12}:pipeline/[^/]+$")


def permission_arn(name: str) -> str:
    return f"arn:aws:ram::aws:permission/{name}"


PERMISSIONS_BY_ARN = {permission_arn(name): name for name in PERMISSION_ACTIONS}


def unknown(what: str) -> ServiceError:
    return ServiceError("UnknownResourceException", f"{what} could not be found.")


def invalid(message: str) -> ServiceError:
    return ServiceError("InvalidParameterException", message)


class ResourceShares:
    """The RAM operations and the sharing policy over a :class:`ShareStorage`
    (:class:`~pipelines.api.ram_storage.SqliteShareStorage` locally, DynamoDB deployed)."""

    def __init__(self, storage: ShareStorage, pipelines: Store, *, clock: Clock | None = None) -> None:
        self.storage = storage
        self.pipelines = pipelines
        """Where the shared pipelines are: a pipeline must exist, and not be being deleted, to be
        shared (RAM shares existing resources only; a share of a name with no pipeline would
        grant access to whichever pipeline is created under it later)."""
        self._lock = threading.RLock()
        self.clock = clock or SystemClock()

    def _share(self, arn: str) -> dict[str, Any]:
        share = self.storage.get_share(arn)
        if share is None:
            raise unknown(f"Resource share {arn}")
        return share

    # -- the sharing policy -----------------------------------------------------------------
    def shared_actions(self, account_id: str, pipeline_arn: str) -> frozenset[str]:
        return self.shared_pipelines(account_id).get(pipeline_arn.lower(), frozenset())

    def shared_pipelines(self, account_id: str) -> Mapping[str, frozenset[str]]:
        granted: dict[str, frozenset[str]] = {}
        with self._lock:
            shares = self.storage.shares()
        for share in shares:
            if share["status"] != "ACTIVE" or share["principals"].get(account_id) != "ACCEPTED":
                continue
            actions = PERMISSION_ACTIONS[share["permission"]]
            for resource in share["resources"]:
                granted[resource.lower()] = granted.get(resource.lower(), frozenset()) | actions
        return granted

    def forget_resource(self, pipeline_arn: str) -> None:
        """A deleted pipeline leaves every share it was in."""
        with self._lock:
            for share in self.storage.shares():
                kept = [r for r in share["resources"] if r.lower() != pipeline_arn.lower()]
                if len(kept) != len(share["resources"]):
                    share["resources"] = kept
                    self.storage.put_share(share)

    # -- shaping ----------------------------------------------------------------------------
    @staticmethod
    def _share_view(share: dict[str, Any]) -> dict[str, Any]:
        return {
            "resourceShareArn": share["arn"],
            "name": share["name"],
            "owningAccountId": share["owner"],
            "allowExternalPrincipals": share["allowExternalPrincipals"],
            "status": share["status"],
            "tags": share["tags"],
            "creationTime": _moment(share["created"]),
            "lastUpdatedTime": _moment(share["updated"]),
            "featureSet": "STANDARD",
        }

    @staticmethod
    def _associations(
        share: dict[str, Any], resources: list[str], principals: list[str]
    ) -> list[dict[str, Any]]:
        now = _moment(share["updated"])
        out = [
            {
                "resourceShareArn": share["arn"],
                "resourceShareName": share["name"],
                "associatedEntity": arn,
                "associationType": "RESOURCE",
                "status": "ASSOCIATED" if arn in share["resources"] else "DISASSOCIATED",
                "creationTime": now,
                "lastUpdatedTime": now,
                "external": False,
            }
            for arn in resources
        ]
        for account in principals:
            state = share["principals"].get(account)
            out.append(
                {
                    "resourceShareArn": share["arn"],
                    "resourceShareName": share["name"],
                    "associatedEntity": account,
                    "associationType": "PRINCIPAL",
                    "status": {"ACCEPTED": "ASSOCIATED", "PENDING": "ASSOCIATING", None: "DISASSOCIATED"}.get(
                        state, "FAILED"
                    ),
                    "creationTime": now,
                    "lastUpdatedTime": now,
                    "external": True,
                }
            )
        return out

    @staticmethod
    def _invitation_view(invitation: dict[str, Any]) -> dict[str, Any]:
        return {
            "resourceShareInvitationArn": invitation["arn"],
            "resourceShareName": invitation["share_name"],
            "resourceShareArn": invitation["share_arn"],
            "senderAccountId": invitation["sender"],
            "receiverAccountId": invitation["receiver"],
            "invitationTimestamp": _moment(invitation["created"]),
            "status": invitation["status"],
        }

    # -- validation -------------------------------------------------------------------------
    def _check_resources(self, resources: list[str], ctx: CallContext) -> list[PipelineRecord]:
        """The pipelines ``resources`` name, each one the caller owns and that exists (and is
        not being deleted)."""
        self._check_arns(resources, ctx)
        found = []
        for arn in resources:
            record = self.pipelines.get_pipeline(arn)
            if record is None or record.status != "Active":
                raise unknown(f"Resource {arn}")
            found.append(record)
        return found

    @staticmethod
    def _check_arns(resources: list[str], ctx: CallContext) -> None:
        for arn in resources:
            if not _PIPELINE_ARN.match(arn):
                if arn.startswith("arn:"):
                    raise ServiceError(
                        "InvalidResourceTypeException",
                        f"{arn} is not a SageMaker pipeline; only pipelines are shared here",
                    )
                raise ServiceError("MalformedArnException", f"The format of the ARN {arn} is not valid.")
            if owner_of(arn) != ctx.account_id:
                raise ServiceError(
                    "OperationNotPermittedException", f"You can only share resources you own: {arn}"
                )

    @staticmethod
    def _check_principals(principals: list[str], ctx: CallContext) -> None:
        for principal in principals:
            if not _ACCOUNT_ID.match(principal):
                raise invalid(f"Principal {principal} is not supported: share with 12-digit account ids")
            if principal == ctx.account_id:
                raise invalid("You cannot share a resource with your own account")

    @staticmethod
    def _refuse(params: dict[str, Any], *members: str) -> None:
        for member in members:
            if params.get(member):
                raise invalid(f"{member} is not supported by this RAM subset")

    def _invite(self, share: dict[str, Any], principals: list[str]) -> None:
        for account in principals:
            if share["principals"].get(account) in ("PENDING", "ACCEPTED"):
                continue
            share["principals"][account] = "PENDING"
            self.storage.put_invitation(
                {
                    "arn": f"arn:aws:ram:{share['region']}:{share['owner']}:resource-share-invitation/{uuid.uuid4()}",
                    "share_arn": share["arn"],
                    "share_name": share["name"],
                    "sender": share["owner"],
                    "receiver": account,
                    "status": "PENDING",
                    "created": self.clock.now().timestamp(),
                }
            )

    # -- operations -------------------------------------------------------------------------
    def create_resource_share(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._refuse(params, "sources", "permissionTemplateParameters", "resourceShareConfiguration")
        resources = list(params.get("resourceArns", []))
        principals = list(params.get("principals", []))
        pipelines = self._check_resources(resources, ctx)
        self._check_principals(principals, ctx)
        permissions = list(params.get("permissionArns", [permission_arn(READ_ONLY_PERMISSION)]))
        if len(permissions) != 1 or permissions[0] not in PERMISSIONS_BY_ARN:
            raise invalid(f"permissionArns must name exactly one of {', '.join(sorted(PERMISSIONS_BY_ARN))}")
        now = self.clock.now().timestamp()
        share = {
            "arn": f"arn:aws:ram:{ctx.region}:{ctx.account_id}:resource-share/{uuid.uuid4()}",
            "name": params["name"],
            "owner": ctx.account_id,
            "region": ctx.region,
            "allowExternalPrincipals": params.get("allowExternalPrincipals", True),
            "status": "ACTIVE",
            "permission": PERMISSIONS_BY_ARN[permissions[0]],
            "resources": resources,
            "principals": {},
            "tags": list(params.get("tags", [])),
            "created": now,
            "updated": now,
        }

        def create() -> None:
            self._invite(share, principals)
            self.storage.put_share(share)

        def undo() -> None:  # a shared pipeline is going: the share is deleted at once
            share.update(status="DELETED", resources=[], updated=self.clock.now().timestamp())
            self.storage.put_share(share)

        with self._lock:  # written, then the pipelines checked again (pipelines.engine.pipelines.attach)
            attach(self.pipelines, pipelines, create, undo, self._unshareable)
        return {"resourceShare": self._share_view(share), "clientToken": params.get("clientToken")}

    @staticmethod
    def _unshareable(pipeline: PipelineRecord) -> ServiceError:
        return unknown(f"Resource {pipeline.arn}")

    def get_resource_shares(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._refuse(params, "tagFilters")
        owner = params["resourceOwner"]
        if owner not in ("SELF", "OTHER-ACCOUNTS"):
            raise invalid("resourceOwner must be SELF or OTHER-ACCOUNTS")
        with self._lock:
            shares = self.storage.shares()
        selected = []
        for share in shares:
            mine = share["owner"] == ctx.account_id
            if owner == "SELF" and not mine:
                continue
            if owner == "OTHER-ACCOUNTS" and share["principals"].get(ctx.account_id) != "ACCEPTED":
                continue
            if params.get("resourceShareArns") and share["arn"] not in params["resourceShareArns"]:
                continue
            if params.get("resourceShareStatus") and share["status"] != params["resourceShareStatus"]:
                continue
            if params.get("name") and share["name"] != params["name"]:
                continue
            if params.get("permissionArn") and permission_arn(share["permission"]) != params["permissionArn"]:
                continue
            selected.append(self._share_view(share))
        items, token = page_of(selected, _paging(params), f"shares:{ctx.account_id}:{owner}")
        return {"resourceShares": items, "nextToken": token}

    def get_resource_share_invitations(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        with self._lock:
            invitations = self.storage.invitations()
        wanted = set(params.get("resourceShareInvitationArns", []))
        shares = set(params.get("resourceShareArns", []))
        selected = [
            self._invitation_view(i)
            for i in invitations
            if ctx.account_id in (i["receiver"], i["sender"])
            and (not wanted or i["arn"] in wanted)
            and (not shares or i["share_arn"] in shares)
        ]
        if wanted and not selected:
            raise ServiceError(
                "ResourceShareInvitationArnNotFoundException",
                f"Invitations {sorted(wanted)} could not be found.",
            )
        items, token = page_of(selected, _paging(params), f"invitations:{ctx.account_id}")
        return {"resourceShareInvitations": items, "nextToken": token}

    def _answer(self, params: dict[str, Any], ctx: CallContext, status: str) -> dict[str, Any]:
        arn = params["resourceShareInvitationArn"]
        with self._lock:
            invitation = next((i for i in self.storage.invitations() if i["arn"] == arn), None)
            if invitation is None or invitation["receiver"] != ctx.account_id:
                raise ServiceError(
                    "ResourceShareInvitationArnNotFoundException", f"Invitation {arn} could not be found."
                )
            if invitation["status"] == "ACCEPTED":
                raise ServiceError(
                    "ResourceShareInvitationAlreadyAcceptedException",
                    f"Invitation {arn} was already accepted.",
                )
            if invitation["status"] == "REJECTED":
                raise ServiceError(
                    "ResourceShareInvitationAlreadyRejectedException",
                    f"Invitation {arn} was already rejected.",
                )
            share = self._share(invitation["share_arn"])
            if share["status"] != "ACTIVE" or share["principals"].get(ctx.account_id) != "PENDING":
                invitation["status"] = "EXPIRED"
                self.storage.put_invitation(invitation)
                raise ServiceError(
                    "ResourceShareInvitationExpiredException", f"Invitation {arn} has expired."
                )
            invitation["status"] = status
            share["principals"][ctx.account_id] = status
            share["updated"] = self.clock.now().timestamp()
            self.storage.put_invitation(invitation)
            self.storage.put_share(share)
        return {
            "resourceShareInvitation": self._invitation_view(invitation),
            "clientToken": params.get("clientToken"),
        }

    def accept_resource_share_invitation(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self._answer(params, ctx, "ACCEPTED")

    def reject_resource_share_invitation(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        return self._answer(params, ctx, "REJECTED")

    def _owned(self, arn: str, ctx: CallContext) -> dict[str, Any]:
        share = self._share(arn)
        if share["owner"] != ctx.account_id:
            raise unknown(f"Resource share {arn}")
        if share["status"] != "ACTIVE":
            raise ServiceError("OperationNotPermittedException", f"Resource share {arn} is {share['status']}")
        return share

    def delete_resource_share(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        with self._lock:
            share = self._owned(params["resourceShareArn"], ctx)
            share["status"] = "DELETED"
            share["updated"] = self.clock.now().timestamp()
            self.storage.put_share(share)
        return {"returnValue": True, "clientToken": params.get("clientToken")}

    def associate_resource_share(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._refuse(params, "sources")
        resources = list(params.get("resourceArns", []))
        principals = list(params.get("principals", []))
        pipelines = self._check_resources(resources, ctx)
        self._check_principals(principals, ctx)
        with self._lock:
            share = self._owned(params["resourceShareArn"], ctx)
            added = [r for r in resources if r not in share["resources"]]
            share["resources"] = share["resources"] + added
            self._invite(share, principals)

            def undo() -> None:  # a shared pipeline is going: the share as it was
                current = self._share(share["arn"])
                current["resources"] = [r for r in current["resources"] if r not in added]
                current["updated"] = self.clock.now().timestamp()
                self.storage.put_share(current)

            return attach(
                self.pipelines,
                pipelines,
                lambda: self._changed_associations(share, params, resources, principals),
                undo,
                self._unshareable,
            )

    def disassociate_resource_share(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self._refuse(params, "sources")
        resources = list(params.get("resourceArns", []))
        principals = list(params.get("principals", []))
        with self._lock:
            share = self._owned(params["resourceShareArn"], ctx)
            share["resources"] = [r for r in share["resources"] if r not in resources]
            for account in principals:
                share["principals"].pop(account, None)
            return self._changed_associations(share, params, resources, principals)

    def _changed_associations(
        self, share: dict[str, Any], params: dict[str, Any], resources: list[str], principals: list[str]
    ) -> dict[str, Any]:
        """Save a share whose associations changed; the answer of (Dis)AssociateResourceShare."""
        share["updated"] = self.clock.now().timestamp()
        self.storage.put_share(share)
        return {
            "resourceShareAssociations": self._associations(share, resources, principals),
            "clientToken": params.get("clientToken"),
        }

    def list_permissions(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        if params.get("permissionType") == "CUSTOMER_MANAGED" or params.get(
            "resourceType", RESOURCE_TYPE
        ).lower() != (RESOURCE_TYPE.lower()):
            return {"permissions": []}
        created = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
        permissions = [
            {
                "arn": permission_arn(name),
                "version": "1",
                "defaultVersion": True,
                "name": name,
                "resourceType": RESOURCE_TYPE,
                "status": "ATTACHABLE",
                "creationTime": created,
                "lastUpdatedTime": created,
                "isResourceTypeDefault": name == READ_ONLY_PERMISSION,
                "permissionType": "AWS_MANAGED",
                "featureSet": "STANDARD",
            }
            for name in PERMISSION_ACTIONS
        ]
        items, token = page_of(permissions, _paging(params), "permissions")
        return {"permissions": items, "nextToken": token}

    def handlers(self) -> dict[str, Handler]:
        return {
            "CreateResourceShare": self.create_resource_share,
            "GetResourceShares": self.get_resource_shares,
            "GetResourceShareInvitations": self.get_resource_share_invitations,
            "AcceptResourceShareInvitation": self.accept_resource_share_invitation,
            "RejectResourceShareInvitation": self.reject_resource_share_invitation,
            "DeleteResourceShare": self.delete_resource_share,
            "AssociateResourceShare": self.associate_resource_share,
            "DisassociateResourceShare": self.disassociate_resource_share,
            "ListPermissions": self.list_permissions,
        }

    def close(self) -> None:
        self.storage.close()


def _paging(params: dict[str, Any]) -> dict[str, Any]:
    """RAM's camel-case paging members in the SageMaker spelling :func:`page_of` reads."""
    out: dict[str, Any] = {"MaxResults": params.get("maxResults", 500)}
    if params.get("nextToken"):
        out["NextToken"] = params["nextToken"]
    return out


def _moment(value: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(value, dt.UTC)
