"""Test-only patches that let moto 5.2.5 run our two state machines in-process, end to end.

moto executes ASL (``execute_state_machine``) with the ANTLR interpreter it took from
LocalStack, but as shipped it cannot run our machines faithfully. :func:`install` fixes that
through a ``pytest.MonkeyPatch`` (undone after each test; the benchmark uses its own):

Step Functions
- JSONata is evaluated by ``jsonata-python`` (moto stubbed out LocalStack's JVM bridge). moto
  inlines every bound value (the whole ``$states``, every variable) into the expression text as
  JSON literals and then parses that text again to validate the result; with a pure-Python
  evaluator that made each StepRunner take seconds, so expressions are compiled once and
  evaluated with the values bound as variables (same semantics; expressions using JSONata
  intrinsic declarations such as ``$uuid`` keep moto's path);
- each ASL parse gets its own query-language scope stack (moto shares one list across
  parses, so concurrent starts of JSONata machines crash and hang RUNNING), and a definition
  is parsed once: moto re-parses the ASL on every execution (~0.5 s for the StepRunner); the
  parsed program keeps no per-execution state (all of it lives in the Environment);
- Wait states and Retry intervals do not sleep in real time; every Wait records its seconds.
  With ``blocking_waits`` a Wait of more than 0 s blocks until the execution is stopped, so a
  test can stop an attempt during its retry backoff;
- ``.sync`` polls every 10 ms instead of 0.5 s;
- the interpreter's own boto3 clients are created once per service and kept (moto builds one per
  Task on a fresh default session, loading the service model, ~0.3-1 s, again in every test);
- Lambda invocations run the registered Python handler in-process (the engine Lambda among
  them), with a Lambda-like context object;
- ``sagemaker:create*Job.sync`` polls Describe* until Completed / Failed / Stopped and returns
  the Describe output (or fails with States.TaskFailed, Cause = the Describe JSON), as AWS does;
- SageMaker errors look like AWS's: ``SageMaker.AmazonSageMakerException`` with the Java-SDK
  Cause ``... (Service: AmazonSageMaker; Status Code: 400; Error Code: X; ...)`` for the optimised
  integration, ``SageMaker.<Code>`` for aws-sdk tasks (moto says ``States.Runtime`` and
  ``sagemaker.sagemakerException``);
- aws-sdk task responses are made JSON (moto leaves datetimes and streams in them, which then
  breaks ``describe_execution``);
- StopExecution waits until the execution has started, interrupts pending task-token waits,
  and a late error cannot overwrite the stopped state (stock moto leaves a waiting task RUNNING,
  often ends FAILED, and raises AttributeError right after a start);
- SendTaskSuccess/Failure/Heartbeat skip executions that are still being parsed (stock moto
  fails with AttributeError, HTTP 500);
- concurrent StartExecution calls are serialised, so a same-name start deduplicates as on AWS;
  every call is counted per execution name (``MotoCloud.starts``, refused repeats included).

Task ``Credentials`` need no patch: moto accepts and ignores them (no role is assumed).

EMR Serverless
- ``arn:aws:states:::emr-serverless:*`` behaves as Step Functions' optimized integration: it takes
  PascalCase requests (converted to the API's camelCase through botocore's shapes, map keys
  untouched) and answers PascalCase; ``.sync`` waits for the application (CREATED/STARTED,
  STOPPED) or the job run (SUCCESS; FAILED or CANCELLED fail with States.TaskFailed, Cause = the
  GetJobRun JSON). Applications are born CREATED (moto: STARTED), and a job run starts the
  application, as EMR Serverless's auto-start does;
- :class:`JobControl` decides how each job run ends (kind ``EMRServerless``; moto's runs are born
  SUCCESS).

SageMaker
- the v3 step types' APIs exist, in memory (moto: none): CreateJob / DescribeJob / StopJob
  (:class:`JobControl` kind ``Job``: Complete, with its ``service_output`` written into the
  JobConfigDocument as ``ServiceOutput``; Failed; Hold -> InProgress until released or stopped;
  Reject) and Create / Update / Describe / ListInferenceComponents (kind ``InferenceComponent``:
  Failed -> Failed, Hold -> Creating/Updating until released; the endpoint must exist);
- UpdateEndpoint exists (moto: none); :class:`JobControl` decides how an endpoint's creation or
  update ends (kind ``Endpoint``: Failed -> Failed, or for an update rolled back: InService on
  the old config with the FailureReason; Hold -> Creating/Updating until released);
- StopTrainingJob, StopTransformJob and StopHyperParameterTuningJob exist (moto: NotImplemented);
- CreateProcessingJob keeps the request's Environment (moto drops it), for JobControl and Describe;
- a second job with the same name is rejected with ResourceInUse (moto accepts it silently);
- :class:`JobControl` decides how each created job ends (moto's jobs are born Completed);
- the lineage API the Lineage step calls (CreateAction, CreateArtifact, CreateContext,
  their Describe*, AddAssociation) exists, in memory (``MotoCloud.lineage``): moto has none.
  A second action or context of the same name is a ValidationException "... already exists"
  (artifacts get ARNs of their own), an association of an unknown ARN a ResourceNotFound.

DynamoDB: the global-lock patch of :mod:`tests.cloud.moto_dynamodb`. SQS: one lock around every
request as well (moto's FIFO receive iterates a queue's messages while sends append to it).
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import threading
import time
import types
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jsonata
import pytest
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult
from moto.dynamodb.responses import DynamoHandler
from moto.emrserverless.models import EMRServerlessBackend
from moto.sagemaker.models import SageMakerModelBackend
from moto.sagemaker.responses import SageMakerResponse
from moto.sqs.responses import SQSResponse
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.api import (
    ExecutionStatus,
    HistoryEventType,
    InvalidToken,
    TaskDoesNotExist,
    TaskFailedEventDetails,
    TaskTimedOut,
)
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
    FailureEvent,
    FailureEventException,
)
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import (
    StatesErrorNameType,
)
from moto.stepfunctions.parser.asl.component.common.query_language import QueryLanguageMode
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.string import string_expression
from moto.stepfunctions.parser.asl.component.intrinsic.jsonata import get_intrinsic_functions_declarations
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_service,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sqs as sqs_service,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_unsupported as unsupported,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.callback.callback import (
    CallbackConsumerTimeout,
    CallbackNotifyConsumerError,
    CallbackOutcomeFailure,
    CallbackOutcomeSuccess,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
from moto.stepfunctions.parser.asl.jsonata import validations
from moto.stepfunctions.parser.asl.jsonata.jsonata import extract_jsonata_variable_references
from moto.stepfunctions.parser.asl.parse import asl_parser
from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor
from moto.stepfunctions.parser.backend.execution import Execution
from pipelines import aws as pipelines_aws
from pipelines.stepfunctions.emr_serverless import integration_case

from tests.cloud.moto_dynamodb import fast_transactions, locked_call_action

Handler = Callable[[Any, Any], Any]

SYNC_POLL_SECONDS = 0.01
BLOCKING_WAIT_CAP_SECONDS = 30.0

_CLIENT_USERS = (lambda_eval_utils, unsupported, aws_sdk, sqs_service)

# create action -> (describe action, name member, status member)
SYNC_JOBS = {
    "create_processing_job": ("describe_processing_job", "ProcessingJobName", "ProcessingJobStatus"),
    "create_training_job": ("describe_training_job", "TrainingJobName", "TrainingJobStatus"),
    "create_transform_job": ("describe_transform_job", "TransformJobName", "TransformJobStatus"),
    "create_hyper_parameter_tuning_job": (
        "describe_hyper_parameter_tuning_job",
        "HyperParameterTuningJobName",
        "HyperParameterTuningJobStatus",
    ),
}

# job kind -> (backend dict attribute, create kwarg naming the job, status attribute)
JOB_KINDS = {
    "Processing": ("processing_jobs", "processing_job_name", "processing_job_status"),
    "Training": ("training_jobs", "training_job_name", "training_job_status"),
    "Transform": ("transform_jobs", "transform_job_name", "transform_job_status"),
    "Tuning": (
        "hyper_parameter_tuning_jobs",
        "hyper_parameter_tuning_job_name",
        "hyper_parameter_tuning_job_status",
    ),
}
_CREATE = {
    "Processing": "create_processing_job",
    "Training": "create_training_job",
    "Transform": "create_transform_job",
    "Tuning": "create_hyper_parameter_tuning_job",
}


# -- how jobs end --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Complete:
    """The job completes; ``objects`` ({s3 uri: bytes}) are written as its outputs. A Job
    (CreateJob) gets ``service_output`` as its JobConfigDocument's ``ServiceOutput``, which is
    where the service reports what the job made."""

    objects: dict[str, bytes] = field(default_factory=dict)
    service_output: dict[str, Any] | None = None


@dataclass(frozen=True)
class Failed:
    reason: str


@dataclass(frozen=True)
class Hold:
    """The job stays InProgress until :meth:`JobControl.release` or a Stop*Job call."""


@dataclass(frozen=True)
class Reject:
    """The Create* call itself fails with this API error."""

    code: str
    message: str


JobOutcome = Complete | Failed | Hold | Reject
Decide = Callable[[str, str, dict[str, Any]], JobOutcome | None]
"""(kind, job name, create kwargs) -> how the job ends (None: Complete)."""


@dataclass
class JobControl:
    decide: Decide | None = None
    created: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[tuple[str, str, str]] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)
    held: dict[str, tuple[str, Any]] = field(default_factory=dict)
    put_object: Callable[[str, bytes], None] | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def release(self, job_name: str, outcome: JobOutcome | None = None) -> None:
        """End a held job: Completed, or as ``outcome`` says."""
        with self.lock:
            kind, job = self.held.pop(job_name)
        if kind in _RELEASERS:
            _RELEASERS[kind](job, outcome)
            return
        status_attr = JOB_KINDS[kind][2]
        if isinstance(outcome, Failed):
            job.failure_reason = outcome.reason
            setattr(job, status_attr, "Failed")
        else:
            if isinstance(outcome, Complete):
                self._write(outcome)
            setattr(job, status_attr, "Completed")

    def _write(self, outcome: Complete) -> None:
        for uri, data in outcome.objects.items():
            assert self.put_object is not None, "JobControl.put_object is not wired"
            self.put_object(uri, data)


# -- what the patched interpreter records ----------------------------------------------------------


@dataclass
class MotoCloud:
    handlers: dict[str, Handler] = field(default_factory=dict)
    waits: list[int] = field(default_factory=list)
    invocations: list[tuple[str, Any]] = field(default_factory=list)
    fakes: dict[tuple[str, str], Callable[[dict[str, Any]], Any]] = field(default_factory=dict)
    calls: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    starts: Counter[str] = field(default_factory=Counter)
    """StartExecution calls per execution name, a refused repeat (ExecutionAlreadyExists) included."""
    jobs: JobControl = field(default_factory=JobControl)
    lineage: dict[str, dict[str, Any]] = field(default_factory=dict)  # ARN -> created entity
    associations: list[dict[str, Any]] = field(default_factory=list)
    blocking_waits: bool = False
    on_wait: Callable[[int], None] | None = None
    """Called with each Wait's seconds (e.g. to end a held job after some polls)."""
    region: str = "us-east-1"

    def invocation_counts(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for name, _event in list(self.invocations):
            counts[name] += 1
        return dict(counts)


class FakeTaskFailed(Exception):
    """Raised by a ``.sync`` fake: the Task fails with States.TaskFailed and this cause."""


def _serialised(real: Callable[[Any], Any], lock: Any) -> Callable[[Any], Any]:
    def call_action(self: Any) -> Any:
        with lock:
            return real(self)

    return call_action


def install(monkeypatch: pytest.MonkeyPatch) -> MotoCloud:
    """Apply every patch (undone by ``monkeypatch``) and return what they record."""
    state = MotoCloud()
    logging.getLogger("moto.stepfunctions").setLevel(logging.CRITICAL)
    _patch_interpreter(monkeypatch, state)
    _patch_lambda(monkeypatch, state)
    _patch_sync_and_errors(monkeypatch, state)
    _patch_stop_and_tokens(monkeypatch)
    _patch_sagemaker(monkeypatch, state)
    _patch_endpoints(monkeypatch, state.jobs)
    _patch_emr_serverless(monkeypatch, state.jobs)
    _patch_lineage(monkeypatch, state)
    _patch_v3_resources(monkeypatch, state.jobs)
    monkeypatch.setattr(DynamoHandler, "call_action", locked_call_action(DynamoHandler.call_action))
    fast_transactions(monkeypatch.setattr)
    monkeypatch.setattr(SQSResponse, "call_action", _serialised(SQSResponse.call_action, threading.RLock()))
    return state


# -- Step Functions interpreter ----------------------------------------------------------------------


def _patch_interpreter(monkeypatch: pytest.MonkeyPatch, state: MotoCloud) -> None:
    monkeypatch.setattr(moto_jsonata, "_eval_jsonata", lambda expr: jsonata.Jsonata(expr).evaluate(None))
    _patch_jsonata_evaluation(monkeypatch)

    shared_scope_init = Preprocessor.__init__

    def per_parse_scope_init(self: Preprocessor, *args: Any, **kwargs: Any) -> None:
        shared_scope_init(self, *args, **kwargs)
        self._query_language_per_scope = []

    monkeypatch.setattr(Preprocessor, "__init__", per_parse_scope_init)

    real_parse = asl_parser.AmazonStateLanguageParser.parse

    def parse_once(definition: str) -> Any:
        with _PARSE_LOCK:
            if definition not in _PARSED:
                _PARSED[definition] = real_parse(definition)
            return _PARSED[definition]

    monkeypatch.setattr(asl_parser.AmazonStateLanguageParser, "parse", staticmethod(parse_once))

    def wait(self: Any, env: Environment, wait_seconds: int) -> None:
        state.waits.append(wait_seconds)
        if state.on_wait is not None:
            state.on_wait(wait_seconds)
        if not state.blocking_waits or wait_seconds <= 0:
            return
        deadline = time.monotonic() + min(wait_seconds, BLOCKING_WAIT_CAP_SECONDS)
        while env.is_running() and time.monotonic() < deadline:
            env.program_state_event.wait(0.02)

    monkeypatch.setattr(WaitFunction, "_wait_interval", wait)
    monkeypatch.setattr(retrier_decl, "time", types.SimpleNamespace(sleep=lambda _seconds: None))
    monkeypatch.setattr(callback_service, "_DELAY_SECONDS_SYNC_CONDITION_CHECK", SYNC_POLL_SECONDS)
    for module in _CLIENT_USERS:
        monkeypatch.setattr(module, "boto_client_for", shared_boto_client)

    start_lock = threading.Lock()
    real_start = parser_models.StepFunctionsParserBackend.start_execution

    def start_execution(
        self: Any, state_machine_arn: str, name: str | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        with start_lock:
            state.starts[name or ""] += 1
            return real_start(self, state_machine_arn, name, *args, **kwargs)

    monkeypatch.setattr(parser_models.StepFunctionsParserBackend, "start_execution", start_execution)


_CLIENTS: dict[tuple[str, str], Any] = {}
_CLIENTS_LOCK = threading.Lock()


def shared_boto_client(region: str, service: str, state_credentials: Any = None) -> Any:
    """moto's ``boto_client_for`` (same fake credentials and config), one client per service."""
    key = (region, service)
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = pipelines_aws.client(
                service,
                region,
                aws_access_key_id="ak",
                aws_secret_access_key="sk",
                config=BotoConfig(
                    parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1}
                ),
            )
        return _CLIENTS[key]


_COMPILED: dict[str, Any] = {}
_COMPILE_LOCK = threading.Lock()
_PARSED: dict[str, Any] = {}
_PARSE_LOCK = threading.Lock()


def _compiled(expression: str) -> Any:
    """A compiled expression, shared: ``evaluate`` with bindings works on a fresh frame."""
    found = _COMPILED.get(expression)
    if found is None:
        found = jsonata.Jsonata(expression)
        with _COMPILE_LOCK:
            _COMPILED.setdefault(expression, found)
    return found


def _patch_jsonata_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    references: dict[str, set[str]] = {}

    def bindings(env: Environment, with_states: bool) -> dict[str, Any]:
        store = env.variable_store
        bound = {**store._outer_scope, **store._inner_scope}
        if with_states:
            bound["states"] = env.states._states_data
        return bound

    def evaluate(self: Any, env: Environment, with_states: bool) -> Any:
        result = _compiled(self.expression).evaluate(None, bindings(env, with_states))
        return copy.deepcopy(result)

    real_jsonata = string_expression.StringJSONata._eval_body

    def jsonata_body(self: Any, env: Environment) -> None:
        refs = references.get(self.expression)
        if refs is None:
            refs = references[self.expression] = extract_jsonata_variable_references(self.expression)
        if get_intrinsic_functions_declarations(variable_references=refs):
            real_jsonata(self, env)
            return
        result = evaluate(self, env, True)
        if result is None and not _compiled(f"$exists({self.expression})").evaluate(
            None, bindings(env, True)
        ):
            validations.validate_jsonata_expression_output(env, self.expression, "$undefined_marker", None)  # type: ignore[arg-type]
        env.stack.append(result)

    def variable_sample_body(self: Any, env: Environment) -> None:
        env.stack.append(evaluate(self, env, self.query_language_mode == QueryLanguageMode.JSONata))

    monkeypatch.setattr(string_expression.StringJSONata, "_eval_body", jsonata_body)
    monkeypatch.setattr(string_expression.StringVariableSample, "_eval_body", variable_sample_body)


def lambda_context(name: str, arn: str) -> Any:
    """What the Lambda runtime passes as ``context`` (Powertools reads these fields)."""
    return types.SimpleNamespace(
        function_name=name,
        function_version="$LATEST",
        invoked_function_arn=arn,
        memory_limit_in_mb=512,
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{name}",
        log_stream_name="in-process",
        get_remaining_time_in_millis=lambda: 60_000,
    )


def _patch_lambda(monkeypatch: pytest.MonkeyPatch, state: MotoCloud) -> None:
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
        context = lambda_context(function.function_name, function.function_arn)
        try:
            return json.dumps(state.handlers[function.function_name](event, context)).encode()
        except Exception as exc:
            response_headers["x-amz-function-error"] = "Unhandled"
            return json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__}).encode()

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke_in_process)


