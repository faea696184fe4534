"""The STS subset of ``pipelines serve``: GetCallerIdentity, so boto3, the SageMaker SDK v3 and
scripts that ask who they are get the account the endpoint acts as for them (the ``[accounts]``
entry of their access key, else the configured ``account_id``) instead of reaching AWS."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from moto.core.request import Request
from werkzeug.datastructures import MultiDict

from pipelines.api.errors import UnknownOperation
from pipelines.api.rest import RestService
from pipelines.api.wire import CallContext, Handler


def caller_identity(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
    return {"UserId": ctx.account_id, "Account": ctx.account_id, "Arn": f"arn:aws:iam::{ctx.account_id}:root"}


def sts_handlers() -> dict[str, Handler]:
    return {"GetCallerIdentity": caller_identity}


class StsService(RestService):
    """STS speaks the query protocol: the operation is the form body's ``Action``."""

    def __init__(self, *, strict_shapes: bool = False) -> None:
        super().__init__("sts", sts_handlers(), strict_shapes=strict_shapes)

    def _form(self, request: Request, body: bytes) -> dict[str, list[str]]:
        form = parse_qs(body.decode("utf-8", errors="replace"))
        for key, values in request.args.lists():
            form.setdefault(key, values)
        return form

    def route(self, request: Request, body: bytes) -> tuple[Any, dict[str, Any]]:
        action = (self._form(request, body).get("Action") or [""])[0]
        model = self.router._service_model  # moto's model: its serializer checks its own shape classes
        if action not in model.operation_names:
            raise UnknownOperation(f"unknown STS action {action!r}")
        return model.operation_model(action), {}

    def values(self, request: Request, body: bytes) -> Any:
        return MultiDict([(k, v) for k, vs in self._form(request, body).items() for v in vs])

    def error_response(self, request: Request, error: Any, context: CallContext) -> Any:
        from xml.sax.saxutils import escape

        from pipelines.api.errors import http_status
        from pipelines.api.wire import HttpResponse

        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
            f"<RequestId>{escape(context.request_id)}</RequestId></ErrorResponse>"
        ).encode()
        return HttpResponse(http_status(error), {"Content-Type": "text/xml"}, body)
