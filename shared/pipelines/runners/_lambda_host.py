"""The child process of a local Lambda invocation: load ``file.py``, call ``handler(event, context)``.

Run as a script (``python _lambda_host.py``), not as a package module, so the handler's process
imports nothing of ours and sees the handler's folder first on ``sys.path``, as Lambda's
``/var/task`` is. The parent passes the invocation as JSON on stdin and reads the outcome from
the file named in it, because the handler owns stdout and stderr (they are its logs).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any


class LambdaContext:
    """The attributes and method of the Lambda Python runtime's context object."""

    def __init__(self, invocation: dict[str, Any]) -> None:
        self.function_name: str = invocation["function_name"]
        self.function_version = "$LATEST"
        self.invoked_function_arn: str = invocation["function_arn"]
        self.memory_limit_in_mb: int = invocation["memory_limit_in_mb"]
        self.aws_request_id: str = invocation["request_id"]
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"local/{self.aws_request_id}"
        self.identity = None
        self.client_context = None
        self._deadline: float = invocation["deadline"]

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


def _load_handler(file: Path, name: str) -> Any:
    sys.path.insert(0, str(file.parent))
    spec = importlib.util.spec_from_file_location(file.stem, file)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[file.stem] = module
    spec.loader.exec_module(module)
    handler = getattr(module, name, None)
    if not callable(handler):
        raise AttributeError(f"{file} has no callable {name!r}")
    return handler


def main() -> int:
    invocation = json.loads(sys.stdin.read())
    outcome_path = Path(invocation["outcome_path"])
    sys.path[0:1] = []  # drop this script's folder: the handler's imports must not see ours
    try:
        handler = _load_handler(Path(invocation["file"]), invocation["handler"])
        result = handler(invocation["event"], LambdaContext(invocation))
    except Exception as exc:
        traceback.print_exc()
        outcome: dict[str, Any] = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
    else:
        outcome = {"result": result}
    try:
        text = json.dumps(outcome)
    except (TypeError, ValueError) as exc:  # the Lambda runtime's name for an unserialisable result
        text = json.dumps(
            {"errorType": "Runtime.MarshalError", "errorMessage": f"Unable to marshal response: {exc}"}
        )
    outcome_path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
