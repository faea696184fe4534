"""Inference components on local endpoints: the v3 SDK's InferenceComponent step and
Create/Update/Describe/List/DeleteInferenceComponent (embedded runtime).

An inference component deploys one model onto an endpoint that was created for components
(its endpoint config's variants name no ``ModelName``: an instance type only). The model is the
component's ``Specification.ModelName`` (a model of the local model registry, as CreateModel
recorded it) or its ``Specification.Container`` (``Image``, ``ArtifactUrl``, ``Environment``).
It is served by a model server of its own (:mod:`pipelines.hosting.model_server`), and
InvokeEndpoint with ``InferenceComponentName`` (the ``X-Amzn-SageMaker-Inference-Component``
header) reaches it.

Statuses as the service reports them: ``Creating`` -> ``InService``, or ``Failed`` with the
FailureReason when the model cannot load; ``Updating`` -> ``InService`` (the new model comes up
before the old one stops; a failed update keeps the old one serving and says why in
FailureReason).

Records live in the state database, so ``pipelines run`` and ``pipelines serve`` see the same
components. Model servers do not outlive their process: the process that creates a component
serves it, and any other process (``pipelines serve`` after a ``pipelines run`` ended) starts
its own server for it on its first invocation. Local limits, each refused with its reason:
``Specifications`` (several models per component) and ``BaseInferenceComponentName`` (adapter
components); ``RuntimeConfig.CopyCount`` is reported, and one local server serves every copy.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pipelines.errors import ValidationError
from pipelines.hosting.model_server import (
    DEFAULT_READY_TIMEOUT_SECONDS,
    ModelLoadFailed,
    ModelServer,
    model_container,
    start_model_server,
)
from pipelines.hosting.records import EndpointNotFound, dump_record, load_record, now
from pipelines.registry.shapes import project, structure_members, validate_request
from pipelines.sqlite_schema import AccountComponent, connection, transaction

if TYPE_CHECKING:
    from pipelines.hosting.host import EndpointHost

COMPONENT = "inference_components"
_MIGRATIONS = (
    """
    CREATE TABLE inference_components (
        name TEXT PRIMARY KEY,
        endpoint_name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        record TEXT NOT NULL,
        model TEXT NOT NULL,
        version INTEGER NOT NULL
    );
    """,
)
TRANSITIONAL = frozenset({"Creating", "Updating"})
_UNSUPPORTED = {
    "Specifications": "several specifications per component",
    "BaseInferenceComponentName": "adapter components (BaseInferenceComponentName)",
}


class InferenceComponentNotFound(ValidationError):
    """No component of that name: ValidationException, as SageMaker answers."""


class InferenceComponentConflict(ValidationError):
    """The component exists already, or is in a state that refuses the change."""


class InferenceComponentRecords(AccountComponent):
    """The DescribeInferenceComponent responses, with the model each one serves."""

    component = COMPONENT
    migrations = _MIGRATIONS

    def insert(self, record: Mapping[str, Any], model: Mapping[str, Any]) -> None:
        name = str(record["InferenceComponentName"])
        with connection(self.database_path) as conn, transaction(conn):
            if conn.execute("SELECT 1 FROM inference_components WHERE name = ?", (name,)).fetchone():
                raise InferenceComponentConflict(
                    f'Cannot create already existing inference component "{record["InferenceComponentArn"]}".'
                )
            conn.execute(
                "INSERT INTO inference_components (name, endpoint_name, created_at, record, model, version) "
                "VALUES (?, ?, ?, ?, ?, 1)",
                (name, record["EndpointName"], now().isoformat(), dump_record(record), dump_record(model)),
            )

    def get(self, name: str) -> tuple[dict[str, Any], dict[str, Any], int]:
        """(record, model, version); InferenceComponentNotFound when there is none."""
        with connection(self.database_path) as conn:
            row = conn.execute(
                "SELECT record, model, version FROM inference_components WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            raise InferenceComponentNotFound(f"Could not find inference component '{name}'.")
        return load_record(row["record"]), load_record(row["model"]), int(row["version"])

    def exists(self, name: str) -> bool:
        with connection(self.database_path) as conn:
            found = conn.execute("SELECT 1 FROM inference_components WHERE name = ?", (name,)).fetchone()
        return found is not None

    def update(self, name: str, version: int, record: Mapping[str, Any], model: Mapping[str, Any]) -> bool:
        """Write if nobody changed the component since ``version`` was read."""
        with connection(self.database_path) as conn, transaction(conn):
            changed = conn.execute(
                "UPDATE inference_components SET record = ?, model = ?, version = version + 1 "
                "WHERE name = ? AND version = ?",
                (dump_record(record), dump_record(model), name, version),
            ).rowcount
        return bool(changed)

    def records(self) -> list[dict[str, Any]]:
        with connection(self.database_path) as conn:
            rows = conn.execute(
                "SELECT record FROM inference_components ORDER BY created_at DESC, name"
            ).fetchall()
        return [load_record(row["record"]) for row in rows]

    def delete(self, name: str) -> bool:
        with connection(self.database_path) as conn, transaction(conn):
            return bool(conn.execute("DELETE FROM inference_components WHERE name = ?", (name,)).rowcount)


class InferenceComponentHost:
    """The inference components of one :class:`EndpointHost`, and the model servers this
    process runs for them."""

    def __init__(self, endpoints: EndpointHost) -> None:
        self.endpoints = endpoints
        self.records = InferenceComponentRecords.from_config(endpoints.config)
        self._servers: dict[str, tuple[str, ModelServer]] = {}  # name -> (model served, server)
        self._lock = threading.RLock()
        self._closed = False

    # -- control plane --------------------------------------------------------------------------

    def create(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """CreateInferenceComponent: recorded as Creating, brought up in the background; returns
        the DescribeInferenceComponent response."""
        validate_request("CreateInferenceComponent", request)
        name = str(request["InferenceComponentName"])
        endpoint = self._endpoint(request)
        model = self._model(name, request)
        at = now()
        record: dict[str, Any] = {
            "InferenceComponentName": name,
            "InferenceComponentArn": self.arn(name),
            "EndpointName": endpoint["EndpointName"],
            "EndpointArn": endpoint["EndpointArn"],
            "VariantName": request.get("VariantName") or self._default_variant(endpoint),
            "Specification": _specification_summary(request["Specification"], model),
            "RuntimeConfig": _runtime_config(request, current=0),
            "CreationTime": at,
            "LastModifiedTime": at,
            "InferenceComponentStatus": "Creating",
        }
        self.records.insert(record, model)
        self._bring_up_async(name, model, previous=None)
        return record

    def update(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """UpdateInferenceComponent: a new Specification (a new model) and/or RuntimeConfig;
        Updating until the new model serves."""
        validate_request("UpdateInferenceComponent", request)
        name = str(request["InferenceComponentName"])
        record, model, version = self.records.get(name)
        status = record["InferenceComponentStatus"]
        if status in TRANSITIONAL:
            raise InferenceComponentConflict(f"Cannot update inference component {name} while it is {status}")
        new_model = self._model(name, request) if request.get("Specification") else model
        updated = {**record, "InferenceComponentStatus": "Updating", "LastModifiedTime": now()}
        updated.pop("FailureReason", None)
        if request.get("Specification"):
            updated["Specification"] = _specification_summary(request["Specification"], new_model)
        if request.get("RuntimeConfig"):
            current = (record.get("RuntimeConfig") or {}).get("CurrentCopyCount", 0)
            updated["RuntimeConfig"] = _runtime_config(request, current=current)
        if not self.records.update(name, version, updated, new_model):
            raise InferenceComponentConflict(f"inference component {name} changed while it was being updated")
        self._bring_up_async(name, new_model, previous=(record, model) if status == "InService" else None)
        return updated

    def describe(self, name: str) -> dict[str, Any]:
        return self.records.get(name)[0]

    def exists(self, name: str) -> bool:
        return self.records.exists(name)

    def list(self) -> list[dict[str, Any]]:
        members = structure_members("InferenceComponentSummary")
        return [project(record, members) for record in self.records.records()]

    def delete(self, name: str) -> None:
        if not self.records.delete(name):
            raise InferenceComponentNotFound(f"Could not find inference component '{name}'.")
        self._stop(name)

    def wait(self, name: str, *, cancel: threading.Event | None = None) -> dict[str, Any]:
        """The Describe response once the component left Creating/Updating (or ``cancel`` was set)."""
        pause = 0.02
        while True:
            record = self.describe(name)
            if record["InferenceComponentStatus"] not in TRANSITIONAL or (
                cancel is not None and cancel.is_set()
            ):
                return record
            time.sleep(pause)
            pause = min(pause * 1.5, 0.25)

    def arn(self, name: str) -> str:
        return self.endpoints.records.arn("inference-component", name)

    # -- serving --------------------------------------------------------------------------------

    def route(self, name: str, endpoint_name: str) -> tuple[str, int]:
        """(variant, port) of the model server for an invocation of component ``name`` on
        ``endpoint_name``; starts one in this process if none serves its current model here."""
        record, model, _version = self.records.get(name)
        if str(record["EndpointName"]).lower() != endpoint_name.lower():
            raise ValidationError(f"Inference component {name} is not deployed on endpoint {endpoint_name}")
        self.endpoints.records.get_endpoint(endpoint_name)  # ValidationException when it is gone
        status = record["InferenceComponentStatus"]
        if status not in ("InService", "Updating"):
            reason = record.get("FailureReason")
            raise ValidationError(
                f"Inference component {name} is {status}"
                + (f": {reason}" if reason else "; it serves once InService")
            )
        key = dump_record(model)
        with self._lock:
            cached = self._servers.get(name)
        if cached is not None and cached[0] == key and cached[1].alive:
            return str(record["VariantName"]), cached[1].port
        server = self._start(name, model)
        with self._lock:
            old = self._servers.get(name)
            self._servers[name] = (key, server)
        if old is not None and old[1] is not server:
            old[1].stop()
        return str(record["VariantName"]), server.port

    def close(self) -> None:
        self._closed = True
        with self._lock:
            servers = [server for _key, server in self._servers.values()]
            self._servers.clear()
        for server in servers:
            server.stop()

    # -- internals ------------------------------------------------------------------------------

    def _endpoint(self, request: Mapping[str, Any]) -> dict[str, Any]:
        name = str(request["EndpointName"])
        try:
            row = self.endpoints.records.get_endpoint(name)
        except EndpointNotFound as exc:
            raise ValidationError(f"Could not find endpoint '{name}'.") from exc
        variant = request.get("VariantName")
        if variant is not None:
            config = row.serving.config or self.endpoints.records.describe_config(
                str(row.record["EndpointConfigName"])
            )
            names = [str(v["VariantName"]) for v in config.get("ProductionVariants", [])]
            if variant not in names:
                raise ValidationError(
                    f"Endpoint {name} has no production variant {variant} (it has {', '.join(names)})"
                )
        return dict(row.record)

    def _default_variant(self, endpoint: Mapping[str, Any]) -> str:
        variants = endpoint.get("ProductionVariants") or []
        return str(variants[0]["VariantName"]) if variants else "AllTraffic"

    def _model(self, name: str, request: Mapping[str, Any]) -> dict[str, Any]:
        """The model the component serves, as a DescribeModel response: the registry's model
        named by Specification.ModelName, or one made of Specification.Container."""
        for member, what in _UNSUPPORTED.items():
            if request.get(member) or (request.get("Specification") or {}).get(member):
                raise ValidationError(
                    f"inference component {name}: {member} ({what}) is not supported by the embedded "
                    "runtime's endpoints; deploy to use it"
                )
        specification = request.get("Specification")
        if not isinstance(specification, Mapping):
            raise ValidationError(f"inference component {name}: Specification is required")
        if specification.get("ModelName"):
            model = self.endpoints.models.describe_model(str(specification["ModelName"]))
        elif isinstance(specification.get("Container"), Mapping):
            container = specification["Container"]
            model = {
                "ModelName": name,
                "PrimaryContainer": {
                    key: value
                    for key, value in (
                        ("Image", container.get("Image")),
                        ("ModelDataUrl", container.get("ArtifactUrl")),
                        ("Environment", container.get("Environment") or {}),
                    )
                    if value is not None
                },
            }
        else:
            raise ValidationError(
                f"inference component {name}: Specification needs a ModelName or a Container to serve"
            )
        try:
            model_container(model)
        except ModelLoadFailed as exc:
            raise ValidationError(f"inference component {name}: {exc}") from exc
        return load_record(dump_record(model))

    def _start(self, name: str, model: Mapping[str, Any]) -> ModelServer:
        try:
            return start_model_server(
                self.endpoints.config,
                model,
                name=f"inference component {name}",
                objects=self.endpoints.objects,
                ports=self.endpoints.ports(None),
                ready_timeout=self.endpoints.ready_timeout or DEFAULT_READY_TIMEOUT_SECONDS,
                log=self.endpoints.log,
            )
        except (ModelLoadFailed, OSError) as exc:
            raise ValidationError(f"inference component {name}: {exc}") from exc

    def _bring_up_async(
        self, name: str, model: dict[str, Any], previous: tuple[dict[str, Any], dict[str, Any]] | None
    ) -> None:
        threading.Thread(
            target=self._bring_up, args=(name, model, previous), name=f"component-{name}", daemon=True
        ).start()

    def _bring_up(
        self, name: str, model: dict[str, Any], previous: tuple[dict[str, Any], dict[str, Any]] | None
    ) -> None:
        try:
            server = self._start(name, model)
        except Exception as exc:  # never leave a component Creating for ever
            self._finish(name, model, None, str(exc), previous)
            return
        self._finish(name, model, server, None, previous)

    def _finish(
        self,
        name: str,
        model: dict[str, Any],
        server: ModelServer | None,
        reason: str | None,
        previous: tuple[dict[str, Any], dict[str, Any]] | None,
    ) -> None:
        while True:
            try:
                record, _current, version = self.records.get(name)
            except InferenceComponentNotFound:  # deleted while it came up
                if server is not None:
                    server.stop()
                return
            if server is not None:
                record = {
                    **record,
                    "InferenceComponentStatus": "InService",
                    "LastModifiedTime": now(),
                }
                record.pop("FailureReason", None)
                runtime = record.get("RuntimeConfig") or {}
                if "DesiredCopyCount" in runtime:
                    record["RuntimeConfig"] = {**runtime, "CurrentCopyCount": runtime["DesiredCopyCount"]}
                stored_model = model
            elif previous is not None:  # a failed update: the old model keeps serving
                record = {
                    **previous[0],
                    "InferenceComponentStatus": "InService",
                    "FailureReason": f"the update did not take effect: {reason}",
                    "LastModifiedTime": now(),
                }
                stored_model = previous[1]
            else:
                record = {
                    **record,
                    "InferenceComponentStatus": "Failed",
                    "FailureReason": reason,
                    "LastModifiedTime": now(),
                }
                stored_model = model
            if self.records.update(name, version, record, stored_model):
                break
        if server is None:
            return
        with self._lock:
            old = self._servers.get(name)
            self._servers[name] = (dump_record(model), server)
        if old is not None:
            old[1].stop()

    def _stop(self, name: str) -> None:
        with self._lock:
            cached = self._servers.pop(name, None)
        if cached is not None:
            cached[1].stop()


def _specification_summary(specification: Mapping[str, Any], model: Mapping[str, Any]) -> dict[str, Any]:
    """InferenceComponentSpecificationSummary: what DescribeInferenceComponent reports."""
    summary = {
        key: specification[key]
        for key in ("ModelName", "StartupParameters", "ComputeResourceRequirements")
        if key in specification
    }
    container = specification.get("Container")
    if isinstance(container, Mapping):
        image = model_container(model).get("Image", "")
        summary["Container"] = {
            "DeployedImage": {
                "SpecifiedImage": image,
                "ResolvedImage": image,
                "ResolutionTime": now(),
            },
            **{key: container[key] for key in ("ArtifactUrl", "Environment") if key in container},
        }
    return summary


def _runtime_config(request: Mapping[str, Any], *, current: int) -> dict[str, Any]:
    copies = (request.get("RuntimeConfig") or {}).get("CopyCount", 1)
    return {"DesiredCopyCount": copies, "CurrentCopyCount": current}
