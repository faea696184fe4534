"""Access to the SDK fixture generator (tests/sdk/generate_v2.py) from this test area.

It is loaded by file path: ``tests`` is not an importable package here (another distribution in
the virtualenv installs a top-level ``tests`` package), and pytest runs in importlib mode.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

GENERATOR = Path(__file__).resolve().parents[2] / "sdk" / "generate_v2.py"
_NAME = "_pipelines_tests_sdk_generate_v2"


def load_generate_v2() -> ModuleType:
    if _NAME in sys.modules:
        return sys.modules[_NAME]
    spec = importlib.util.spec_from_file_location(_NAME, GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[_NAME] = module
    spec.loader.exec_module(module)
    return module
