"""The endpoints one process hosts: the control plane of the embedded runtime's endpoints.

An :class:`EndpointHost` carries out CreateEndpointConfig, CreateEndpoint, UpdateEndpoint and
DeleteEndpoint over the records of :mod:`pipelines.hosting.records`, and runs each endpoint's
production variants as model servers (:mod:`pipelines.hosting.model_server`). One host per state
database per process (:meth:`EndpointHost.for_config`): ``pipelines serve`` and a ``pipelines
run`` each have one, and the records say which live process hosts which endpoint.

Statuses as the service reports them: ``Creating`` -> ``InService``, or ``Failed`` with the
FailureReason when a model cannot load; ``Updating`` -> ``InService`` (the new variants come up
and take the traffic before the old ones stop; a failed update leaves the old ones serving and
says why in FailureReason); ``SystemUpdating`` while a host brings back an endpoint whose host
process ended (:meth:`EndpointHost.restore`, what ``pipelines serve`` does at start).

Servers die with the process that hosts them (a ``pipelines run`` hosts its endpoints while it
runs); the records stay, so the next ``pipelines serve`` brings every endpoint back, on its old
port when that is free. Another process may delete or update an endpoint that this one hosts:
the old model servers are ended by their recorded process identity.
"""

from __future__ import annotations

import atexit
import logging
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from pipelines.config import Config
from pipelines.errors import ValidationError
from pipelines.hosting.components import InferenceComponentHost
from pipelines.hosting.model_server import (
    DEFAULT_READY_TIMEOUT_SECONDS,
    ModelLoadFailed,
    ModelServer,
    candidate_ports,
    model_container,
    start_model_server,
)
from pipelines.hosting.records import (
    EndpointChanged,
    EndpointConflict,
    EndpointNotFound,
    EndpointRecords,
    EndpointRow,
    Serving,
    VariantProcess,
    now,
)
from pipelines.objects.base import ObjectStore
from pipelines.objects.local import LocalObjectStore
from pipelines.registry import ModelRegistry
from pipelines.registry.shapes import project, structure_members, validate_request
from pipelines.runners.processes import ProcessIdentity, identify, terminate

log = logging.getLogger(__name__)

TRANSITIONAL = frozenset({"Creating", "Updating", "SystemUpdating", "Deleting"})
# What CreateEndpointConfig may hold that a local endpoint does not do: refused, with the reason.
_UNSUPPORTED_CONFIG = {
    "AsyncInferenceConfig": "asynchronous inference",
    "ShadowProductionVariants": "shadow variants",
    "ExplainerConfig": "online explainability (Clarify explainer)",
}
PortChooser = Callable[[int | None], Iterator[int]]


class Route(NamedTuple):
    variant: str
    port: int
    config: dict[str, Any] | None  # the endpoint config it serves (None only for old records)


class EndpointNotReady(ValidationError):
    """The endpoint exists but does not serve (Creating, Failed, ...); InvokeEndpoint refuses."""


