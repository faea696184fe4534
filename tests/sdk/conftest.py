"""Session fixtures: real SageMaker SDK v2 pipeline definitions, generated offline once per process.

Other test areas use ``sdk_definitions`` (name -> definition JSON text exactly as
``Pipeline.definition()`` returned it). Generation takes a few seconds, so it runs at most once
per pytest process (each xdist worker generates its own copy, into its own tmp dir).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from .generate_v2 import execution_options, generate_once


@pytest.fixture(scope="session")
def sdk_definitions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Definition JSON text by pipeline name (see ``generate_v2.GENERATORS`` for the names)."""
    return generate_once(tmp_path_factory.mktemp("sdk_v2"))


@pytest.fixture(scope="session")
def sdk_definition_dicts(sdk_definitions: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The same definitions, parsed. Treat as read-only: the dicts are shared by the session."""
    return {name: json.loads(text) for name, text in sdk_definitions.items()}


@pytest.fixture(scope="session")
def sdk_execution_options() -> dict[str, dict[str, Any]]:
    """Execution-level request fragments (ParallelismConfiguration, SelectiveExecutionConfig)."""
    return execution_options()
