"""``sagemaker-runtime`` InvokeEndpoint on ``pipelines serve`` (embedded runtime).

botocore's ``sagemaker-runtime`` model is rest-json: ``POST /endpoints/{EndpointName}/invocations``
with the raw payload as the body (at most 6 MiB), ``Content-Type``, ``Accept`` and the
``X-Amzn-SageMaker-*`` headers; the answer is the container's raw body with its Content-Type and
``x-Amzn-Invoked-Production-Variant``. Clients sign it for the service ``sagemaker``, so the
server routes on the path (see :func:`pipelines.api.server.choose_service`), and
``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` may point at the same port as everything else.

The request is forwarded to the endpoint's model server (:mod:`pipelines.hosting`) over a
keep-alive connection; an endpoint config's DataCaptureConfig captures it
(:mod:`pipelines.hosting.capture`). Errors are the service's: ``ValidationError`` (400: no such endpoint,
not InService, unknown variant), ``ModelError`` (424, with ``OriginalStatusCode`` and
``OriginalMessage``, when the container answers 4xx/5xx), ``ModelNotReadyException`` (429: the
model server is unreachable), each with ``x-amzn-ErrorType`` as botocore's rest-json parser
reads it. With ``InferenceComponentName`` the request goes to that inference component's model
server instead (:mod:`pipelines.hosting.components`). The call is authorized like any SageMaker operation (``sagemaker:InvokeEndpoint``).
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote

import urllib3

from pipelines.api.errors import ServiceError
from pipelines.api.wire import CallContext, Handler, HttpResponse, error_response
from pipelines.errors import PipelinesError, ValidationError
from pipelines.hosting import EndpointHost
from pipelines.hosting.capture import capture_enabled, capture_invocation
from pipelines.hosting.model_server import POOL

MAX_PAYLOAD_BYTES = 6_291_456  # botocore's InvokeEndpoint Body limit
INVOCATION_TIMEOUT_SECONDS = 60.0  # a container must answer within 60 s
_PATH = re.compile(r"^/endpoints/([^/]+)/invocations/?$")
_HEADER_MEMBERS = {
    "CustomAttributes": "X-Amzn-SageMaker-Custom-Attributes",
    "TargetModel": "X-Amzn-SageMaker-Target-Model",
    "TargetVariant": "X-Amzn-SageMaker-Target-Variant",
    "TargetContainerHostname": "X-Amzn-SageMaker-Target-Container-Hostname",
    "InferenceId": "X-Amzn-SageMaker-Inference-Id",
    "EnableExplanations": "X-Amzn-SageMaker-Enable-Explanations",
    "InferenceComponentName": "X-Amzn-SageMaker-Inference-Component",
    "SessionId": "X-Amzn-SageMaker-Session-Id",
}
_UNSUPPORTED_MEMBERS = (
    "TargetModel",
    "TargetContainerHostname",
    "EnableExplanations",
    "SessionId",
)


def invocation_path(method: str, path: str) -> str | None:
    """The endpoint name if ``method path`` is an InvokeEndpoint request, else None."""
    if method.upper() != "POST":
        return None
    match = _PATH.match(path)
    return unquote(match.group(1)) if match else None


class ModelError(ServiceError):
    def __init__(self, message: str, original_status: int, original_message: str) -> None:
        super().__init__("ModelError", message, 424)
        self.original_status = original_status
        self.original_message = original_message


class RuntimeService:
    """InvokeEndpoint over the local endpoint host; ``guard`` authorizes each call first."""

    def __init__(self, host: EndpointHost, guard: Any = None) -> None:
        self.host = host
        handlers: dict[str, Handler] = {"InvokeEndpoint": self.invoke_endpoint}
        self._handlers = guard(handlers) if guard is not None else handlers

    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes, context: CallContext
    ) -> HttpResponse:
        name = invocation_path(method, path) or ""
        lowered = {k.lower(): v for k, v in headers.items()}
        params: dict[str, Any] = {"EndpointName": name, "Body": body}
        if lowered.get("content-type"):
            params["ContentType"] = lowered["content-type"]
        if lowered.get("accept"):
            params["Accept"] = lowered["accept"]
        for member, header in _HEADER_MEMBERS.items():
            if header.lower() in lowered:
                params[member] = lowered[header.lower()]
        try:
            result = self._handlers["InvokeEndpoint"](params, context)
        except ModelError as error:
            payload = {
                "message": error.message,
                "OriginalStatusCode": error.original_status,
                "OriginalMessage": error.original_message,
            }
            response_headers = {
                "Content-Type": "application/json",
                "x-amzn-RequestId": context.request_id,
                "x-amzn-ErrorType": error.code,
            }
            return HttpResponse(error.status, response_headers, json.dumps(payload).encode())
        except PipelinesError as error:
            return error_response(_runtime_error(error), context.request_id, "application/json")
        response_headers = {
            "Content-Type": result["ContentType"],
            "x-Amzn-Invoked-Production-Variant": result["InvokedProductionVariant"],
            "x-amzn-RequestId": context.request_id,
        }
        if result.get("CustomAttributes"):
            response_headers["X-Amzn-SageMaker-Custom-Attributes"] = result["CustomAttributes"]
        return HttpResponse(200, response_headers, result["Body"])

    def invoke_endpoint(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        name = params["EndpointName"]
        body: bytes = params["Body"]
        if not name or len(name) > 63:
            raise ValidationError(
                f"1 validation error detected: Value '{name}' at 'endpointName' is not valid"
            )
        if len(body) > MAX_PAYLOAD_BYTES:
            raise ValidationError(
                f"the request body is {len(body)} bytes; InvokeEndpoint accepts at most {MAX_PAYLOAD_BYTES}"
            )
        for member in _UNSUPPORTED_MEMBERS:
            if params.get(member):
                raise ValidationError(f"InvokeEndpoint {name}: {member} is not supported by local endpoints")
        component = params.get("InferenceComponentName")
        if component:  # its own model server (pipelines.hosting.components); no data capture
            variant, port = self.host.components.route(str(component), name)
            config = None
        else:
            variant, port, config = self.host.route(name, params.get("TargetVariant"))
        headers = {
            k: params[m] for k, m in (("Content-Type", "ContentType"), ("Accept", "Accept")) if params.get(m)
        }
        if params.get("CustomAttributes"):
            headers["X-Amzn-SageMaker-Custom-Attributes"] = params["CustomAttributes"]
        try:
            response = POOL.request(
                "POST",
                f"http://127.0.0.1:{port}/invocations",
                body=body,
                headers=headers,
                timeout=INVOCATION_TIMEOUT_SECONDS,
                retries=False,
            )
        except urllib3.exceptions.TimeoutError as exc:
            raise ModelError(
                f'Received server error (0) from primary with message "the model did not answer within '
                f"{INVOCATION_TIMEOUT_SECONDS:g} s\". See the endpoint's log.",
                0,
                str(exc),
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            raise ServiceError(
                "ModelNotReadyException",
                f"the model server of endpoint {name} (variant {variant}) is not reachable: {exc}",
                429,
            ) from exc
        if response.status >= 400:
            original = response.data.decode("utf-8", errors="replace")
            kind = "client" if response.status < 500 else "server"
            raise ModelError(
                f'Received {kind} error ({response.status}) from primary with message "{original}". '
                f"See the endpoint's log in the state directory's endpoints folder.",
                response.status,
                original,
            )
        result = {
            "Body": response.data,
            "ContentType": response.headers.get("Content-Type")
            or params.get("Accept")
            or "application/octet-stream",
            "InvokedProductionVariant": variant,
        }
        if response.headers.get("X-Amzn-SageMaker-Custom-Attributes"):
            result["CustomAttributes"] = response.headers["X-Amzn-SageMaker-Custom-Attributes"]
        if config is not None and capture_enabled(config):
            capture_invocation(
                self.host.objects,
                config,
                name,
                variant,
                (body, str(params.get("ContentType") or "application/json")),
                (response.data, str(result["ContentType"])),
                inference_id=params.get("InferenceId"),
            )
        return result


def _runtime_error(error: PipelinesError) -> PipelinesError:
    """sagemaker-runtime names its client error ``ValidationError`` (SageMaker's is ValidationException)."""
    if isinstance(error, ValidationError):
        return ServiceError("ValidationError", error.message, 400)
    return error
