"""Data capture for local endpoints (an endpoint config's ``DataCaptureConfig``), in Model
Monitor's file format, so a monitoring or quality check pipeline reads what the endpoint saw.

Each captured invocation (``InitialSamplingPercentage`` of them, chosen at random) is one JSON
line ``{"captureData": {"endpointInput": ..., "endpointOutput": ...}, "eventMetadata":
{"eventId", "inferenceTime"}, "eventVersion": "0"}`` in an object under
``<DestinationS3Uri>/<EndpointName>/<VariantName>/<yyyy>/<mm>/<dd>/<hh>/``, as SageMaker writes
them. ``CaptureOptions`` chooses Input and/or Output; a body's ``encoding`` is ``CSV`` or ``JSON``
for the content types ``CaptureContentTypeHeader`` lists (default: ``text/csv`` and
``application/json``), else ``BASE64``. SageMaker batches records into files every few
minutes; here each record is its own object, which readers of the prefix treat the same.
"""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pipelines.objects.base import ObjectStore

DEFAULT_CSV = ("text/csv",)
DEFAULT_JSON = ("application/json",)


def capture_enabled(config: Mapping[str, Any] | None) -> bool:
    capture = (config or {}).get("DataCaptureConfig") or {}
    return bool(capture) and capture.get("EnableCapture", True) is not False


def _encoded(body: bytes, content_type: str, header: Mapping[str, Any], mode: str) -> dict[str, Any]:
    base = content_type.split(";")[0].strip().lower()
    csv_types = [t.lower() for t in header.get("CsvContentTypes") or DEFAULT_CSV]
    json_types = [t.lower() for t in header.get("JsonContentTypes") or DEFAULT_JSON]
    if base in csv_types or base in json_types:
        try:
            return {
                "observedContentType": content_type,
                "mode": mode,
                "data": body.decode("utf-8"),
                "encoding": "CSV" if base in csv_types else "JSON",
            }
        except UnicodeDecodeError:
            pass
    return {
        "observedContentType": content_type,
        "mode": mode,
        "data": base64.b64encode(body).decode("ascii"),
        "encoding": "BASE64",
    }


def capture_invocation(
    objects: ObjectStore,
    config: Mapping[str, Any],
    endpoint: str,
    variant: str,
    request: tuple[bytes, str],
    response: tuple[bytes, str],
    *,
    inference_id: str | None = None,
    sample: float | None = None,
) -> str | None:
    """Write one invocation's capture record if the config captures and it is sampled; returns
    the object's URI (None when nothing was written)."""
    if not capture_enabled(config):
        return None
    capture = config["DataCaptureConfig"]
    percentage = float(capture.get("InitialSamplingPercentage", 100))
    if (random.uniform(0, 100) if sample is None else sample) >= percentage:
        return None
    modes = {str(o.get("CaptureMode")) for o in capture.get("CaptureOptions") or []} or {"Input", "Output"}
    header = capture.get("CaptureContentTypeHeader") or {}
    data: dict[str, Any] = {}
    if "Input" in modes:
        data["endpointInput"] = _encoded(request[0], request[1], header, "INPUT")
    if "Output" in modes:
        data["endpointOutput"] = _encoded(response[0], response[1], header, "OUTPUT")
    now = datetime.now(UTC)
    event_id = str(uuid.uuid4())
    metadata: dict[str, Any] = {
        "eventId": event_id,
        "inferenceTime": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
    }
    if inference_id:
        metadata["inferenceId"] = inference_id
    record = {"captureData": data, "eventMetadata": metadata, "eventVersion": "0"}
    destination = str(capture["DestinationS3Uri"]).rstrip("/")
    uri = f"{destination}/{endpoint}/{variant}/{now:%Y/%m/%d/%H}/{now:%M-%S-%f}-{event_id}.jsonl"
    objects.put(uri, (json.dumps(record) + "\n").encode())
    return uri
