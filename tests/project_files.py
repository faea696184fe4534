"""The project's own definitions that tests may read: the examples and the SDK v3 samples.

Tests read nothing outside this repository (``tests/test_repository_boundary.py`` checks it);
the conformance corpus beside the checkout is read only by ``make conformance``.
"""

from __future__ import annotations

from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLES = REPOSITORY / "examples"
ABALONE_DEFINITION = EXAMPLES / "abalone" / "pipeline.json"  # SDK v2 output (examples/abalone/generate.py)
APPROVAL_DEFINITION = EXAMPLES / "approval" / "pipeline.json"
SDK_V3_DEFINITIONS = sorted((REPOSITORY / "tests" / "fixtures" / "sdk_v3").glob("*.json"))
PROJECT_DEFINITIONS = sorted(EXAMPLES.glob("*/pipeline.json")) + SDK_V3_DEFINITIONS
