"""Cleanup steps (v3 SDK ``CleanupStep``): delete what earlier steps of the execution made.

``Arguments: {"Resources": {"S3": [{"StepName": "<step>", "S3Uris": [...]?}, ...]}}`` is what
the SDK emits. The SDK adds every source step to ``DependsOn`` (the service can only clean up
after a step ran), with a run condition when the user asks for one (``{"Step", "Trigger":
"Any"}`` cleans up scratch data whether the source succeeded or not), so readiness.py decides
*when* a Cleanup runs; this module decides *what* it deletes, in two halves:

* :func:`cleanup_targets`, at launch (engine): for each source, what to delete, from the
  source's record in this execution. Listed ``S3Uris`` are deleted as objects (a URI ending in
  ``/`` as a prefix) and must lie under one of the source's output locations. Without
  ``S3Uris`` the source's output locations are deleted as prefixes: a Training job's
  ``<S3OutputPath>/<TrainingJobName>/`` (model and output archives), each Processing output's
  ``S3Uri``, a Transform job's ``S3OutputPath``. A source whose locations are unknown (it
  failed before it had any, or its type writes none) is *skipped*, as the service reports it.
  A source with no record at all (it did not run in this execution) fails the Cleanup before
  anything is deleted, naming the step.
* :func:`clean`, in the runtime (embedded runner, or the cloud engine as the pipeline's
  role): deletes through an :class:`~pipelines.objects.base.ObjectStore` (the local object
  root, or S3) and reports ``Metadata.Cleanup`` as botocore shapes it: ``CleanedSteps``,
  ``FailedSteps: [{StepName, ErrorCode: ClientError|InternalFailure, ErrorMessage}]``,
  ``SkippedSteps``. A Cleanup with a failed source fails, with those reasons.

Our extension, for resources the SDK cannot name yet: ``Resources.Endpoint``,
``Resources.EndpointConfig`` and ``Resources.EMRServerless`` (lists of ``{"StepName"}`` naming a
step of that type) delete the endpoint, the endpoint config, or the application an
EMRServerless step created from ``ApplicationConfig`` (one it was given by ``ApplicationId`` is
not ours to delete, so it is skipped). The application's id comes from the step's properties;
an attempt that was stopped or failed has none, so its target names the application by the
attempt's job name (``application_name``), which the runtime looks up. The runtime's :data:`ResourceCleaner` does it: local
endpoints in the embedded runtime (``pipelines.hosting``, which has no EMR Serverless
applications, so such a source fails there with the reason); the pipeline role's calls in the
cloud. A resource already gone counts as cleaned.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from pipelines.errors import PipelinesError
from pipelines.runners.base import StepFailed, StepResult
from pipelines.store.base import StepRecord

CLEANUP = "Cleanup"
S3 = "S3"
ENDPOINT = "Endpoint"
ENDPOINT_CONFIG = "EndpointConfig"
EMR_SERVERLESS = "EMRServerless"
RESOURCE_KINDS = (S3, ENDPOINT, ENDPOINT_CONFIG, EMR_SERVERLESS)
"""Resources keys; each but S3 names steps of the type of the same name."""
MAX_LISTED = 100  # botocore CleanupStepNameList / CleanupFailureList


class CleanupError(PipelinesError):
    """The Cleanup cannot run at all (its message is the step's FailureReason)."""


@dataclass
class Target:
    """What one source step of a Cleanup leaves to delete (JSON in the attempt's step fields)."""

    step_name: str
    kind: str
    objects: list[str] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    resource: str | None = None  # an endpoint (config) name or EMR Serverless application id
    application_name: str | None = None  # EMR Serverless: found by this name when no id is known
    skipped: str | None = None  # why nothing can be located
    refused: str | None = None  # why the listed URIs may not be deleted

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v not in (None, [])}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Target:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


# -- what to delete (engine, at launch) -----------------------------------------------------------