# -- .sync, fakes and AWS-shaped errors ------------------------------------------------------------


def _patch_sync_and_errors(monkeypatch: pytest.MonkeyPatch, state: MotoCloud) -> None:
    monkeypatch.setattr(
        unsupported,
        "_SUPPORTED_INTEGRATION_PATTERNS",
        {ResourceCondition.WaitForTaskToken, ResourceCondition.Sync},
    )
    monkeypatch.setattr(
        unsupported.StateTaskServiceUnsupported,
        "_build_sync_resolver",
        _sync_resolver_for(state, _optimised_sync_resolver),
    )
    for service_class in (unsupported.StateTaskServiceUnsupported, aws_sdk.StateTaskServiceAwsSdk):
        monkeypatch.setattr(
            service_class, "_eval_service_task", _faked(state, service_class._eval_service_task)
        )
    monkeypatch.setattr(
        aws_sdk.StateTaskServiceAwsSdk,
        "_eval_service_task",
        _json_responses(aws_sdk.StateTaskServiceAwsSdk._eval_service_task),
    )
    monkeypatch.setattr(unsupported.StateTaskServiceUnsupported, "_from_error", _optimised_error)
    monkeypatch.setattr(
        aws_sdk.StateTaskServiceAwsSdk, "_from_error", _sdk_error(aws_sdk.StateTaskServiceAwsSdk._from_error)
    )


