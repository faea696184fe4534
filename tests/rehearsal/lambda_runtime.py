"""The Lambda runtime's side of a rehearsal worker: runs in ``python3.12 -I -S`` (stdlib only).

Arguments: the result file descriptor, then the import roots in order (the function's code
directory, each layer's ``python/lib/python3.12/site-packages`` and ``python/`` directories, the
runtime's boto3 directory), as Lambda orders ``sys.path``. Each stdin line is one invocation
(``{"event", "requestId", "timeoutMs", "clockOffset"}``); each answer is one line on the result descriptor:
``{"ok": true, "payload": ...}`` or ``{"ok": false, "error": {errorMessage, errorType,
stackTrace}}``. Like a Lambda container the worker stays warm: module state outlives an
invocation. stdout is pointed at stderr, since handlers log there (Powertools).

An import failure is answered per invocation as ``Runtime.ImportModuleError``, as Lambda does.

The process's monotonic clock runs ``clockOffset`` seconds ahead of the machine's (set before
each invocation; it only ever grows): the rehearsal moves time on for the deployed code -- the
authorization cache's expiry, say -- without sleeping, as libfaketime would, and without any
switch in the code under test.
"""

import importlib
import json
import os
import sys
import time
import traceback
import uuid


class Context:
    """The fields of the Lambda context object that handlers and Powertools read."""

    def __init__(self, request_id, timeout_ms):
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = os.environ["REHEARSAL_FUNCTION_ARN"]
        self.memory_limit_in_mb = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"))
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = "rehearsal"
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_ms / 1000.0

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def failure(exc, error_type=None):
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_exception(exc)[1:],
    }


def load_handler():
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        message = f"Unable to import module '{module_name}': {exc}"
        return None, {"errorMessage": message, "errorType": "Runtime.ImportModuleError", "stackTrace": []}
    handler = getattr(module, function_name, None)
    if handler is None:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        return None, {"errorMessage": message, "errorType": "Runtime.HandlerNotFound", "stackTrace": []}
    return handler, None


_machine_monotonic = time.monotonic
_clock_offset = [0.0]


def _monotonic():
    return _machine_monotonic() + _clock_offset[0]


def main():
    results = os.fdopen(int(sys.argv[1]), "w", buffering=1)
    sys.path[:0] = sys.argv[2:]
    sys.stdout = sys.stderr
    time.monotonic = _monotonic  # before the handler's imports bind it
    handler, import_error = load_handler()
    for line in sys.stdin:
        request = json.loads(line)
        _clock_offset[0] = max(_clock_offset[0], float(request.get("clockOffset", 0.0)))
        if import_error is not None:
            answer = {"ok": False, "error": import_error}
        else:
            context = Context(request.get("requestId") or str(uuid.uuid4()), request["timeoutMs"])
            try:
                answer = {"ok": True, "payload": handler(request["event"], context)}
            except Exception as exc:
                answer = {"ok": False, "error": failure(exc)}
            try:
                json.dumps(answer)
            except (TypeError, ValueError) as exc:
                answer = {"ok": False, "error": failure(exc, "Runtime.MarshalError")}
        sys.stderr.flush()
        results.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    main()
