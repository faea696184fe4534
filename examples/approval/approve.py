"""A stand-in reviewer for ``make demo``: wait for the approval request, then approve it.

It does what a real approver would with the CLI: poll ``pipelines callback list --json`` for a
callback waiting on the ``approval-requests`` queue, read the request, and answer it with
``pipelines callback succeed``. Only requests that started after ``--since`` count, so a
request left over from an interrupted earlier run is not answered by mistake. With
``--watch-pid`` it gives up as soon as that process (the ``pipelines run``) has ended, since
no request can come any more.

Exit codes: 0 approved one request, or the watched run ended first; 1 no request arrived
before the timeout; 2 the CLI failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

QUEUE = "approval-requests"


def pipelines_cli() -> list[str]:
    """The ``pipelines`` command of the interpreter running this script (the project's venv)."""
    script = Path(sys.executable).parent / "pipelines"
    return [str(script)] if script.exists() else ["pipelines"]


def pending_requests(config: str) -> list[dict[str, Any]]:
    listed = subprocess.run(
        [*pipelines_cli(), "callback", "list", "--json", "--config", config],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if listed.returncode != 0:
        raise RuntimeError(listed.stderr.strip() or f"pipelines callback list exited {listed.returncode}")
    requests: list[dict[str, Any]] = json.loads(listed.stdout)
    return requests


def process_ended(pid: int) -> bool:
    """Gone, or a zombie its parent has not reaped yet (the run has finished either way)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="the example's pipelines.toml")
    parser.add_argument(
        "--since", type=float, default=time.time(), help="epoch seconds; older requests are ignored"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for a request")
    parser.add_argument("--status", default="Approved", choices=["Approved", "Rejected"])
    parser.add_argument("--watch-pid", type=int, help="stop waiting once this process has ended")
    args = parser.parse_args()

    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if args.watch_pid is not None and process_ended(args.watch_pid):
            print("approve.py: the run ended without asking for approval")
            return 0
        try:
            requests = pending_requests(args.config)
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            print(f"approve.py: cannot list callbacks: {exc}", file=sys.stderr)
            return 2
        for request in requests:
            waiting_since = datetime.fromisoformat(request["waitingSince"]).timestamp()
            if request["queueName"] != QUEUE or waiting_since < args.since:
                continue
            summary = request["arguments"].get("summary", "")
            print(f"approve.py: {args.status.lower()} {request['executionId']}: {summary}")
            answered = subprocess.run(
                [
                    *pipelines_cli(),
                    "callback",
                    "succeed",
                    request["token"],
                    "--output",
                    f"approval_status={args.status}",
                    "--output",
                    "approver=approve.py",
                    "--config",
                    args.config,
                ],
                timeout=60,
            )
            return 0 if answered.returncode == 0 else 2
        time.sleep(0.5)
    print(f"approve.py: no approval request arrived within {args.timeout:g}s", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
