"""The embedded API: every service of ``pipelines serve`` wired over one config.

SageMaker operations run over the embedded runtime (endpoints and InvokeEndpoint over this
process's :class:`~pipelines.hosting.EndpointHost`, which brings back recorded endpoints at start) (SQLite store, local object store, local
runners), the job operations and the CloudWatch Logs subset over its job records and job logs; executions started through the API are driven by background threads of the server
process. The Scheduler subset fires schedules from a thread of the same process; the RAM
subset is the sharing policy the SageMaker operations enforce; the S3 endpoint serves the
object root the runners use.
"""

from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass

from pipelines.api.browser import BrowserGuard, is_loopback
from pipelines.api.identity import Authenticator
from pipelines.api.logs import JobLogs
from pipelines.api.ops import Operations, sagemaker_handlers
from pipelines.api.ops.automl import automl_handlers
from pipelines.api.ops.endpoints import endpoint_handlers
from pipelines.api.ops.inference_components import inference_component_handlers
from pipelines.api.ram import ResourceShares
from pipelines.api.ram_storage import SqliteShareStorage
from pipelines.api.rest import RestService
from pipelines.api.runtime import RuntimeService
from pipelines.api.s3 import ObjectRoot, S3Service
from pipelines.api.scheduler import LocalScheduler, SchedulerThread, scheduler_handlers
from pipelines.api.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    DEFAULT_THREADS,
    ApiServer,
    Services,
    make_wsgi_app,
)
from pipelines.api.sts import sts_service
from pipelines.api.wire import JsonService
from pipelines.authorization import Authorizer, LocalEvaluator, authorized_handlers
from pipelines.authorization.sources import load_policy_files
from pipelines.config import Config
from pipelines.console.serve import with_console
from pipelines.engine import Clock, SystemClock
from pipelines.errors import ValidationError
from pipelines.hosting import EndpointHost
from pipelines.registry import ModelRegistry
from pipelines.runners.jobs.joblog import job_log_path
from pipelines.runtime.embedded import EmbeddedRuntime
from pipelines.triggers.fire import operations_starter

log = logging.getLogger(__name__)


class UnauthenticatedRemote(ValidationError):
    """``pipelines serve`` asked to listen beyond loopback with nothing proving who calls."""


EVENT_SWEEP_SECONDS = 30.0


@dataclass
class EmbeddedApi:
    """The wired services and the workers that serve them."""

    config: Config
    runtime: EmbeddedRuntime
    operations: Operations
    scheduler: LocalScheduler
    shares: ResourceShares
    services: Services
    endpoints: EndpointHost

    def server(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        run_scheduler: bool = True,
        resume: bool = True,
        scheduler_poll_seconds: float = 1.0,
        allow_unauthenticated: bool = False,
        threads: int = DEFAULT_THREADS,
    ) -> ApiServer:
        """An HTTP server for these services; its scheduler thread and the resumption of
        executions whose driver died start with it and stop with it.

        Without secret keys in ``[accounts]`` nothing proves who calls, so the server listens
        on loopback only unless ``allow_unauthenticated`` says otherwise."""
        if not self.config.verifies_signatures and not is_loopback(host) and not allow_unauthenticated:
            raise UnauthenticatedRemote(
                f"refusing to listen on {host}: without secret keys in [accounts] anyone who can "
                "reach the port acts as the owner. Add [accounts] with secret_key entries, listen "
                "on 127.0.0.1, or pass --allow-unauthenticated"
            )
        app = with_console(make_wsgi_app(self.services), self.services.guard, self.config.region)
        server = ApiServer(app, host, port, threads=threads)
        self.services.guard.listening_on(server.host)
        server.on_stop(self.close)  # stop callbacks run last-registered first: close after the workers
        if run_scheduler:
            thread = SchedulerThread(self.scheduler, poll_seconds=scheduler_poll_seconds).start()
            server.on_stop(thread.stop)
        if resume:
            threading.Thread(target=self._resume_orphans, name="pipelines-resume", daemon=True).start()
            threading.Thread(target=self._restore_endpoints, name="pipelines-endpoints", daemon=True).start()
            stopped = threading.Event()
            threading.Thread(
                target=self._sweep_events, args=(stopped,), name="pipelines-events", daemon=True
            ).start()
            server.on_stop(stopped.set)
        return server

    def _sweep_events(self, stopped: threading.Event) -> None:
        """Publish, every EVENT_SWEEP_SECONDS, status events another process committed and
        never published (killed in between: ``pipelines callback``, ``pipelines stop``), for an
        execution no later call touches (the start-up ``resume`` sweeps once first)."""
        while not stopped.wait(EVENT_SWEEP_SECONDS):
            self.runtime.publish_pending_events()

    def _restore_endpoints(self) -> None:
        try:
            restored = self.endpoints.restore()
        except Exception:
            log.exception("could not bring the recorded endpoints back")
            return
        if restored:
            log.info("bringing back %d endpoint(s): %s", len(restored), ", ".join(restored))

    def _resume_orphans(self) -> None:
        try:
            self.runtime.resume()
        except Exception:
            log.exception("could not resume unfinished executions")

    def close(self) -> None:
        self.endpoints.close()  # the model servers stop; their records stay for the next serve
        self.scheduler.close()
        self.shares.close()
        self.runtime.observers.close(10.0)  # flush the tracking writes (MLflow) still queued

    def describe_security(self) -> str:
        """One line for the start banner: who may call, and how that is established."""
        if self.config.verifies_signatures:
            return (
                f"SigV4 signatures verified for {len(self.config.accounts)} access key(s) in [accounts]; "
                "unsigned and unknown callers are refused"
            )
        if self.config.accounts:
            return (
                f"identities NOT verified: [accounts] maps {len(self.config.accounts)} access key(s) "
                "without secret keys, so any caller can claim them (an identity, not a lock)"
            )
        return (
            f"single-user: no [accounts], so every request acts as account {self.config.account_id} "
            "and signatures are not checked"
        )


