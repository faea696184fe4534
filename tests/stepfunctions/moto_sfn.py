"""The moto 5.2.5 test patches, shared with the cloud suite: see tests/cloud/moto_patches.py.

One module holds every test-only patch of moto's interpreter, Lambda, SageMaker and DynamoDB
(JSONata, per-parse scopes, no real-time waits, in-process Lambda handlers, SageMaker ``.sync``,
fakes for calls moto cannot serve, stops, task tokens); these names keep this suite's imports.
"""

from __future__ import annotations

import pytest

from tests.cloud.moto_patches import FakeTaskFailed, install
from tests.cloud.moto_patches import MotoCloud as MotoSfn

__all__ = ["FakeTaskFailed", "MotoSfn", "patch_moto_sfn"]


def patch_moto_sfn(monkeypatch: pytest.MonkeyPatch) -> MotoSfn:
    """Install every patch (undone by ``monkeypatch``); returns what the patches record."""
    return install(monkeypatch)