def cleanup_targets(
    step_name: str, arguments: Any, records: Mapping[str, StepRecord]
) -> list[dict[str, Any]]:
    """The targets of a Cleanup step's resolved Arguments; CleanupError when it cannot run."""
    resources = arguments.get("Resources") if isinstance(arguments, dict) else None
    if not isinstance(resources, dict) or not resources:
        raise CleanupError(f"Cleanup step {step_name!r} needs Arguments.Resources with an S3 list")
    unknown = sorted(set(resources) - set(RESOURCE_KINDS))
    if unknown:
        raise CleanupError(
            f"Cleanup step {step_name!r}: unknown resource kind(s) {unknown}; known: {', '.join(RESOURCE_KINDS)}"
        )
    targets: list[dict[str, Any]] = []
    for kind in RESOURCE_KINDS:
        sources = resources.get(kind)
        if sources is None:
            continue
        if not isinstance(sources, list) or not sources:
            raise CleanupError(f"Cleanup step {step_name!r}: Resources.{kind} must be a non-empty list")
        for source in sources:
            name = source.get("StepName") if isinstance(source, dict) else None
            if not isinstance(name, str):
                raise CleanupError(
                    f"Cleanup step {step_name!r}: every Resources.{kind} entry needs a StepName"
                )
            record = records.get(name)
            if record is None:
                raise CleanupError(
                    f"Cleanup step {step_name!r} names step {name!r}, which did not run in this execution, "
                    "so it has nothing to clean up"
                )
            targets.append(_target(kind, record, source).to_json())
    return targets


def _target(kind: str, record: StepRecord, source: Mapping[str, Any]) -> Target:
    target = Target(record.step_name, kind)
    if kind != S3 and record.step_type != kind:
        target.refused = f"Resources.{kind} names step {record.step_name!r}, a {record.step_type} step"
        return target
    if kind in (ENDPOINT, ENDPOINT_CONFIG):
        member = f"{kind}Name"
        name = _member(record, member)
        if name is None:
            target.skipped = f"step {record.step_name!r} has no {member}"
        target.resource = name
        return target
    if kind == EMR_SERVERLESS:
        arguments = record.arguments if isinstance(record.arguments, dict) else {}
        application = ((record.properties or {}).get("jobRun") or {}).get("applicationId")
        if "ApplicationConfig" not in arguments:
            target.skipped = (
                f"step {record.step_name!r} ran on a given application, which is not its to delete"
            )
        elif isinstance(application, str):
            target.resource = application
        elif record.job_name:
            # A stopped or failed attempt has no properties; the application it created is named
            # with its job name (stepfunctions/emr_serverless.py), so the runtime looks it up.
            target.application_name = record.job_name
        else:
            target.skipped = f"step {record.step_name!r} has no application id"
        return target
    locations = output_locations(record)
    uris = source.get("S3Uris")
    if uris is None:
        if not locations:
            target.skipped = f"the output locations of step {record.step_name!r} are unavailable"
        target.prefixes = locations
        return target
    if not isinstance(uris, list) or not uris or not all(isinstance(u, str) for u in uris):
        target.refused = "S3Uris must be a non-empty list of s3:// URIs"
        return target
    outside = [u for u in uris if not any(_under(u, location) for location in locations)]
    if outside:
        where = ", ".join(locations) if locations else "none"
        target.refused = (
            f"{', '.join(outside)} not under an output location of step {record.step_name!r} ({where})"
        )
        return target
    target.objects = [u for u in uris if not u.endswith("/")]
    target.prefixes = [u for u in uris if u.endswith("/")]
    return target


def output_locations(record: StepRecord) -> list[str]:
    """Where a step wrote its S3 outputs, from its Describe properties or its request."""
    sources = [s for s in (record.properties, record.arguments) if isinstance(s, dict)]
    for source in sources:
        found = _locations(record, source)
        if found:
            return found
    return []


def _locations(record: StepRecord, data: Mapping[str, Any]) -> list[str]:
    if record.step_type == "Training":
        path = (data.get("OutputDataConfig") or {}).get("S3OutputPath")
        job = data.get("TrainingJobName") or record.job_name
        if isinstance(path, str) and isinstance(job, str):
            return [f"{path.rstrip('/')}/{job}/"]
        return []
    if record.step_type in ("Processing", "QualityCheck", "ClarifyCheck"):
        outputs = (data.get("ProcessingOutputConfig") or {}).get("Outputs") or []
        return [
            _as_prefix(uri)
            for output in outputs
            if isinstance(output, dict)
            and isinstance(uri := (output.get("S3Output") or {}).get("S3Uri"), str)
        ]
    if record.step_type == "Transform":
        path = (data.get("TransformOutput") or {}).get("S3OutputPath")
        return [_as_prefix(path)] if isinstance(path, str) else []
    return []


