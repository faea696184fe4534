"""Builders shared by the stepfunctions tests."""

from __future__ import annotations

from typing import Any

from pipelines.definition.models import Step
from pydantic import TypeAdapter

STEP: TypeAdapter[Any] = TypeAdapter(Step)


def make_step(step_type: str, arguments: Any = None, **fields: Any) -> Any:
    data: dict[str, Any] = {
        "Name": f"My{step_type}",
        "Type": step_type,
        "Arguments": arguments or {},
        **fields,
    }
    if step_type == "Lambda":
        data.setdefault("FunctionArn", "arn:aws:lambda:us-east-1:123456789012:function:f")
    if step_type == "Callback":
        data.setdefault("SqsQueueUrl", "https://sqs.us-east-1.amazonaws.com/123456789012/q")
    if step_type in ("QualityCheck", "ClarifyCheck"):
        data.setdefault("CheckType", "DATA_QUALITY")
    if step_type == "Condition":
        data["Arguments"] = {"Conditions": []}
    return STEP.validate_python(data)
