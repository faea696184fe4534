"""Lambda handler: the one-line summary a reviewer sees in the approval request."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    confusion = json.loads(event["confusion"])
    summary = (
        f"accuracy {float(event['accuracy']):.1%} on {int(event['rows'])} validation rows "
        f"(false positives {confusion['fp']}, false negatives {confusion['fn']}); "
        f"minimum required {float(event['min_accuracy']):.1%}"
    )
    return {"summary": summary}
