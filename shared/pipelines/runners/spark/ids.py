"""Identifiers in the services' own formats, derived from the attempt's job name.

The same attempt always gets the same IDs (a resumed driver reports what the first one
recorded); different attempts get different ones, as the services would.
"""

from __future__ import annotations

import hashlib

_UPPER = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "0123456789abcdefghijklmnopqrstuvwxyz"


def _digits(seed: str, length: int, alphabet: str) -> str:
    number = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    out = []
    for _ in range(length):
        number, digit = divmod(number, len(alphabet))
        out.append(alphabet[digit])
    return "".join(out)


def emr_cluster_id(seed: str) -> str:
    """``j-`` and 13 upper-case letters and digits, like ``j-1ABCDEFGHIJKL``."""
    return "j-" + _digits("cluster:" + seed, 13, _UPPER)


def emr_step_id(seed: str) -> str:
    """``s-`` and 13 upper-case letters and digits."""
    return "s-" + _digits("step:" + seed, 13, _UPPER)


def serverless_application_id(seed: str) -> str:
    """16 lower-case letters and digits, like ``00fabcdefgh12345``."""
    return _digits("application:" + seed, 16, _LOWER)


def serverless_job_run_id(seed: str) -> str:
    return _digits("jobrun:" + seed, 16, _LOWER)