def _faked(state: MotoCloud, real: Callable[..., None]) -> Callable[..., None]:
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


def _json_responses(real: Callable[..., None]) -> Callable[..., None]:
    def eval_service_task(self: Any, env: Any, *args: Any, **kwargs: Any) -> None:
        real(self, env, *args, **kwargs)
        env.stack.append(json.loads(json.dumps(env.stack.pop(), default=_jsonable)))

    return eval_service_task


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    if hasattr(value, "read"):
        data = value.read()
        return data.decode() if isinstance(data, bytes) else data
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _failure(service: Any, env: Any, error: str, cause: str) -> FailureEvent:
    return FailureEvent(
        env=env,
        error_name=CustomErrorName(error),
        event_type=HistoryEventType.TaskFailed,
        event_details=EventDetails(  # type: ignore[typeddict-item]
            taskFailedEventDetails=TaskFailedEventDetails(
                resource=service._get_sfn_resource(),
                resourceType=service._get_sfn_resource_type(),
                error=error,
                cause=cause,
            )
        ),
    )


def _java_cause(exc: ClientError, service: str) -> str:
    error = exc.response.get("Error", {})
    meta = exc.response.get("ResponseMetadata", {})
    return (
        f"{error.get('Message', '')} (Service: {service}; Status Code: {meta.get('HTTPStatusCode', 400)}; "
        f"Error Code: {error.get('Code', '')}; Request ID: {meta.get('RequestId', '')}; Proxy: null)"
    )


