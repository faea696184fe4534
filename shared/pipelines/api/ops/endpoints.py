"""Endpoint configs and endpoints on the wire (embedded runtime): Create/Describe/List/Delete
EndpointConfig, Create/Update/Describe/List/Delete Endpoint, over the local endpoint host
(:class:`pipelines.hosting.EndpointHost`), so the SDK's ``model.deploy()``, ``Predictor`` and
boto3's waiters work against ``pipelines serve``.
"""

from __future__ import annotations

from typing import Any

from pipelines.api.ops.jobs import epoch_ms
from pipelines.api.ops.registry import listed
from pipelines.api.wire import CallContext, Handler
from pipelines.hosting import EndpointHost


class EndpointOperations:
    def __init__(self, host: EndpointHost) -> None:
        self.host = host

    def handlers(self) -> dict[str, Handler]:
        host = self.host
        return {
            "CreateEndpointConfig": lambda p, c: {
                "EndpointConfigArn": host.create_endpoint_config(_untagged(p))["EndpointConfigArn"]
            },
            "DescribeEndpointConfig": lambda p, c: host.describe_endpoint_config(p["EndpointConfigName"]),
            "ListEndpointConfigs": self.list_endpoint_configs,
            "DeleteEndpointConfig": self.delete_endpoint_config,
            "CreateEndpoint": lambda p, c: {"EndpointArn": host.create_endpoint(_untagged(p))["EndpointArn"]},
            "UpdateEndpoint": self.update_endpoint,
            "DescribeEndpoint": lambda p, c: host.describe_endpoint(p["EndpointName"]),
            "ListEndpoints": self.list_endpoints,
            "DeleteEndpoint": self.delete_endpoint,
        }

    def update_endpoint(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        """The new config's variants come up beside the old ones and take all traffic at once
        when healthy (blue/green, all at once), whatever ``DeploymentConfig`` asks: one local
        process per variant has no fleet to shift in steps."""
        request = {k: params[k] for k in ("EndpointName", "EndpointConfigName")}
        return {"EndpointArn": self.host.update_endpoint(request)["EndpointArn"]}

    def delete_endpoint_config(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.host.delete_endpoint_config(params["EndpointConfigName"])
        return {}

    def delete_endpoint(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.host.delete_endpoint(params["EndpointName"])
        return {}

    def list_endpoint_configs(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        page, token = listed(
            self.host.list_endpoint_configs(), params, "EndpointConfigName", "ListEndpointConfigs"
        )
        return {"EndpointConfigs": page, "NextToken": token}

    def list_endpoints(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        items = self.host.list_endpoints()
        status = params.get("StatusEquals")
        after, before = (
            epoch_ms(params.get("LastModifiedTimeAfter")),
            epoch_ms(params.get("LastModifiedTimeBefore")),
        )
        kept = [
            item
            for item in items
            if (status is None or item.get("EndpointStatus") == status)
            and (after is None or (epoch_ms(item.get("LastModifiedTime")) or 0) > after)
            and (before is None or (epoch_ms(item.get("LastModifiedTime")) or 0) < before)
        ]
        page, token = listed(kept, params, "EndpointName", "ListEndpoints")
        return {"Endpoints": page, "NextToken": token}


def _untagged(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if k != "Tags"}


def endpoint_handlers(host: EndpointHost) -> dict[str, Handler]:
    return EndpointOperations(host).handlers()
