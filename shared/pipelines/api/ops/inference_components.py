"""Inference components on the wire (embedded runtime): Create/Update/Describe/List/Delete
InferenceComponent over the local endpoint host's components
(:class:`pipelines.hosting.components.InferenceComponentHost`), so the SDK's
``create_inference_component`` / ``wait_for_inference_component`` and boto3 work against
``pipelines serve``; InvokeEndpoint with ``InferenceComponentName`` is in
:mod:`pipelines.api.runtime`.
"""

from __future__ import annotations

from typing import Any

from pipelines.api.ops.registry import listed
from pipelines.api.wire import CallContext, Handler
from pipelines.hosting import EndpointHost

_LIST_FILTERS = {
    "EndpointNameEquals": "EndpointName",
    "VariantNameEquals": "VariantName",
    "StatusEquals": "InferenceComponentStatus",
}


class InferenceComponentOperations:
    def __init__(self, host: EndpointHost) -> None:
        self.host = host

    def handlers(self) -> dict[str, Handler]:
        components = self.host.components
        return {
            "CreateInferenceComponent": lambda p, c: {
                "InferenceComponentArn": components.create(_untagged(p))["InferenceComponentArn"]
            },
            "UpdateInferenceComponent": lambda p, c: {
                "InferenceComponentArn": components.update(p)["InferenceComponentArn"]
            },
            "DescribeInferenceComponent": lambda p, c: components.describe(p["InferenceComponentName"]),
            "ListInferenceComponents": self.list_inference_components,
            "DeleteInferenceComponent": self.delete_inference_component,
        }

    def delete_inference_component(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.host.components.delete(params["InferenceComponentName"])
        return {}

    def list_inference_components(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        kept = [
            item
            for item in self.host.components.list()
            if all(
                params.get(name) is None or item.get(member) == params[name]
                for name, member in _LIST_FILTERS.items()
            )
        ]
        page, token = listed(kept, params, "InferenceComponentName", "ListInferenceComponents")
        return {"InferenceComponents": page, "NextToken": token}


def _untagged(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "Tags"}


def inference_component_handlers(host: EndpointHost) -> dict[str, Handler]:
    return InferenceComponentOperations(host).handlers()
