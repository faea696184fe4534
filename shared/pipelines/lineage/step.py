"""The Lineage step, for both runtimes (see ``pipelines.lineage``).

Arguments (v3 SDK ``LineageStep``): ``Actions``, ``Artifacts``, ``Contexts`` (CreateAction /
CreateArtifact / CreateContext requests) and ``Associations`` (``{"Source", "Destination",
"AssociationType"?}``, each end ``{"Name", "Type"}`` of an entity this step creates, or
``{"Arn"}``), at least one entry in all. Every request is checked against botocore's model
before anything is created, so a bad step creates nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from botocore.exceptions import ClientError

from pipelines.errors import ValidationError
from pipelines.lineage.records import (
    ARN_RESOURCE,
    ENTITY_KINDS,
    EntityKind,
    LineageAssociation,
    LineageEntity,
)
from pipelines.lineage.store import LineageStore
from pipelines.registry.shapes import validate_request
from pipelines.runners.base import StepFailed, StepResult

LINEAGE = "Lineage"
_KEYS: dict[EntityKind, tuple[str, str, str]] = {
    # kind -> (Arguments key, name field, type field)
    "Action": ("Actions", "ActionName", "ActionType"),
    "Artifact": ("Artifacts", "ArtifactName", "ArtifactType"),
    "Context": ("Contexts", "ContextName", "ContextType"),
}
_OPERATION = {"Action": "CreateAction", "Artifact": "CreateArtifact", "Context": "CreateContext"}
_ARN_MEMBER = {"Action": "ActionArns", "Artifact": "ArtifactArns", "Context": "ContextArns"}
METADATA_MAP_LIMIT = 5  # botocore LineageMetadata: MapString2048 max 5
METADATA_ASSOCIATION_LIMIT = 10  # AssociationInfoList max 10


class LineageApi(Protocol):
    def create(self, kind: EntityKind, request: dict[str, Any]) -> str:
        """Create (or find, when its name exists) the entity; its ARN."""
        ...

    def associate(self, source_arn: str, destination_arn: str, association_type: str | None) -> None: ...


def entity_name(kind: EntityKind, request: dict[str, Any]) -> str:
    """The entity's name; an artifact may have none (the API names it), so it is named after
    a hash of its source and type, as stable as the request."""
    name = request.get(_KEYS[kind][1])
    if isinstance(name, str) and name:
        return name
    source = (request.get("Source") or {}).get("SourceUri", "")
    digest = hashlib.sha256(f"{source}|{request.get(_KEYS[kind][2], '')}".encode()).hexdigest()
    return f"{kind.lower()}-{digest[:32]}"


@dataclass(frozen=True)
class Recording:
    """Where one Lineage step attempt records what it created: its execution's lineage list."""

    store: LineageStore
    execution_arn: str
    step_name: str
    now: Callable[[], datetime]

    def entity(self, kind: EntityKind, arn: str, request: dict[str, Any]) -> LineageEntity:
        """Record the entity; the stored one (the first of its name) comes back."""
        source = request.get("Source") or {}
        entity_type = request.get(_KEYS[kind][2])
        return self.store.record_entity(
            LineageEntity(
                kind=kind,
                name=entity_name(kind, request),
                arn=arn,
                entity_type=entity_type if isinstance(entity_type, str) else None,
                source_uri=source.get("SourceUri") if isinstance(source.get("SourceUri"), str) else None,
                request=request,
                execution_arn=self.execution_arn,
                step_name=self.step_name,
                created_at=self.now(),
            )
        )

    def association(self, source_arn: str, destination_arn: str, association_type: str | None) -> None:
        self.store.record_association(
            LineageAssociation(
                source_arn=source_arn,
                destination_arn=destination_arn,
                association_type=association_type,
                execution_arn=self.execution_arn,
                step_name=self.step_name,
                created_at=self.now(),
            )
        )


class LocalLineageApi:
    """Entities as records in a LineageStore (the embedded runtime), with SageMaker's ARNs."""

    def __init__(self, recording: Recording, *, region: str, account_id: str) -> None:
        self.recording = recording
        self.region = region
        self.account_id = account_id

    def create(self, kind: EntityKind, request: dict[str, Any]) -> str:
        name = entity_name(kind, request).lower()
        arn = f"arn:aws:sagemaker:{self.region}:{self.account_id}:{ARN_RESOURCE[kind]}/{name}"
        return self.recording.entity(kind, arn, request).arn

    def associate(self, source_arn: str, destination_arn: str, association_type: str | None) -> None:
        self.recording.association(source_arn, destination_arn, association_type)


class SageMakerLineageApi:
    """SageMaker's lineage API (the cloud), as the pipeline's role. An action or context whose
    name exists already is found (Describe*) and reused, so a re-driven step creates them once;
    artifacts have no unique name in SageMaker, so each run creates its own. With a
    ``recording``, each call is also recorded in the execution's lineage list."""

    def __init__(self, client: Any, recording: Recording | None = None) -> None:
        self.client = client
        self.recording = recording

    def create(self, kind: EntityKind, request: dict[str, Any]) -> str:
        operation = _OPERATION[kind]
        member = f"{kind}Arn"
        call = getattr(self.client, _snake(operation))
        try:
            arn = str(call(**request)[member])
        except ClientError as exc:
            # actions and contexts are unique by name; artifacts are not (their ARN is the
            # service's own), so only the first two can be found again
            name = request.get(_KEYS[kind][1])
            if kind == "Artifact" or not _exists(exc) or not isinstance(name, str):
                raise
            arn = str(getattr(self.client, f"describe_{kind.lower()}")(**{_KEYS[kind][1]: name})[member])
        if self.recording is not None:
            self.recording.entity(kind, arn, request)
        return arn

    def associate(self, source_arn: str, destination_arn: str, association_type: str | None) -> None:
        request = {"SourceArn": source_arn, "DestinationArn": destination_arn}
        if association_type:
            request["AssociationType"] = association_type
        try:
            self.client.add_association(**request)
        except ClientError as exc:
            if not _exists(exc):
                raise
        if self.recording is not None:
            self.recording.association(source_arn, destination_arn, association_type)


