"""The conformance run needs the corpus: without it, say where it was looked for."""

from __future__ import annotations

import pytest

from tests.conformance.corpus import CORPUS, CORPUS_FILES


@pytest.fixture(autouse=True)
def _corpus_present() -> None:
    if len(CORPUS_FILES) < 39:
        pytest.fail(
            f"the conformance corpus is not at {CORPUS} (set PIPELINES_CORPUS); run `make conformance` where it exists"
        )