def local_authorizer(config: Config) -> Authorizer | None:
    """The ``[policies]`` files' authorizer: the accounts that have one are authorized by it."""
    if not config.policies:
        return None
    source = load_policy_files(config.policies)
    return Authorizer(LocalEvaluator(source), lambda principal: source.governs(principal.account))


def build_embedded_api(
    config: Config,
    *,
    runtime: EmbeddedRuntime | None = None,
    clock: Clock | None = None,
    strict_shapes: bool = False,
) -> EmbeddedApi:
    """Wire the SageMaker, Scheduler, RAM and S3 services of the embedded runtime."""
    clock = clock or SystemClock()
    runtime = runtime or EmbeddedRuntime(config, clock=clock)
    config.state_dir.mkdir(parents=True, exist_ok=True)
    config.object_root.mkdir(parents=True, exist_ok=True)
    shares = ResourceShares(SqliteShareStorage(config.state_dir / "ram.sqlite"), runtime.store, clock=clock)
    operations = Operations(
        store=runtime.store,
        runtime=runtime,
        objects=runtime.objects,
        region=config.region,
        sharing=shares,
        clock=clock,
    )
    scheduler = LocalScheduler(
        config.state_dir / "schedules.sqlite",
        runtime.store,
        operations_starter(operations, config.region),
        clock=clock,
        sharing=shares,
    )
    operations.on_pipeline_deleted.extend([scheduler.delete_schedules_for_target, shares.forget_resource])
    accounts = {key: str(config.account_of(key)) for key in config.accounts}
    guard = functools.partial(
        authorized_handlers,
        authorizer=local_authorizer(config),
        ops=operations,
        is_owner=lambda _account: True,  # locally every account creates its own pipelines
        owner_only=frozenset(),
    )
    endpoints = EndpointHost.for_config(config)
    secrets = {key: str(config.secret_of(key)) for key in config.accounts if config.secret_of(key)}
    object_root = ObjectRoot(
        config.object_root, config.state_dir, default_owner=config.account_id, enforce_owners=bool(accounts)
    )
    services = Services(
        sagemaker=JsonService(
            "sagemaker",
            guard(
                {
                    **sagemaker_handlers(
                        operations,
                        jobs=runtime.jobs,
                        registry=ModelRegistry.from_config(config),
                        publish=runtime.publisher.publish,
                    ),
                    **endpoint_handlers(endpoints),
                    **inference_component_handlers(endpoints),
                    **automl_handlers(operations, runtime.jobs),
                }
            ),
            strict_shapes=strict_shapes,
        ),
        region=config.region,
        default_account=config.account_id,
        scheduler=RestService(
            "scheduler",
            guard(scheduler_handlers(scheduler), service="scheduler"),
            strict_shapes=strict_shapes,
        ),
        ram=RestService("ram", shares.handlers(), strict_shapes=strict_shapes),
        s3=S3Service(object_root, strict_shapes=strict_shapes),
        logs=JsonService(
            "logs",
            JobLogs(
                runtime.jobs, functools.partial(job_log_path, config), config.account_id, config.region
            ).handlers(),
            strict_shapes=strict_shapes,
        ),
        sts=sts_service(strict_shapes=strict_shapes),
        runtime=RuntimeService(endpoints, guard),
        authenticator=Authenticator(accounts, secrets, config.account_id),
        guard=BrowserGuard(config.serve.allowed_hosts, config.serve.allowed_origins),
    )
    return EmbeddedApi(config, runtime, operations, scheduler, shares, services, endpoints)
