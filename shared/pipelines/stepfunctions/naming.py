"""StepRunner execution names: ``<executionId>-<step>-<attempt>``, fit for Step Functions.

Step Functions refuses a second start with the same name, which makes the name a guard
against starting one step attempt twice; so names must be unique per (execution, step,
attempt). They are limited to 80 characters, and this module keeps them to
``[0-9A-Za-z_-]`` (no ``:``, spaces, or characters that break CloudWatch log names).
"""

from __future__ import annotations

import hashlib
import json
import re

MAX_EXECUTION_NAME_LENGTH = 80
DIGEST_LENGTH = 16
"""Hex digits of SHA-256 kept in a shortened name: 64 bits, so two attempts colliding is
negligible even over the 90 days a closed execution's name stays taken."""

_ALLOWED = re.compile(r"[0-9A-Za-z_-]+")
_PLAIN_EXECUTION_ID = re.compile(r"[0-9A-Za-z]+")
_DISALLOWED_RUN = re.compile(r"[^0-9A-Za-z_-]+")


def step_runner_execution_name(execution_id: str, step_name: str, attempt: int) -> str:
    """The StepRunner execution name for one attempt.

    The readable ``<executionId>-<step>-<attempt>`` is used as is when it is short enough and
    unambiguous (the execution id has no ``-``, so the split back into parts is unique).
    Otherwise the name is ``<sanitized prefix>-<digest>-<attempt>``, where the digest covers
    the exact triple, so sanitizing or truncating can never merge two attempts.
    """
    if attempt < 1:
        raise ValueError(f"attempt is 1-based, got {attempt}")
    if not execution_id or not step_name:
        raise ValueError("execution_id and step_name must be non-empty")
    suffix = f"-{attempt}"
    readable = f"{execution_id}-{step_name}{suffix}"
    if (
        len(readable) <= MAX_EXECUTION_NAME_LENGTH
        and _PLAIN_EXECUTION_ID.fullmatch(execution_id)
        and _ALLOWED.fullmatch(step_name)  # fullmatch: "$" would admit a trailing newline
    ):
        return readable
    digest = hashlib.sha256(json.dumps([execution_id, step_name, attempt]).encode()).hexdigest()
    tail = f"-{digest[:DIGEST_LENGTH]}{suffix}"
    head = _DISALLOWED_RUN.sub("-", f"{execution_id}-{step_name}")
    return head[: MAX_EXECUTION_NAME_LENGTH - len(tail)] + tail