def _optimised_error(self: Any, env: Any, ex: Exception) -> FailureEvent:
    """``arn:aws:states:::sagemaker:*``: AWS names every API error SageMaker.AmazonSageMakerException."""
    if isinstance(ex, ClientError) and self._get_boto_service_name() == "sagemaker":
        return _failure(self, env, "SageMaker.AmazonSageMakerException", _java_cause(ex, "AmazonSageMaker"))
    return callback_service.StateTaskServiceCallback._from_error(self, env, ex)


def _sdk_error(real: Callable[..., FailureEvent]) -> Callable[..., FailureEvent]:
    def from_error(self: Any, env: Any, ex: Exception) -> FailureEvent:
        """aws-sdk tasks: ``<Service>.<ErrorCode>`` (with ``Exception`` appended), as AWS does."""
        if isinstance(ex, ClientError) and self.resource.api_name == "sagemaker":
            code = str(ex.response.get("Error", {}).get("Code", "Unknown"))
            name = code if code.endswith("Exception") else f"{code}Exception"
            meta = ex.response.get("ResponseMetadata", {})
            cause = (
                f"{ex.response.get('Error', {}).get('Message', '')} (Service: SageMaker, Status Code: "
                f"{meta.get('HTTPStatusCode', 400)}, Request ID: {meta.get('RequestId', '')})"
            )
            return _failure(self, env, f"SageMaker.{name}", cause)
        return real(self, env, ex)

    return from_error