def _as_prefix(uri: str) -> str:
    return uri if uri.endswith("/") else uri + "/"


def _under(uri: str, location: str) -> bool:
    return uri.startswith(location) and uri.startswith("s3://")


def _member(record: StepRecord, name: str) -> str | None:
    for source in (record.properties, record.arguments):
        if isinstance(source, dict) and isinstance(source.get(name), str):
            return str(source[name])
    return None


# -- deleting (runtimes) --------------------------------------------------------------------------


class ObjectDeleter(Protocol):
    """What S3 cleanup needs of an object store (``pipelines.objects`` stores have it)."""

    def list(self, prefix_uri: str) -> list[str]: ...

    def delete(self, uri: str) -> None: ...


CleanupStatus = Literal["Cleaned", "Skipped"]
ResourceCleaner = Callable[[Target], tuple[CleanupStatus, str]]
"""Deletes a non-S3 target's resource: ("Cleaned" (also when it was already gone) or
"Skipped", why); raises PipelinesError (or a botocore ClientError) with the reason when it
cannot. The target names the source step; the cloud reads that step's record."""


def clean(
    step_name: str,
    targets: list[dict[str, Any]],
    objects: ObjectDeleter,
    resources: ResourceCleaner | None = None,
    log: Callable[[str], None] = lambda _line: None,
) -> StepResult:
    """Delete every target; the step's result, or StepFailed when a source could not be cleaned."""
    cleaned: list[str] = []
    failed: list[dict[str, str]] = []
    skipped: list[str] = []
    for data in targets:
        target = Target.from_json(data)
        if target.skipped:
            log(f"skipped {target.step_name}: {target.skipped}")
            skipped.append(target.step_name)
            continue
        if target.refused:
            failed.append(_failure(target.step_name, "ClientError", target.refused))
            continue
        try:
            if target.kind == S3:
                count = _delete_objects(target, objects)
                log(f"deleted {count} object(s) of {target.step_name}")
            else:
                if resources is None:
                    raise CleanupError(f"{target.kind} resources cannot be cleaned up in this runtime")
                status, why = resources(target)
                log(
                    f"{status.lower()} {target.kind} {target.resource} of {target.step_name}"
                    + (f": {why}" if why else "")
                )
                if status == "Skipped":
                    skipped.append(target.step_name)
                    continue
        except (PipelinesError, OSError) as exc:
            failed.append(_failure(target.step_name, "ClientError", str(exc)))
        except Exception as exc:  # a botocore ClientError and the like: the service's InternalFailure
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            kind = "ClientError" if code else "InternalFailure"
            failed.append(_failure(target.step_name, kind, str(exc)))
        else:
            if target.step_name not in cleaned:
                cleaned.append(target.step_name)
    metadata = {
        CLEANUP: {
            "CleanedSteps": cleaned[:MAX_LISTED],
            "FailedSteps": failed[:MAX_LISTED],
            "SkippedSteps": skipped[:MAX_LISTED],
        }
    }
    if failed:
        reasons = "; ".join(f"{f['StepName']}: {f['ErrorMessage']}" for f in failed[:5])
        raise StepFailed(
            f"Cleanup step {step_name!r} could not clean up {len(failed)} source(s): {reasons}",
            error_code="ValidationException",
            metadata=metadata,
        )
    return StepResult(properties={}, metadata=metadata)


def _delete_objects(target: Target, objects: ObjectDeleter) -> int:
    count = 0
    for uri in target.objects:
        objects.delete(uri)
        count += 1
    for prefix in target.prefixes:
        for uri in objects.list(prefix):
            objects.delete(uri)
            count += 1
    return count


def _failure(step_name: str, code: str, message: str) -> dict[str, str]:
    return {"StepName": step_name, "ErrorCode": code, "ErrorMessage": message[:2048]}
