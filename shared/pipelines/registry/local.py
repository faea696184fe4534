"""The embedded runtime's model registry: models, model package groups and their versions.

Records are the Describe* responses of the SageMaker API (stored as JSON next to the columns we
query by), so a Model or RegisterModel step's properties, ``pipelines models`` and the API's
Describe/List operations all read the same thing. Tables live in the state database shared with
the store; its tables are component ``model_registry`` of the state file's migration ledger
(:mod:`pipelines.sqlite_schema`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pipelines.errors import ConflictError, ValidationError
from pipelines.registry.shapes import (
    RegistryValidationError,
    enum_values,
    output_members,
    project,
    structure_members,
    validate_request,
)
from pipelines.sqlite_schema import AccountComponent, connection, transaction

COMPONENT = "model_registry"
DEFAULT_APPROVAL_STATUS = "PendingManualApproval"

_MIGRATIONS = (
    """
    CREATE TABLE model_package_groups (
        name TEXT PRIMARY KEY,
        arn TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE TABLE model_packages (
        arn TEXT PRIMARY KEY,
        group_name TEXT REFERENCES model_package_groups(name),
        name TEXT NOT NULL,
        version INTEGER,
        approval_status TEXT,
        client_token TEXT UNIQUE,
        created_at TEXT NOT NULL,
        record TEXT NOT NULL,
        UNIQUE (group_name, version)
    );
    CREATE INDEX model_packages_by_group ON model_packages (group_name, version);
    CREATE TABLE models (
        name TEXT PRIMARY KEY,
        arn TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        record TEXT NOT NULL
    );
    """,
)


class RegistryNotFound(ValidationError):
    """The named registry entity does not exist (the SageMaker API answers ValidationException)."""


class RegistryConflict(ValidationError):
    """The entity already exists (the SageMaker API answers ValidationException)."""


def _now() -> str:
    return datetime.now(UTC).isoformat()


class ModelRegistry(AccountComponent):
    """Thread- and process-safe: every call opens its own connection; writes take the write lock."""

    component = COMPONENT
    migrations = _MIGRATIONS

    def _arn(self, resource: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.account_id}:{resource.lower()}"

    # -- models (CreateModel) -------------------------------------------------------------

    def create_model(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """CreateModel; returns the DescribeModel response of the new model."""
        validate_request("CreateModel", request)
        name = str(request["ModelName"])
        record = project(request, output_members("DescribeModel"))
        record.update(ModelArn=self._arn(f"model/{name}"), CreationTime=_now())
        with connection(self.database_path) as conn, transaction(conn):
            try:
                conn.execute(
                    "INSERT INTO models (name, arn, created_at, record) VALUES (?, ?, ?, ?)",
                    (name, record["ModelArn"], record["CreationTime"], json.dumps(record)),
                )
            except sqlite3.IntegrityError:
                raise RegistryConflict(
                    f'Cannot create already existing model "{record["ModelArn"]}".'
                ) from None
        return record

    def describe_model(self, name: str) -> dict[str, Any]:
        with connection(self.database_path) as conn:
            row = conn.execute("SELECT record FROM models WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise RegistryNotFound(f'Could not find model "{self._arn(f"model/{name}")}".')
        return dict(json.loads(row["record"]))

    def list_models(self) -> list[dict[str, Any]]:
        """ModelSummary entries, newest first."""
        with connection(self.database_path) as conn:
            rows = conn.execute("SELECT record FROM models ORDER BY created_at DESC, name").fetchall()
        members = structure_members("ModelSummary")
        return [project(json.loads(row["record"]), members) for row in rows]

    # -- model package groups -------------------------------------------------------------

    def create_model_package_group(self, name: str, description: str | None = None) -> dict[str, Any]:
        """CreateModelPackageGroup; returns the DescribeModelPackageGroup response."""
        request: dict[str, Any] = {"ModelPackageGroupName": name}
        if description is not None:
            request["ModelPackageGroupDescription"] = description
        validate_request("CreateModelPackageGroup", request)
        with connection(self.database_path) as conn, transaction(conn):
            if self._group_row(conn, name) is not None:
                raise RegistryConflict(
                    f"Model Package Group already exists: {self._arn(f'model-package-group/{name}')}"
                )
            return self._insert_group(conn, request)

    def describe_model_package_group(self, name: str) -> dict[str, Any]:
        with connection(self.database_path) as conn:
            row = self._group_row(conn, name)
        if row is None:
            raise RegistryNotFound(
                f"ModelPackageGroup {self._arn(f'model-package-group/{name}')} does not exist."
            )
        return dict(json.loads(row["record"]))

    def list_model_package_groups(self) -> list[dict[str, Any]]:
        """ModelPackageGroupSummary entries, newest first."""
        with connection(self.database_path) as conn:
            rows = conn.execute(
                "SELECT record FROM model_package_groups ORDER BY created_at DESC, name"
            ).fetchall()
        members = structure_members("ModelPackageGroupSummary")
        return [project(json.loads(row["record"]), members) for row in rows]

    def _group_row(self, conn: sqlite3.Connection, name: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT record FROM model_package_groups WHERE name = ?", (name,)
        ).fetchone()
        return row

    def _insert_group(self, conn: sqlite3.Connection, request: Mapping[str, Any]) -> dict[str, Any]:
        name = str(request["ModelPackageGroupName"])
        record = project(request, output_members("DescribeModelPackageGroup"))
        record.update(
            ModelPackageGroupArn=self._arn(f"model-package-group/{name}"),
            CreationTime=_now(),
            ModelPackageGroupStatus="Completed",
        )
        conn.execute(
            "INSERT INTO model_package_groups (name, arn, created_at, record) VALUES (?, ?, ?, ?)",
            (name, record["ModelPackageGroupArn"], record["CreationTime"], json.dumps(record)),
        )
        return record

    # -- model packages (versions) --------------------------------------------------------

    def create_model_package(
        self, request: Mapping[str, Any], *, create_group: bool = False, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """CreateModelPackage; returns the DescribeModelPackage response.

        With ``ModelPackageGroupName`` the package is the group's next version (1, 2, ...) and
        carries an approval status, ``PendingManualApproval`` unless the request sets one. A
        pipeline's RegisterModel step passes ``create_group=True``: the service creates a missing
        group for it, while the plain API refuses. A repeated ``idempotency_key`` (default: the
        request's ClientToken) returns the package the first call created.
        """
        validate_request("CreateModelPackage", request)
        group = request.get("ModelPackageGroupName")
        name = request.get("ModelPackageName")
        if (group is None) == (name is None):
            raise RegistryValidationError(
                "CreateModelPackage: exactly one of ModelPackageGroupName (a versioned model) "
                "or ModelPackageName (an unversioned model) is required"
            )
        status = request.get("ModelApprovalStatus")
        if status is not None and status not in enum_values("ModelApprovalStatus"):
            raise RegistryValidationError(
                f"CreateModelPackage: ModelApprovalStatus {status!r} must be one of "
                f"{', '.join(enum_values('ModelApprovalStatus'))}"
            )
        record = project(request, output_members("DescribeModelPackage"))
        now = _now()
        record.update(
            CreationTime=now,
            ModelPackageStatus="Completed",
            ModelPackageStatusDetails={"ValidationStatuses": [], "ImageScanStatuses": []},
        )
        client_token = idempotency_key or request.get("ClientToken")
        with connection(self.database_path) as conn, transaction(conn):
            if client_token is not None:
                row = conn.execute(
                    "SELECT record FROM model_packages WHERE client_token = ?", (client_token,)
                ).fetchone()
                if row is not None:
                    return dict(json.loads(row["record"]))
            if group is not None:
                self._add_version(conn, str(group), record, create_group=create_group)
            else:
                record.update(ModelPackageName=str(name), ModelPackageArn=self._arn(f"model-package/{name}"))
            try:
                conn.execute(
                    "INSERT INTO model_packages (arn, group_name, name, version, approval_status, client_token, "
                    "created_at, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record["ModelPackageArn"],
                        group,
                        record["ModelPackageName"],
                        record.get("ModelPackageVersion"),
                        record.get("ModelApprovalStatus"),
                        client_token,
                        now,
                        json.dumps(record),
                    ),
                )
            except sqlite3.IntegrityError:
                raise RegistryConflict(f"Model Package already exists: {record['ModelPackageArn']}") from None
        return record

    def _add_version(
        self, conn: sqlite3.Connection, group: str, record: dict[str, Any], *, create_group: bool
    ) -> None:
        if self._group_row(conn, group) is None:
            if not create_group:
                raise RegistryNotFound(
                    f"Model Package Group {self._arn(f'model-package-group/{group}')} does not exist."
                )
            self._insert_group(conn, {"ModelPackageGroupName": group})
        latest = conn.execute(
            "SELECT MAX(version) AS v FROM model_packages WHERE group_name = ?", (group,)
        ).fetchone()["v"]
        version = int(latest or 0) + 1
        record.update(
            ModelPackageName=group,
            ModelPackageGroupName=group,
            ModelPackageVersion=version,
            ModelPackageArn=self._arn(f"model-package/{group}/{version}"),
        )
        record.setdefault("ModelApprovalStatus", DEFAULT_APPROVAL_STATUS)

    def describe_model_package(self, name_or_arn: str) -> dict[str, Any]:
        """By ARN (versioned or not) or by unversioned name."""
        with connection(self.database_path) as conn:
            row = conn.execute(
                "SELECT record FROM model_packages WHERE arn = ? OR (name = ? AND version IS NULL)",
                (name_or_arn.lower() if name_or_arn.startswith("arn:") else name_or_arn, name_or_arn),
            ).fetchone()
        if row is None:
            raise RegistryNotFound(f"ModelPackage {name_or_arn} does not exist.")
        return dict(json.loads(row["record"]))

    def list_model_packages(self, group: str | None = None) -> list[dict[str, Any]]:
        """ModelPackageSummary entries: a group's versions newest first, or every package."""
        query = "SELECT record FROM model_packages"
        args: tuple[Any, ...] = ()
        if group is not None:
            query += " WHERE group_name = ?"
            args = (group,)
        query += " ORDER BY created_at DESC, version DESC"
        with connection(self.database_path) as conn:
            rows = conn.execute(query, args).fetchall()
        members = structure_members("ModelPackageSummary")
        return [project(json.loads(row["record"]), members) for row in rows]

    def update_approval_status(
        self, model_package_arn: str, status: str, description: str | None = None
    ) -> dict[str, Any]:
        """UpdateModelPackage's approval part: how a reviewer approves or rejects a version."""
        if status not in enum_values("ModelApprovalStatus"):
            raise RegistryValidationError(
                f"ModelApprovalStatus {status!r} must be one of {', '.join(enum_values('ModelApprovalStatus'))}"
            )
        arn = model_package_arn.lower()
        with connection(self.database_path) as conn, transaction(conn):
            row = conn.execute("SELECT record FROM model_packages WHERE arn = ?", (arn,)).fetchone()
            if row is None:
                raise RegistryNotFound(f"ModelPackage {model_package_arn} does not exist.")
            record = dict(json.loads(row["record"]))
            if record.get("ModelPackageVersion") is None:
                raise RegistryValidationError(
                    "ModelApprovalStatus does not apply to unversioned model packages"
                )
            record.update(ModelApprovalStatus=status, LastModifiedTime=_now())
            if description is not None:
                record["ApprovalDescription"] = description
            conn.execute(
                "UPDATE model_packages SET approval_status = ?, record = ? WHERE arn = ?",
                (status, json.dumps(record), arn),
            )
        return record

    def update_model_package(self, request: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """UpdateModelPackage: approval status and description, customer metadata, source URI,
        model card and life cycle. Returns the (before, after) DescribeModelPackage records so a
        caller can tell whether the approval status changed."""
        validate_request("UpdateModelPackage", request)
        status = request.get("ModelApprovalStatus")
        if status is not None and status not in enum_values("ModelApprovalStatus"):
            raise RegistryValidationError(
                f"ModelApprovalStatus {status!r} must be one of {', '.join(enum_values('ModelApprovalStatus'))}"
            )
        arn = str(request["ModelPackageArn"]).lower()
        with connection(self.database_path) as conn, transaction(conn):
            row = conn.execute("SELECT record FROM model_packages WHERE arn = ?", (arn,)).fetchone()
            if row is None:
                raise RegistryNotFound(f"ModelPackage {request['ModelPackageArn']} does not exist.")
            before = dict(json.loads(row["record"]))
            after = dict(before)
            if status is not None:
                if before.get("ModelPackageVersion") is None:
                    raise RegistryValidationError(
                        "ModelApprovalStatus does not apply to unversioned model packages"
                    )
                after["ModelApprovalStatus"] = status
            for member in (
                "ApprovalDescription",
                "SourceUri",
                "ModelCard",
                "ModelLifeCycle",
                "InferenceSpecification",
            ):
                if member in request:
                    after[member] = request[member]
            metadata = dict(after.get("CustomerMetadataProperties") or {})
            metadata.update(request.get("CustomerMetadataProperties") or {})
            for key in request.get("CustomerMetadataPropertiesToRemove") or []:
                metadata.pop(key, None)
            if metadata or "CustomerMetadataProperties" in after:
                after["CustomerMetadataProperties"] = metadata
            additional = request.get("AdditionalInferenceSpecificationsToAdd")
            if additional:
                after["AdditionalInferenceSpecifications"] = [
                    *(after.get("AdditionalInferenceSpecifications") or []),
                    *additional,
                ]
            after["LastModifiedTime"] = _now()
            conn.execute(
                "UPDATE model_packages SET approval_status = ?, record = ? WHERE arn = ?",
                (after.get("ModelApprovalStatus"), json.dumps(after), arn),
            )
        return before, after

    def delete_model(self, name: str) -> None:
        with connection(self.database_path) as conn, transaction(conn):
            deleted = conn.execute("DELETE FROM models WHERE name = ?", (name,)).rowcount
        if not deleted:
            raise RegistryNotFound(f'Could not find model "{self._arn(f"model/{name}")}".')

    def delete_model_package(self, name_or_arn: str) -> None:
        """By ARN (versioned or not) or by unversioned name."""
        key = name_or_arn.lower() if name_or_arn.startswith("arn:") else name_or_arn
        with connection(self.database_path) as conn, transaction(conn):
            deleted = conn.execute(
                "DELETE FROM model_packages WHERE arn = ? OR (name = ? AND version IS NULL)",
                (key, name_or_arn),
            ).rowcount
        if not deleted:
            raise RegistryNotFound(f"ModelPackage {name_or_arn} does not exist.")

    def delete_model_package_group(self, name: str) -> None:
        """Refused while the group has versions, as the service refuses it."""
        with connection(self.database_path) as conn, transaction(conn):
            if self._group_row(conn, name) is None:
                raise RegistryNotFound(
                    f"ModelPackageGroup {self._arn(f'model-package-group/{name}')} does not exist."
                )
            versions = conn.execute(
                "SELECT COUNT(*) AS n FROM model_packages WHERE group_name = ?", (name,)
            ).fetchone()["n"]
            if versions:
                raise ConflictError(
                    f"Model Package Group {name} has {versions} model package version(s); delete them first."
                )
            conn.execute("DELETE FROM model_package_groups WHERE name = ?", (name,))