def _sync_resolver_for(
    state: MotoCloud, real: Callable[..., Callable[[], Any]]
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


def _optimised_sync_resolver(
    self: Any,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> Callable[[], Any]:
    if self.resource.api_name == "emr-serverless":
        return _emr_serverless_sync_resolver(self, env, resource_runtime_part)
    return _sagemaker_sync_resolver(
        self, env, resource_runtime_part, normalised_parameters, state_credentials
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
    if action not in SYNC_JOBS:
        raise RuntimeError(f"no test .sync support for {action}")
    describe_action, name_member, status_member = SYNC_JOBS[action]
    client = shared_boto_client(region=resource_runtime_part.region, service="sagemaker")
    job_name = normalised_parameters[name_member]

    def resolve() -> Any:
        described = getattr(client, describe_action)(**{name_member: job_name})
        described.pop("ResponseMetadata", None)
        described = json.loads(json.dumps(described, default=_jsonable))
        status = described[status_member]
        if status == "Completed":
            return described
        if status in ("Failed", "Stopped"):
            raise _task_failed(self, env, json.dumps(described))
        return None

    return resolve


# -- stopping and task tokens ----------------------------------------------------------------------


def _patch_stop_and_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    def stop(self: Execution, stop_date: datetime.datetime, error: str | None, cause: str | None) -> None:
        deadline = time.monotonic() + 10
        while True:
            worker = self.exec_worker
            env = worker.env if worker is not None else None
            if env is not None and env._program_state is not None:
                break
            if self.exec_status != ExecutionStatus.RUNNING or time.monotonic() > deadline:
                return
            time.sleep(0.002)
        env.set_stop(stop_date=stop_date, cause=cause, error=error)
        for endpoint in list(env.callback_pool_manager._pool.values()):
            endpoint.interrupt_all()

    monkeypatch.setattr(Execution, "stop", stop)

    real_set_error = Environment.set_error

    def set_error(self: Environment, error: Any) -> None:
        if isinstance(self._program_state, ProgramStopped):
            return  # a task interrupted by the stop: the execution stays ABORTED
        real_set_error(self, error)

    monkeypatch.setattr(Environment, "set_error", set_error)

    def parsed(backend: Any, running_only: bool) -> list[Any]:
        executions = backend._get_executions(ExecutionStatus.RUNNING if running_only else None)
        return [e for e in executions if e.exec_worker is not None and e.exec_worker.env is not None]

    def notify(backend: Any, token: str, outcome: Any, running_only: bool) -> None:
        for execution in parsed(backend, running_only):
            try:
                if execution.exec_worker.env.callback_pool_manager.notify(callback_id=token, outcome=outcome):
                    return
            except CallbackNotifyConsumerError as consumer_error:
                if isinstance(consumer_error.callback_consumer_error, CallbackConsumerTimeout):
                    raise TaskTimedOut("Task Timed Out") from consumer_error
                raise TaskDoesNotExist("Task Does Not Exist") from consumer_error
        raise InvalidToken()

    def send_task_success(self: Any, task_token: str, outcome: str) -> None:
        notify(self, task_token, CallbackOutcomeSuccess(callback_id=task_token, output=outcome), True)

    def send_task_failure(self: Any, task_token: str, error: Any = None, cause: Any = None) -> Any:
        notify(
            self, task_token, CallbackOutcomeFailure(callback_id=task_token, error=error, cause=cause), False
        )
        return parser_models.SendTaskFailureOutput()

    def send_task_heartbeat(self: Any, task_token: str) -> None:
        for execution in parsed(self, True):
            if execution.exec_worker.env.callback_pool_manager.heartbeat(callback_id=task_token):
                return
        raise InvalidToken()

    backend = parser_models.StepFunctionsParserBackend
    monkeypatch.setattr(backend, "send_task_success", send_task_success)
    monkeypatch.setattr(backend, "send_task_failure", send_task_failure)
    monkeypatch.setattr(backend, "send_task_heartbeat", send_task_heartbeat)


# -- SageMaker -------------------------------------------------------------------------------------


_UNMODELLED_MEMBERS: dict[str, tuple[str, ...]] = {"Processing": ("environment",)}
"""Request members moto 5.2.5's Create*Job drops (job kind -> backend kwargs): CreateProcessingJob's
Environment, which the Model Monitor contract passes the baseline in. The patched create hands
them to JobControl.decide and keeps them on the job, so Describe shows them."""


def _create_processing_job(self: SageMakerResponse) -> ActionResult:
    """moto's CreateProcessingJob response, also passing the request's Environment."""
    job = self.sagemaker_backend.create_processing_job(
        app_specification=self._get_param("AppSpecification"),
        experiment_config=self._get_param("ExperimentConfig"),
        network_config=self._get_param("NetworkConfig"),
        processing_inputs=self._get_param("ProcessingInputs"),
        processing_job_name=self._get_param("ProcessingJobName"),
        processing_output_config=self._get_param("ProcessingOutputConfig"),
        role_arn=self._get_param("RoleArn"),
        stopping_condition=self._get_param("StoppingCondition"),
        tags=self._get_param("Tags"),
        environment=self._get_param("Environment"),
    )
    return ActionResult({"ProcessingJobArn": job.arn})


def _patch_sagemaker(monkeypatch: pytest.MonkeyPatch, state: MotoCloud) -> None:
    jobs = state.jobs
    monkeypatch.setattr(SageMakerResponse, "create_processing_job", _create_processing_job)
    for kind, create in _CREATE.items():
        monkeypatch.setattr(
            SageMakerModelBackend,
            create,
            _controlled_create(kind, getattr(SageMakerModelBackend, create), jobs),
        )

    for kind, describe in (
        ("Processing", "describe_processing_job"),
        ("Training", "describe_training_job"),
        ("Transform", "describe_transform_job"),
        ("Tuning", "describe_hyper_parameter_tuning_job"),
    ):
        real = getattr(SageMakerModelBackend, describe)
        monkeypatch.setattr(SageMakerModelBackend, describe, _case_insensitive_describe(kind, real))

    def stopper(kind: str) -> Callable[..., None]:
        store_attr, _, status_attr = JOB_KINDS[kind]

        def stop(self: SageMakerModelBackend, name: str) -> None:
            job = getattr(self, store_attr).get(name)
            if job is None:
                raise JsonRESTError("ValidationException", f"Could not find {kind.lower()} job '{name}'.")
            with jobs.lock:
                jobs.stopped.append((kind, name))
                jobs.held.pop(name, None)
            if getattr(job, status_attr) in ("InProgress", "Stopping"):
                setattr(job, status_attr, "Stopped")

        return stop

    for kind, operation, member in (
        ("Processing", "stop_processing_job", "ProcessingJobName"),
        ("Training", "stop_training_job", "TrainingJobName"),
        ("Transform", "stop_transform_job", "TransformJobName"),
        ("Tuning", "stop_hyper_parameter_tuning_job", "HyperParameterTuningJobName"),
    ):
        monkeypatch.setattr(SageMakerModelBackend, operation, stopper(kind), raising=False)

        def respond(self: SageMakerResponse, _op: str = operation, _member: str = member) -> str:
            getattr(self.sagemaker_backend, _op)(self._get_param(_member))
            return "{}"

        monkeypatch.setattr(SageMakerResponse, operation, respond, raising=False)


def _patch_lineage(monkeypatch: pytest.MonkeyPatch, state: MotoCloud) -> None:
    lock = threading.Lock()

    def creator(kind: str) -> Callable[[SageMakerResponse], str]:
        def create(self: SageMakerResponse) -> str:
            request = json.loads(self.body)
            # artifact names are not unique: an artifact's ARN is the service's own
            name = uuid.uuid4().hex if kind == "Artifact" else request[f"{kind}Name"]
            arn = f"arn:aws:sagemaker:{self.region}:{self.current_account}:{kind.lower()}/{name.lower()}"
            with lock:
                if arn in state.lineage:
                    raise JsonRESTError("ValidationException", f"{kind} {arn} already exists.")
                state.lineage[arn] = {**request, "Kind": kind, f"{kind}Arn": arn}
            return json.dumps({f"{kind}Arn": arn})

        return create

    def describer(kind: str) -> Callable[[SageMakerResponse], str]:
        def describe(self: SageMakerResponse) -> str:
            name = json.loads(self.body)[f"{kind}Name"]
            arn = f"arn:aws:sagemaker:{self.region}:{self.current_account}:{kind.lower()}/{name.lower()}"
            if arn not in state.lineage:
                raise JsonRESTError("ResourceNotFound", f"{kind} {arn} does not exist.")
            return json.dumps({f"{kind}Name": name, f"{kind}Arn": arn})

        return describe

    def add_association(self: SageMakerResponse) -> str:
        request = json.loads(self.body)
        for end in ("SourceArn", "DestinationArn"):
            if request[end] not in state.lineage:
                raise JsonRESTError("ResourceNotFound", f"{request[end]} does not exist.")
        with lock:
            state.associations.append(request)
        return json.dumps({"SourceArn": request["SourceArn"], "DestinationArn": request["DestinationArn"]})

    for kind in ("Action", "Artifact", "Context"):
        monkeypatch.setattr(SageMakerResponse, f"create_{kind.lower()}", creator(kind), raising=False)
    for kind in ("Action", "Context"):  # DescribeArtifact takes an ARN: the step never needs it
        monkeypatch.setattr(SageMakerResponse, f"describe_{kind.lower()}", describer(kind), raising=False)
    monkeypatch.setattr(SageMakerResponse, "add_association", add_association, raising=False)


def _case_insensitive_describe(kind: str, real: Callable[..., Any]) -> Callable[..., Any]:
    """SageMaker finds a job whatever the case of its name: job ARNs carry the name lower-cased
    (``.../training-job/pipelines-abc-train-pbhgn7bcvd-0``) and the SDK's ``result()`` describes
    the job by the ARN's last segment; moto's lookup is exact."""
    store_attr = JOB_KINDS[kind][0]

    def describe(self: SageMakerModelBackend, *args: str, **kwargs: str) -> Any:
        # moto's responses pass the name by position, except describe_transform_job's (keyword)
        ((member, name),) = kwargs.items() if kwargs else (("", args[0]),)
        known = getattr(self, store_attr)
        if name not in known:
            name = next((n for n in known if n.lower() == name.lower()), name)
        return real(self, **{member: name}) if member else real(self, name)

    return describe


def _controlled_create(kind: str, real: Callable[..., Any], jobs: JobControl) -> Callable[..., Any]:
    store_attr, name_kwarg, status_attr = JOB_KINDS[kind]

    def create(self: SageMakerModelBackend, **kwargs: Any) -> Any:
        name = kwargs[name_kwarg]
        if name in getattr(self, store_attr):
            raise JsonRESTError("ResourceInUse", f"{kind} job {name} already exists.")
        unmodelled = {key: kwargs.pop(key) for key in _UNMODELLED_MEMBERS.get(kind, {}) if key in kwargs}
        outcome = jobs.decide(kind, name, {**kwargs, **unmodelled}) if jobs.decide else None
        if isinstance(outcome, Reject):
            with jobs.lock:
                jobs.rejected.append((kind, name, outcome.code))
            raise JsonRESTError(outcome.code, outcome.message)
        job = real(self, **kwargs)
        for key, value in unmodelled.items():
            if value is not None:
                setattr(job, key, value)  # so the Describe response has it
        with jobs.lock:
            jobs.created.append((kind, name))
        if isinstance(outcome, Failed):
            job.failure_reason = outcome.reason
            setattr(job, status_attr, "Failed")
        elif isinstance(outcome, Hold):
            setattr(job, status_attr, "InProgress")
            with jobs.lock:
                jobs.held[name] = (kind, job)
        elif isinstance(outcome, Complete):
            jobs._write(outcome)
        return job

    return create


# -- SageMaker endpoints ---------------------------------------------------------------------------


def _patch_endpoints(monkeypatch: pytest.MonkeyPatch, jobs: JobControl) -> None:
    real_create = SageMakerModelBackend.create_endpoint

    def create_endpoint(self: SageMakerModelBackend, **kwargs: Any) -> Any:
        endpoint = real_create(self, **kwargs)
        _endpoint_outcome(jobs, endpoint, kwargs, "Creating")
        return endpoint

    def update_endpoint(self: SageMakerModelBackend, endpoint_name: str, endpoint_config_name: str) -> Any:
        endpoint = self.endpoints.get(endpoint_name)
        if endpoint is None:
            raise JsonRESTError("ValidationException", f"Could not find endpoint '{endpoint_name}'.")
        config = self.describe_endpoint_config(endpoint_config_name)  # ValidationError when missing
        previous = (endpoint.endpoint_config_name, endpoint.production_variants)
        endpoint.endpoint_config_name = endpoint_config_name
        endpoint.production_variants = endpoint._process_production_variants(config["ProductionVariants"])
        endpoint.failure_reason = None
        outcome = _endpoint_outcome(
            jobs,
            endpoint,
            {"endpoint_name": endpoint_name, "endpoint_config_name": endpoint_config_name},
            "Updating",
        )
        if isinstance(outcome, Failed):  # an update that fails rolls back to the old fleet
            endpoint.endpoint_config_name, endpoint.production_variants = previous
            endpoint.endpoint_status = "InService"
        return endpoint

    def respond(self: SageMakerResponse) -> str:
        endpoint = self.sagemaker_backend.update_endpoint(
            self._get_param("EndpointName"), self._get_param("EndpointConfigName")
        )
        return json.dumps({"EndpointArn": endpoint.arn})

    monkeypatch.setattr(SageMakerModelBackend, "create_endpoint", create_endpoint)
    monkeypatch.setattr(SageMakerModelBackend, "update_endpoint", update_endpoint, raising=False)
    monkeypatch.setattr(SageMakerResponse, "update_endpoint", respond, raising=False)


def _endpoint_outcome(
    jobs: JobControl, endpoint: Any, kwargs: dict[str, Any], pending: str
) -> JobOutcome | None:
    outcome = jobs.decide("Endpoint", endpoint.endpoint_name, kwargs) if jobs.decide else None
    with jobs.lock:
        jobs.created.append(("Endpoint", endpoint.endpoint_name))
    if isinstance(outcome, Failed):
        endpoint.endpoint_status = "Failed"
        endpoint.failure_reason = outcome.reason
    elif isinstance(outcome, Hold):
        endpoint.endpoint_status = pending
        with jobs.lock:
            jobs.held[endpoint.endpoint_name] = ("Endpoint", endpoint)
    else:
        endpoint.endpoint_status = "InService"
    return outcome


def _release_endpoint(endpoint: Any, outcome: JobOutcome | None) -> None:
    if isinstance(outcome, Failed):
        endpoint.endpoint_status, endpoint.failure_reason = "Failed", outcome.reason
    else:
        endpoint.endpoint_status = "InService"


# -- EMR Serverless --------------------------------------------------------------------------------

EMR_SERVERLESS_ACTIVE = ("SUBMITTED", "PENDING", "SCHEDULED", "RUNNING", "QUEUED", "CANCELLING")


def _patch_emr_serverless(monkeypatch: pytest.MonkeyPatch, jobs: JobControl) -> None:
    real_create = EMRServerlessBackend.create_application
    real_start = EMRServerlessBackend.start_job_run

    def create_application(self: EMRServerlessBackend, **kwargs: Any) -> Any:
        application = real_create(self, **kwargs)
        application.state = "CREATED"
        return application

    def start_job_run(self: EMRServerlessBackend, **kwargs: Any) -> Any:
        name = kwargs.get("name") or ""
        outcome = jobs.decide("EMRServerless", name, kwargs) if jobs.decide else None
        if isinstance(outcome, Reject):
            with jobs.lock:
                jobs.rejected.append(("EMRServerless", name, outcome.code))
            raise JsonRESTError(outcome.code, outcome.message)
        job_run = real_start(self, **kwargs)
        self.applications[kwargs["application_id"]].state = "STARTED"  # auto-start
        with jobs.lock:
            jobs.created.append(("EMRServerless", name))
        if isinstance(outcome, Failed):
            job_run.state, job_run.state_details = "FAILED", outcome.reason
        elif isinstance(outcome, Hold):
            job_run.state = "RUNNING"
            with jobs.lock:
                jobs.held[name] = ("EMRServerless", job_run)
        return job_run

    real_cancel = EMRServerlessBackend.cancel_job_run

    def cancel_job_run(self: EMRServerlessBackend, application_id: str, job_run_id: str) -> Any:
        answer = real_cancel(self, application_id, job_run_id)
        run = next(r for r in self.job_runs[application_id] if r.id == job_run_id)
        with jobs.lock:
            jobs.stopped.append(("EMRServerless", run.name))
            jobs.held.pop(run.name, None)
        return answer

    monkeypatch.setattr(EMRServerlessBackend, "create_application", create_application)
    monkeypatch.setattr(EMRServerlessBackend, "start_job_run", start_job_run)
    monkeypatch.setattr(EMRServerlessBackend, "cancel_job_run", cancel_job_run)
    monkeypatch.setattr(
        unsupported.StateTaskServiceUnsupported,
        "_eval_service_task",
        _emr_serverless_requests(unsupported.StateTaskServiceUnsupported._eval_service_task),
    )


def _release_job_run(job_run: Any, outcome: JobOutcome | None) -> None:
    if isinstance(outcome, Failed):
        job_run.state, job_run.state_details = "FAILED", outcome.reason
    else:
        job_run.state = "SUCCESS"


def _release_v3_job(job: dict[str, Any], outcome: JobOutcome | None) -> None:
    _end_v3_job(job, outcome or Complete())


def _release_component(component: dict[str, Any], outcome: JobOutcome | None) -> None:
    _end_component(component, outcome)


_RELEASERS: dict[str, Callable[[Any, JobOutcome | None], None]] = {
    "Endpoint": _release_endpoint,
    "EMRServerless": _release_job_run,
    "Job": _release_v3_job,
    "InferenceComponent": _release_component,
}


def _emr_serverless_requests(real: Callable[..., None]) -> Callable[..., None]:
    """The optimized integration's casing around moto's camelCase API."""

    def eval_service_task(
        self: Any,
        env: Any,
        resource_runtime_part: Any,
        normalised_parameters: dict[str, Any],
        state_credentials: Any,
    ) -> None:
        if self.resource.api_name != "emr-serverless":
            real(self, env, resource_runtime_part, normalised_parameters, state_credentials)
            return
        operation = self.resource.api_action[:1].upper() + self.resource.api_action[1:]
        client = shared_boto_client(region=resource_runtime_part.region, service="emr-serverless")
        request = _camel_case(
            client.meta.service_model.operation_model(operation).input_shape, normalised_parameters
        )
        response = getattr(client, self._get_boto_service_action())(**request)
        response.pop("ResponseMetadata", None)
        if not response and "applicationId" in request:
            # start/stop/deleteApplication answer nothing; the integration answers the id
            response = {"ApplicationId": request["applicationId"]}
        env.stack.append(
            integration_case(f"{operation}Response", json.loads(json.dumps(response, default=_jsonable)))
        )

    return eval_service_task


def _camel_case(shape: Any, value: Any) -> Any:
    members = getattr(shape, "members", None)
    if members is not None and isinstance(value, dict):
        converted = {}
        for key, item in value.items():
            name = key[:1].lower() + key[1:]
            converted[name] = _camel_case(members.get(name), item)
        return converted
    if getattr(shape, "type_name", None) == "list" and isinstance(value, list):
        return [_camel_case(shape.member, item) for item in value]
    if getattr(shape, "type_name", None) == "map" and isinstance(value, dict):
        return {key: _camel_case(shape.value, item) for key, item in value.items()}
    return value


def _emr_serverless_sync_resolver(self: Any, env: Any, resource_runtime_part: Any) -> Callable[[], Any]:
    submitted = env.stack.pop()
    client = shared_boto_client(region=resource_runtime_part.region, service="emr-serverless")
    action = self.resource.api_action
    application_id = submitted.get("ApplicationId")

    def application_state() -> str:
        return str(client.get_application(applicationId=application_id)["application"]["state"])

    if action == "createApplication":
        return lambda: submitted if application_state() in ("CREATED", "STARTED") else None
    if action in ("stopApplication", "deleteApplication"):
        wanted = "STOPPED" if action == "stopApplication" else "TERMINATED"
        return lambda: {"ApplicationId": application_id} if application_state() == wanted else None
    if action != "startJobRun":
        raise RuntimeError(f"no test .sync support for emr-serverless:{action}")

    def job_run() -> Any:
        described = client.get_job_run(applicationId=application_id, jobRunId=submitted["JobRunId"])
        described.pop("ResponseMetadata", None)
        state = described["jobRun"]["state"]
        if state == "SUCCESS":
            return submitted
        if state in ("FAILED", "CANCELLED"):
            raise _task_failed(self, env, json.dumps(described, default=_jsonable))
        return None

    return job_run


# -- v3 step types: CreateJob and inference components ----------------------------------------------


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat()


def _end_v3_job(job: dict[str, Any], outcome: JobOutcome) -> None:
    if isinstance(outcome, Failed):
        job.update(JobStatus="Failed", SecondaryStatus="Failed", FailureReason=outcome.reason)
    else:
        if isinstance(outcome, Complete) and outcome.service_output is not None:
            document = json.loads(job["JobConfigDocument"])
            document["ServiceOutput"] = outcome.service_output
            job["JobConfigDocument"] = json.dumps(document)
        job.update(JobStatus="Completed", SecondaryStatus="Completed")
    job.update(EndTime=_now(), LastModifiedTime=_now())


def _end_component(component: dict[str, Any], outcome: JobOutcome | None) -> None:
    if isinstance(outcome, Failed):
        component.update(InferenceComponentStatus="Failed", FailureReason=outcome.reason)
    else:
        component["InferenceComponentStatus"] = "InService"
        copies = (component.get("RuntimeConfig") or {}).get("DesiredCopyCount")
        if copies is not None:
            component["RuntimeConfig"]["CurrentCopyCount"] = copies
    component["LastModifiedTime"] = _now()


def _patch_v3_resources(monkeypatch: pytest.MonkeyPatch, jobs: JobControl) -> None:
    """CreateJob/DescribeJob/StopJob and the inference component API, in memory."""
    v3_jobs: dict[str, dict[str, Any]] = {}
    components: dict[str, dict[str, Any]] = {}
    lock = threading.Lock()

    def decide(kind: str, name: str, request: dict[str, Any]) -> JobOutcome | None:
        outcome = jobs.decide(kind, name, request) if jobs.decide else None
        if isinstance(outcome, Reject):
            with jobs.lock:
                jobs.rejected.append((kind, name, outcome.code))
            raise JsonRESTError(outcome.code, outcome.message)
        return outcome

    def arn(self: SageMakerResponse, resource: str) -> str:
        return f"arn:aws:sagemaker:{self.region}:{self.current_account}:{resource}"

    def create_job(self: SageMakerResponse) -> str:
        request = json.loads(self.body)
        name = request["JobName"]
        with lock:
            if name in v3_jobs:
                raise JsonRESTError("ResourceInUse", f"Job {name} already exists.")
        outcome = decide("Job", name, request)
        job = {
            **{k: v for k, v in request.items() if k != "Tags"},
            "JobArn": arn(self, f"job/{request['JobCategory'].lower()}/{name.lower()}"),
            "CreationTime": _now(),
            "LastModifiedTime": _now(),
            "JobStatus": "InProgress",
            "SecondaryStatus": "Starting",
            "SecondaryStatusTransitions": [],
        }
        with lock:
            v3_jobs[name] = job
        with jobs.lock:
            jobs.created.append(("Job", name))
            if isinstance(outcome, Hold):
                jobs.held[name] = ("Job", job)
        if not isinstance(outcome, Hold):
            _end_v3_job(job, outcome or Complete())
        return json.dumps({"JobArn": job["JobArn"]})

    def found_job(self: SageMakerResponse) -> dict[str, Any]:
        request = json.loads(self.body)
        job = v3_jobs.get(request["JobName"])
        if job is None or job["JobCategory"] != request.get("JobCategory"):
            raise JsonRESTError(
                "ResourceNotFound",
                f"Job {request['JobName']} of category {request.get('JobCategory')} not found.",
            )
        return job

    def describe_job(self: SageMakerResponse) -> str:
        return json.dumps(found_job(self))

    def stop_job(self: SageMakerResponse) -> str:
        job = found_job(self)
        with jobs.lock:
            jobs.stopped.append(("Job", job["JobName"]))
            jobs.held.pop(job["JobName"], None)
        if job["JobStatus"] in ("InProgress", "Stopping"):
            job.update(JobStatus="Stopped", SecondaryStatus="Stopped", EndTime=_now())
        return "{}"

    def component_outcome(component: dict[str, Any], request: dict[str, Any], pending: str) -> None:
        name = component["InferenceComponentName"]
        outcome = decide("InferenceComponent", name, request)
        with jobs.lock:
            jobs.created.append(("InferenceComponent", name))
        if isinstance(outcome, Hold):
            component["InferenceComponentStatus"] = pending
            with jobs.lock:
                jobs.held[name] = ("InferenceComponent", component)
        else:
            _end_component(component, outcome)

    def runtime_config(request: dict[str, Any]) -> dict[str, Any] | None:
        copies = (request.get("RuntimeConfig") or {}).get("CopyCount")
        return None if copies is None else {"DesiredCopyCount": copies, "CurrentCopyCount": 0}

    def create_inference_component(self: SageMakerResponse) -> str:
        request = json.loads(self.body)
        name = request["InferenceComponentName"]
        endpoint = self.sagemaker_backend.endpoints.get(request["EndpointName"])
        if endpoint is None:
            raise JsonRESTError(
                "ValidationException", f"Could not find endpoint '{request['EndpointName']}'."
            )
        with lock:
            if name in components:
                raise JsonRESTError("ValidationException", f"Inference component {name} already exists.")
            component = {
                "InferenceComponentName": name,
                "InferenceComponentArn": arn(self, f"inference-component/{name.lower()}"),
                "EndpointName": request["EndpointName"],
                "EndpointArn": endpoint.arn,
                "VariantName": request.get("VariantName"),
                "Specification": request.get("Specification"),
                "CreationTime": _now(),
                "LastModifiedTime": _now(),
                "InferenceComponentStatus": "Creating",
            }
            config = runtime_config(request)
            if config is not None:
                component["RuntimeConfig"] = config
            components[name] = component
        component_outcome(component, request, "Creating")
        return json.dumps({"InferenceComponentArn": component["InferenceComponentArn"]})

    def found_component(self: SageMakerResponse) -> dict[str, Any]:
        name = json.loads(self.body)["InferenceComponentName"]
        if name not in components:
            raise JsonRESTError("ValidationException", f"Could not find inference component '{name}'.")
        return components[name]

    def update_inference_component(self: SageMakerResponse) -> str:
        request = json.loads(self.body)
        component = found_component(self)
        component.pop("FailureReason", None)
        if "Specification" in request:
            component["Specification"] = request["Specification"]
        config = runtime_config(request)
        if config is not None:
            component["RuntimeConfig"] = config
        component_outcome(component, request, "Updating")
        return json.dumps({"InferenceComponentArn": component["InferenceComponentArn"]})

    def describe_inference_component(self: SageMakerResponse) -> str:
        return json.dumps(found_component(self))

    def list_inference_components(self: SageMakerResponse) -> str:
        contains = (json.loads(self.body or "{}").get("NameContains") or "").lower()
        summaries = [
            {
                key: component[key]
                for key in (
                    "InferenceComponentName",
                    "InferenceComponentArn",
                    "EndpointName",
                    "EndpointArn",
                    "VariantName",
                    "InferenceComponentStatus",
                    "CreationTime",
                    "LastModifiedTime",
                )
                if key in component
            }
            for name, component in sorted(components.items())
            if contains in name.lower()
        ]
        return json.dumps({"InferenceComponents": summaries})

    for operation, respond in (
        ("create_job", create_job),
        ("describe_job", describe_job),
        ("stop_job", stop_job),
        ("create_inference_component", create_inference_component),
        ("update_inference_component", update_inference_component),
        ("describe_inference_component", describe_inference_component),
        ("list_inference_components", list_inference_components),
    ):
        monkeypatch.setattr(SageMakerResponse, operation, respond, raising=False)