class EndpointHost:
    """Creates, updates, deletes, describes and serves endpoints from this process."""

    _shared: dict[Path, EndpointHost] = {}
    _shared_lock = threading.Lock()
    _live_tokens: set[str] = set()  # hosts of this process that are not closed

    def __init__(
        self,
        config: Config,
        *,
        objects: ObjectStore | None = None,
        ports: PortChooser = candidate_ports,
        ready_timeout: float = DEFAULT_READY_TIMEOUT_SECONDS,
        log: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.config = config
        self.objects = objects or LocalObjectStore(config.object_root)
        self.records = EndpointRecords.from_config(config)
        self.models = ModelRegistry.from_config(config)
        self.ports = ports
        self.ready_timeout = ready_timeout
        self.log = log
        self.identity = identify(os.getpid())
        self.token = uuid.uuid4().hex
        EndpointHost._live_tokens.add(self.token)
        self._servers: dict[str, list[ModelServer]] = {}  # endpoint name (lower case) -> servers
        self._lock = threading.RLock()
        self._name_locks: dict[str, threading.Lock] = {}
        self._closed = False
        self._components: InferenceComponentHost | None = None

    @property
    def components(self) -> InferenceComponentHost:
        """The inference components deployed onto this host's endpoints (made on first use)."""
        with self._lock:
            if self._components is None:
                self._components = InferenceComponentHost(self)
            return self._components

    @classmethod
    def for_config(cls, config: Config) -> EndpointHost:
        """This process's host for the config's state database (made on first use, closed at exit)."""
        key = Path(config.database_path).resolve()
        with cls._shared_lock:
            host = cls._shared.get(key)
            if host is None or host._closed:
                host = cls._shared[key] = cls(config)
                atexit.register(host.close)
            return host

    # -- endpoint configs -----------------------------------------------------------------------

    def create_endpoint_config(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """CreateEndpointConfig; returns the DescribeEndpointConfig response. The same request
        again returns the existing config (a step that runs again); a different one is refused."""
        validate_request("CreateEndpointConfig", request)
        for member, what in _UNSUPPORTED_CONFIG.items():
            if request.get(member):
                raise ValidationError(
                    f"CreateEndpointConfig {request['EndpointConfigName']}: {member} ({what}) is not supported "
                    "by the embedded runtime's endpoints; deploy to use it"
                )
        for variant in request["ProductionVariants"]:
            if not variant.get("ModelName"):
                continue  # a variant for inference components (hosting/components.py) to deploy onto
            model = self.models.describe_model(str(variant["ModelName"]))  # must exist, as the service checks
            try:
                model_container(model)
            except ModelLoadFailed as exc:
                raise ValidationError(f"CreateEndpointConfig {request['EndpointConfigName']}: {exc}") from exc
        record, _created = self.records.create_config(request)
        return record

    def describe_endpoint_config(self, name: str) -> dict[str, Any]:
        return self.records.describe_config(name)

    def list_endpoint_configs(self) -> list[dict[str, Any]]:
        return self.records.list_configs()

    def delete_endpoint_config(self, name: str) -> None:
        """DeleteEndpointConfig, also of a config in use, as the service allows: its endpoints
        keep serving (and come back) from the config they recorded."""
        self.records.delete_config(name)

    # -- endpoints ------------------------------------------------------------------------------

    def create_endpoint(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """CreateEndpoint: records the endpoint as Creating and brings it up in the background;
        returns the DescribeEndpoint response."""
        validate_request("CreateEndpoint", request)
        name = str(request["EndpointName"])
        config = self.records.describe_config(str(request["EndpointConfigName"]))
        at = now()
        record = {
            "EndpointName": name,
            "EndpointArn": self.records.arn("endpoint", name),
            "EndpointConfigName": config["EndpointConfigName"],
            "EndpointStatus": "Creating",
            "CreationTime": at,
            "LastModifiedTime": at,
        }
        row = self.records.insert_endpoint(record, Serving(host=self.identity, token=self.token))
        self._bring_up_async(row, config, previous=None)
        return dict(row.record)

    def update_endpoint(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """UpdateEndpoint to another config: Updating until the new variants serve."""
        validate_request("UpdateEndpoint", request)
        row = self.records.get_endpoint(str(request["EndpointName"]))
        if row.status in TRANSITIONAL or (row.status == "Failed" and not row.serving.variants):
            raise EndpointConflict(
                f'Cannot update endpoint "{row.record["EndpointArn"]}" while it is {row.status}'
                + (": delete it and create it again" if row.status == "Failed" else "")
            )
        config = self.records.describe_config(str(request["EndpointConfigName"]))
        record = {**row.record, "EndpointStatus": "Updating", "LastModifiedTime": now()}
        record.pop("FailureReason", None)
        updated = self.records.update_endpoint(row, record=record)
        self._bring_up_async(updated, config, previous=row.serving)
        return dict(updated.record)

    def delete_endpoint(self, name: str) -> None:
        """DeleteEndpoint: ends its model servers (wherever they run) and forgets it."""
        row = self.records.get_endpoint(name)
        self.records.delete_endpoint(row.name)
        self._end_servers(row.name, row.serving)

    def describe_endpoint(self, name: str) -> dict[str, Any]:
        return dict(self.records.get_endpoint(name).record)

    def list_endpoints(self) -> list[dict[str, Any]]:
        members = structure_members("EndpointSummary")
        return [project(row.record, members) for row in self.records.endpoints()]

    def wait(
        self, name: str, *, timeout: float | None = None, cancel: threading.Event | None = None
    ) -> dict[str, Any]:
        """The DescribeEndpoint response once the endpoint left Creating/Updating/SystemUpdating
        (or when ``timeout`` passed, or ``cancel`` was set)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = 0.02
        while True:
            record = self.describe_endpoint(name)
            if record["EndpointStatus"] not in TRANSITIONAL:
                return record
            if (deadline is not None and time.monotonic() >= deadline) or (
                cancel is not None and cancel.is_set()
            ):
                return record
            time.sleep(pause)
            pause = min(pause * 1.5, 0.25)

    # -- serving ------------------------------------------------------------------------------

    def target(self, name: str, variant: str | None = None, *, wait_seconds: float = 60.0) -> tuple[str, int]:
        """(variant name, port) that serves an invocation of ``name`` (see :meth:`route`)."""
        chosen = self.route(name, variant, wait_seconds=wait_seconds)
        return chosen.variant, chosen.port

    def route(self, name: str, variant: str | None = None, *, wait_seconds: float = 60.0) -> Route:
        """Where an invocation of ``name`` goes, and the config the endpoint serves (its
        DataCaptureConfig). An endpoint that no live process hosts is brought back here first;
        one being brought back is waited for. ``variant``: InvokeEndpoint's TargetVariant."""
        row = self.records.get_endpoint(name)
        if row.status != "Failed" and not self.is_hosted(row):
            self._adopt(row)
            row = self.records.get_endpoint(name)
        if row.status in ("SystemUpdating", "Creating") and wait_seconds > 0:
            self.wait(name, timeout=wait_seconds)
            row = self.records.get_endpoint(name)
        if row.status in ("InService", "Updating") and not row.serving.variants:
            raise ValidationError(
                f"Endpoint {row.name} serves inference components only: name one with InferenceComponentName "
                "(the X-Amzn-SageMaker-Inference-Component header)"
            )
        if row.status not in ("InService", "Updating") or not row.serving.variants:
            reason = row.record.get("FailureReason")
            raise EndpointNotReady(
                f"Endpoint {row.name} is {row.status}"
                + (f": {reason}" if reason else "; it serves invocations once it is InService")
            )
        variants = row.serving.variants
        if variant is not None:
            chosen = next((v for v in variants if v.variant_name == variant), None)
            if chosen is None:
                raise ValidationError(f"Endpoint {row.name} has no production variant {variant}")
        else:
            weights = [max(v.weight, 0.0) for v in variants]
            chosen = random.choices(variants, weights=weights)[0] if sum(weights) > 0 else variants[0]
        return Route(chosen.variant_name, chosen.port, row.serving.config)

    def restore(self) -> list[str]:
        """Bring back every recorded endpoint that no live process hosts (``pipelines serve`` at
        start); returns their names. They are SystemUpdating until they serve again."""
        restored = []
        for row in self.records.endpoints():
            if row.status not in ("Failed", "Deleting") and not self.is_hosted(row) and self._adopt(row):
                restored.append(row.name)
        return restored

    def close(self) -> None:
        """Stop the model servers this process runs; the records stay for the next host."""
        self._closed = True
        EndpointHost._live_tokens.discard(self.token)
        if self._components is not None:
            self._components.close()
        with self._lock:
            servers = [s for group in self._servers.values() for s in group]
            self._servers.clear()
        for server in servers:
            server.stop()

    # -- internals ----------------------------------------------------------------------------

    def is_hosted(self, row: EndpointRow) -> bool:
        """True when a live process (this one or another) hosts or is bringing up the endpoint."""
        host = row.serving.host
        if host is None:
            return False
        if row.serving.token == self.token:
            return not self._closed
        if host == self.identity:  # another host of this process
            return row.serving.token in EndpointHost._live_tokens
        return _alive(host)

    def _adopt(self, row: EndpointRow) -> bool:
        """Claim an unhosted endpoint for this process and bring it back; False if another
        process claimed it first."""
        lock = self._name_lock(row.name)
        with lock:
            try:
                current = self.records.get_endpoint(row.name)
            except EndpointNotFound:
                return False
            if self.is_hosted(current):
                return False
            status = "Creating" if current.status == "Creating" else "SystemUpdating"
            record = {**current.record, "EndpointStatus": status}
            try:
                claimed = self.records.update_endpoint(
                    current,
                    record=record,
                    serving=Serving(
                        host=self.identity,
                        variants=current.serving.variants,
                        token=self.token,
                        config=current.serving.config,
                    ),
                )
            except EndpointChanged:
                return False
        try:
            config = claimed.serving.config or self.records.describe_config(
                str(claimed.record["EndpointConfigName"])
            )
        except EndpointNotFound as exc:
            reason = str(exc)
            self._mutate(
                claimed.name,
                lambda r: ({**r.record, "EndpointStatus": "Failed", "FailureReason": reason}, None),
            )
            return True
        self.log(f"bringing endpoint {claimed.name} back")
        self._bring_up_async(claimed, config, previous=None, keep_ports=current.serving.variants)
        return True

    def _name_lock(self, name: str) -> threading.Lock:
        with self._lock:
            return self._name_locks.setdefault(name.lower(), threading.Lock())

    def _bring_up_async(
        self,
        row: EndpointRow,
        config: Mapping[str, Any],
        *,
        previous: Serving | None,
        keep_ports: list[VariantProcess] | None = None,
    ) -> None:
        thread = threading.Thread(
            target=self._bring_up_safely,
            args=(row.name, dict(config), previous, keep_ports or []),
            name=f"endpoint-{row.name}",
            daemon=True,
        )
        thread.start()

    def _bring_up_safely(
        self, name: str, config: dict[str, Any], previous: Serving | None, keep_ports: list[VariantProcess]
    ) -> None:
        try:
            self._bring_up(name, config, previous, keep_ports)
        except Exception as exc:  # never leave an endpoint Creating for ever
            log.exception("could not bring endpoint %s up", name)
            self._failed(name, f"the endpoint could not be brought up: {type(exc).__name__}: {exc}", previous)

    def _bring_up(
        self,
        name: str,
        config: dict[str, Any],
        previous: Serving | None,
        keep_ports: list[VariantProcess],
    ) -> None:
        started: list[ModelServer] = []
        summaries: list[dict[str, Any]] = []
        variants: list[VariantProcess] = []
        old_ports = {v.variant_name: v.port for v in keep_ports}
        try:
            for variant in config["ProductionVariants"]:
                variant_name = str(variant["VariantName"])
                if not variant.get("ModelName"):  # its inference components serve, not the variant
                    summaries.append(
                        _variant_summary(variant, None, float(variant.get("InitialVariantWeight", 1.0)))
                    )
                    continue
                model = self.models.describe_model(str(variant["ModelName"]))
                server = start_model_server(
                    self.config,
                    model,
                    name=f"endpoint {name} (variant {variant_name})",
                    objects=self.objects,
                    ports=self.ports(old_ports.get(variant_name)),
                    ready_timeout=float(
                        variant.get("ContainerStartupHealthCheckTimeoutInSeconds") or self.ready_timeout
                    ),
                    log=self.log,
                )
                started.append(server)
                identity = server.process
                weight = float(variant.get("InitialVariantWeight", 1.0))
                variants.append(
                    VariantProcess(
                        variant_name,
                        str(variant["ModelName"]),
                        server.port,
                        weight,
                        identity,
                        str(server.log_path),
                    )
                )
                summaries.append(_variant_summary(variant, model, weight))
        except (ValidationError, OSError) as exc:
            for server in started:
                server.stop()
            self._failed(name, str(exc), previous)
            return
        config_name = str(config["EndpointConfigName"])

        def succeed(row: EndpointRow) -> tuple[dict[str, Any], Serving]:
            record = {
                **row.record,
                "EndpointConfigName": config_name,
                "EndpointStatus": "InService",
                "ProductionVariants": summaries,
                "LastModifiedTime": now(),
            }
            record.pop("FailureReason", None)
            return record, Serving(host=self.identity, variants=variants, token=self.token, config=config)

        if not self._mutate(name, succeed):  # deleted while it came up
            for server in started:
                server.stop()
            return
        with self._lock:
            old = self._servers.get(name.lower(), [])
            self._servers[name.lower()] = started
        for server in started:
            threading.Thread(target=self._watch, args=(name, server), daemon=True).start()
        for server in old:
            server.stop()
        if previous is not None:
            self._end_servers(name, previous, keep_local=True)

    def _failed(self, name: str, reason: str, previous: Serving | None) -> None:
        self.log(f"endpoint {name}: {reason}")

        def fail(row: EndpointRow) -> tuple[dict[str, Any], Serving | None]:
            if previous is not None and previous.variants:  # a failed update: the old variants keep serving
                return {
                    **row.record,
                    "EndpointStatus": "InService",
                    "FailureReason": f"the update did not take effect: {reason}",
                    "LastModifiedTime": now(),
                }, None
            return {
                **row.record,
                "EndpointStatus": "Failed",
                "FailureReason": reason,
                "LastModifiedTime": now(),
            }, Serving(host=None, variants=[])

        self._mutate(name, fail)

    def _watch(self, name: str, server: ModelServer) -> None:
        """A model server that ends on its own fails its endpoint (unless it was replaced or deleted)."""
        server.wait_exited()
        reason = server.exit_reason
        if reason is None or self._closed:
            return

        def crashed(row: EndpointRow) -> tuple[dict[str, Any], Serving | None] | None:
            if (
                not any(v.port == server.port for v in row.serving.variants)
                or row.serving.token != self.token
            ):
                return None
            return {
                **row.record,
                "EndpointStatus": "Failed",
                "FailureReason": f"a model server stopped: {reason}",
                "LastModifiedTime": now(),
            }, Serving(host=None, variants=[])

        self._mutate(name, crashed)

    def _mutate(
        self,
        name: str,
        change: Callable[[EndpointRow], tuple[dict[str, Any], Serving | None] | None],
    ) -> bool:
        """Apply ``change`` to the endpoint's latest row until the write wins; False if the
        endpoint is gone (or ``change`` declined)."""
        while True:
            try:
                row = self.records.get_endpoint(name)
            except EndpointNotFound:
                return False
            changed = change(row)
            if changed is None:
                return False
            record, serving = changed
            try:
                self.records.update_endpoint(row, record=record, serving=serving)
                return True
            except EndpointChanged:
                continue

    def _end_servers(self, name: str, serving: Serving, *, keep_local: bool = False) -> None:
        """Stop the servers of ``serving``: ours directly, another live process's by identity."""
        if serving.token == self.token and not keep_local:
            with self._lock:
                local = self._servers.pop(name.lower(), [])
            for server in local:
                server.stop()
            return
        for variant in serving.variants:
            if variant.process is not None:
                with self._lock:
                    mine = [s for g in self._servers.values() for s in g if s.process == variant.process]
                if not mine:
                    terminate(variant.process)


def _alive(identity: ProcessIdentity) -> bool:
    return identify(identity.pid) == identity


def _variant_summary(
    variant: Mapping[str, Any], model: Mapping[str, Any] | None, weight: float
) -> dict[str, Any]:
    """ProductionVariantSummary: what DescribeEndpoint reports per variant (no DeployedImages
    for a variant that only inference components deploy onto)."""
    count = int(variant.get("InitialInstanceCount", 1))
    summary: dict[str, Any] = {"VariantName": variant["VariantName"]}
    if model is not None:
        image = model_container(model).get("Image", "")
        summary["DeployedImages"] = [
            {"SpecifiedImage": image, "ResolvedImage": image, "ResolutionTime": now()}
        ]
    summary.update(
        {
            "CurrentWeight": weight,
            "DesiredWeight": weight,
            "CurrentInstanceCount": count,
            "DesiredInstanceCount": count,
        }
    )
    if variant.get("ServerlessConfig"):
        summary["CurrentServerlessConfig"] = variant["ServerlessConfig"]
        summary["DesiredServerlessConfig"] = variant["ServerlessConfig"]
    return summary


def delete_local_endpoint(config: Config, name: str) -> bool:
    """Delete the endpoint ``name`` of the config's state database, wherever it is served: its
    model servers end and its record goes. Returns False when no such endpoint exists. This is
    what a pipeline's Cleanup step calls for an endpoint (and ``pipelines endpoints delete``)."""
    try:
        EndpointHost.for_config(config).delete_endpoint(name)
    except EndpointNotFound:
        return False
    return True
