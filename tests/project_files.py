"""The project's own definitions that tests may read: the examples and the SDK v3 samples.

Tests read nothing outside this repository (``tests/test_repository_boundary.py`` checks it);
the conformance corpus beside the checkout is read only by ``make conformance``.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
EXAMPLES = REPOSITORY / "examples"
ABALONE_DEFINITION = EXAMPLES / "abalone" / "pipeline.json"  # SDK v2 output (examples/abalone/generate.py)
ABALONE_GOOD_MODEL_STEPS = (  # every step a run whose model passes the MSE check runs, in order
    "PreprocessAbaloneData",
    "TrainAbaloneModel",
    "EvaluateAbaloneModel",
    "CheckMSEAbaloneEvaluation",
    "RegisterAbaloneModel-RegisterModel",
    "CreateAbaloneModel-CreateModel",
    "TransformAbaloneBatch",
)
APPROVAL_DEFINITION = EXAMPLES / "approval" / "pipeline.json"
SDK_V3_DEFINITIONS = sorted((REPOSITORY / "tests" / "fixtures" / "sdk_v3").glob("*.json"))
PROJECT_DEFINITIONS = sorted(EXAMPLES.glob("*/pipeline.json")) + SDK_V3_DEFINITIONS


def sklearn_image_registries() -> dict[str, str]:
    """Region -> account of SageMaker's scikit-learn inference image registry (1.2-1), as the
    installed SageMaker Python SDK (a dev requirement) lists it: the reference for the example
    stack's own table. Read from the SDK's data file, without importing the SDK."""
    spec = importlib.util.find_spec("sagemaker")
    assert spec is not None and spec.origin is not None, "the SageMaker SDK is a dev requirement"
    config = Path(spec.origin).parent / "image_uri_config" / "sklearn.json"
    versions = json.loads(config.read_text())["inference"]["versions"]
    return dict(versions["1.2-1"]["registries"])