def record_lineage(
    step_name: str, arguments: Any, api: LineageApi, log: Callable[[str], None] = lambda _l: None
) -> StepResult:
    """Run a Lineage step: entities first, then associations; StepFailed (creating nothing)
    when the Arguments are invalid."""
    entities, associations = _validated(step_name, arguments)
    arns: dict[str, dict[str, str]] = {member: {} for member in _ARN_MEMBER.values()}
    by_reference: dict[tuple[str, str], str] = {}
    try:
        for kind, request in entities:
            arn = api.create(kind, request)
            name = entity_name(kind, request)
            arns[_ARN_MEMBER[kind]][name] = arn
            by_reference[(kind, name)] = arn
            log(f"{kind} {name}: {arn}")
        created: list[dict[str, str]] = []
        for association in associations:
            source = _end_arn(step_name, association["Source"], by_reference, "Source")
            destination = _end_arn(step_name, association["Destination"], by_reference, "Destination")
            kind_of = association.get("AssociationType")
            api.associate(source, destination, kind_of if isinstance(kind_of, str) else None)
            created.append({"SourceArn": source, "DestinationArn": destination})
            log(f"association {source} -> {destination}" + (f" ({kind_of})" if kind_of else ""))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise StepFailed(
            f"Lineage step {step_name!r}: {error.get('Code')}: {error.get('Message')}",
            error_code=str(error.get("Code") or "ValidationException"),
        ) from exc
    except ValidationError as exc:
        raise StepFailed(f"Lineage step {step_name!r}: {exc}", error_code=exc.code) from exc
    properties: dict[str, Any] = {**arns, "Associations": created}
    metadata: dict[str, Any] = {
        member: dict(list(values.items())[:METADATA_MAP_LIMIT]) for member, values in arns.items() if values
    }
    if created:
        metadata["Associations"] = created[:METADATA_ASSOCIATION_LIMIT]
    return StepResult(properties=properties, metadata={LINEAGE: metadata})


def _validated(
    step_name: str, arguments: Any
) -> tuple[list[tuple[EntityKind, dict[str, Any]]], list[dict[str, Any]]]:
    where = f"Lineage step {step_name!r}"
    if not isinstance(arguments, dict):
        raise StepFailed(f"{where}: Arguments must be an object", error_code="ValidationException")
    unknown = sorted(set(arguments) - {*(k[0] for k in _KEYS.values()), "Associations"})
    if unknown:
        raise StepFailed(
            f"{where}: unknown Arguments {unknown}; known: Actions, Artifacts, Contexts, Associations",
            error_code="ValidationException",
        )
    entities: list[tuple[EntityKind, dict[str, Any]]] = []
    problems: list[str] = []
    for kind in ENTITY_KINDS:
        key = _KEYS[kind][0]
        requests = arguments.get(key, [])
        if not isinstance(requests, list):
            problems.append(f"{key} must be a list")
            continue
        for index, request in enumerate(requests):
            if not isinstance(request, dict):
                problems.append(f"{key}[{index}] must be an object")
                continue
            try:
                validate_request(_OPERATION[kind], request)
            except ValidationError as exc:
                problems.append(f"{key}[{index}]: {exc}")
                continue
            entities.append((kind, request))
    associations = arguments.get("Associations", [])
    if not isinstance(associations, list):
        problems.append("Associations must be a list")
        associations = []
    names: set[tuple[str, str]] = {(kind, entity_name(kind, request)) for kind, request in entities}
    for index, association in enumerate(associations):
        for end in ("Source", "Destination"):
            ref = association.get(end) if isinstance(association, dict) else None
            problem = _end_problem(ref, names)
            if problem:
                problems.append(f"Associations[{index}].{end}: {problem}")
    if not entities and not associations and not problems:
        problems.append("it needs at least one entry in Actions, Artifacts, Contexts or Associations")
    if problems:
        raise StepFailed(f"{where}: {'; '.join(problems)}", error_code="ValidationException")
    return entities, associations


def _end_problem(ref: Any, names: set[tuple[str, str]]) -> str | None:
    if not isinstance(ref, dict):
        return "must be {'Name', 'Type'} or {'Arn'}"
    if set(ref) == {"Arn"}:
        return None if isinstance(ref["Arn"], str) and ref["Arn"].startswith("arn:") else "Arn must be an ARN"
    if set(ref) != {"Name", "Type"} or ref["Type"] not in ENTITY_KINDS:
        return "must be {'Name', 'Type': Action|Artifact|Context} or {'Arn'}"
    if (ref["Type"], ref["Name"]) not in names:
        return (
            f"{ref['Type']} {ref['Name']!r} is not created by this step (a Name and Type end names an "
            "entity of the same Lineage step; use Arn for any other)"
        )
    return None


def _end_arn(step_name: str, ref: dict[str, Any], by_reference: dict[tuple[str, str], str], end: str) -> str:
    if "Arn" in ref:
        return str(ref["Arn"])
    return by_reference[(str(ref["Type"]), str(ref["Name"]))]


def _exists(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    message = str(error.get("Message", "")).lower()
    return error.get("Code") in ("ValidationException", "ResourceInUse") and "already exist" in message


def _snake(operation: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
