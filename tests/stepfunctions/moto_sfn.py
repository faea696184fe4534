"""Test-only patches that let moto 5.2.5's ASL interpreter run the StepRunner machine in-process.

moto executes ASL (``execute_state_machine``) but, as shipped, cannot evaluate JSONata, has no
``.sync`` for SageMaker jobs, runs Lambda functions only in docker, and sleeps through Wait
states. :func:`patch_moto_sfn` fixes all four through ``monkeypatch`` (undone after each test):

- JSONata is evaluated by ``jsonata-python``;
- Wait states and Retry intervals do not sleep; every Wait records its seconds in ``waits``;
- Lambda invocations run the Python handler registered in ``handlers`` under the function name;
- ``sagemaker:create*Job.sync`` polls the matching Describe* until Completed / Failed / Stopped,
  returning the Describe output as AWS does (or failing with States.TaskFailed, Cause = Describe);
- each ASL parse gets its own query-language scope stack (moto shares one list across parses,
  so concurrent starts of JSONata machines crash while parsing and hang RUNNING);
- calls moto cannot serve (AutoML v1, EMR's Step Functions-only actions) can be answered by a
  test's ``fakes[(service, action)]``; a ``(service, action + ".sync")`` fake answers the wait
  and may raise :class:`FakeTaskFailed`.

The module patches moto internals, hence the ``moto==5.2.5`` pin in requirements-dev.txt.
"""

from __future__ import annotations

import datetime
import json
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonata
import pytest
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.stepfunctions.parser.api import HistoryEventType, TaskFailedEventDetails
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_unsupported as unsupported,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk import (
    StateTaskServiceAwsSdk,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for

Handler = Callable[[Any, Any], Any]

# create action -> (describe action, name member, status member)
_SYNC_JOBS = {
    "create_processing_job": ("describe_processing_job", "ProcessingJobName", "ProcessingJobStatus"),
    "create_training_job": ("describe_training_job", "TrainingJobName", "TrainingJobStatus"),
    "create_transform_job": ("describe_transform_job", "TransformJobName", "TransformJobStatus"),
    "create_hyper_parameter_tuning_job": (
        "describe_hyper_parameter_tuning_job",
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobStatus",
    ),
}


@dataclass
class MotoSfn:
    """What the patched interpreter records and calls."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    waits: list[int] = field(default_factory=list)
    invocations: list[tuple[str, Any]] = field(default_factory=list)
    fakes: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)


class FakeTaskFailed(Exception):
    """Raised by a ``.sync`` fake: the Task fails with States.TaskFailed and this cause."""


def patch_moto_sfn(monkeypatch: pytest.MonkeyPatch) -> MotoSfn:
    state = MotoSfn()

    monkeypatch.setattr(moto_jsonata, "_eval_jsonata", lambda expr: jsonata.Jsonata(expr).evaluate(None))

    shared_scope_init = Preprocessor.__init__

    def per_parse_scope_init(self: Preprocessor, *args: Any, **kwargs: Any) -> None:
        shared_scope_init(self, *args, **kwargs)
        self._query_language_per_scope = []

    monkeypatch.setattr(Preprocessor, "__init__", per_parse_scope_init)

    def record_wait(self: Any, env: Any, wait_seconds: int) -> None:
        state.waits.append(wait_seconds)

    monkeypatch.setattr(WaitFunction, "_wait_interval", record_wait)
    monkeypatch.setattr(retrier_decl, "time", types.SimpleNamespace(sleep=lambda _seconds: None))

    def invoke_in_process(
        self: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        function = self.get_function(function_name, qualifier)  # ResourceNotFound as on AWS
        event = json.loads(body or "{}")
        state.invocations.append((function.function_name, event))
        try:
            return json.dumps(state.handlers[function.function_name](event, None)).encode()
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke_in_process)

    monkeypatch.setattr(
        unsupported,
        "_SUPPORTED_INTEGRATION_PATTERNS",
        {ResourceCondition.WaitForTaskToken, ResourceCondition.Sync},
    )
    monkeypatch.setattr(
        unsupported.StateTaskServiceUnsupported,
        "_build_sync_resolver",
        _sync_resolver_for(state, _sagemaker_sync_resolver),
    )
    for service_class in (unsupported.StateTaskServiceUnsupported, StateTaskServiceAwsSdk):
        monkeypatch.setattr(
            service_class, "_eval_service_task", _faked(state, service_class._eval_service_task)
        )
    return state


def _faked(state: MotoSfn, real: Callable[..., None]) -> Callable[..., None]:
    def eval_service_task(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        key = (self.resource.api_name, self.resource.api_action)
        if key not in state.fakes:
            real(self, env, resource_runtime_part, normalised_parameters, state_credentials)
            return
        state.calls.append((*key, normalised_parameters))
        env.stack.append(state.fakes[key](normalised_parameters))

    return eval_service_task


def _sync_resolver_for(
    state: MotoSfn, real: Callable[..., Callable[[], Any]]
) -> Callable[..., Callable[[], Any]]:
    def build(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> Callable[[], Any]:
        fake = state.fakes.get((self.resource.api_name, f"{self.resource.api_action}.sync"))
        if fake is None:
            return real(self, env, resource_runtime_part, normalised_parameters, state_credentials)
        submitted = env.stack.pop()

        def resolve() -> Any:
            try:
                return fake(submitted)
            except FakeTaskFailed as exc:
                raise _task_failed(self, env, str(exc)) from exc

        return resolve

    return build


def _task_failed(service: Any, env: Any, cause: str) -> FailureEventException:
    return FailureEventException(
        FailureEvent(
            env=env,
            error_name=StatesErrorName(typ=StatesErrorNameType.StatesTaskFailed),
            event_type=HistoryEventType.TaskFailed,
            event_details=EventDetails(  # type: ignore[typeddict-item]
                taskFailedEventDetails=TaskFailedEventDetails(
                    resource=service._get_sfn_resource(),
                    resourceType=service._get_sfn_resource_type(),
                    error=StatesErrorNameType.StatesTaskFailed.to_name(),
                    cause=cause,
                )
            ),
        )
    )


def _sagemaker_sync_resolver(
    self: Any,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> Callable[[], Any]:
    env.stack.pop()  # the Create* response; .sync returns the Describe* output instead
    action = self._get_boto_service_action()
    if action not in _SYNC_JOBS:
        raise RuntimeError(f"no test .sync support for {action}")
    describe_action, name_member, status_member = _SYNC_JOBS[action]
    client = boto_client_for(region=resource_runtime_part.region, service="sagemaker")
    job_name = normalised_parameters[name_member]

    def resolve() -> Any:
        described = getattr(client, describe_action)(**{name_member: job_name})
        described.pop("ResponseMetadata", None)
        described = json.loads(json.dumps(described, default=_iso))
        status = described[status_member]
        if status == "Completed":
            return described
        if status in ("Failed", "Stopped"):
            raise _task_failed(self, env, json.dumps(described))
        return None

    return resolve


def _iso(value: Any) -> str:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
