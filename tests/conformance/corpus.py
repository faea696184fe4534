"""Where the conformance corpus is: the 39 real definitions kept beside this repository in CI.

Only ``make conformance`` runs these tests (``make test`` leaves them out, so a fresh clone
passes on its own). The folder is ``$PIPELINES_CORPUS``, else ``../shared/corpus`` next to the
checkout; when it is missing every test here fails saying so, never skips.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from pipelines.definition.models import PipelineDefinition

REPOSITORY = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("PIPELINES_CORPUS") or REPOSITORY.parent / "shared" / "corpus")
CORPUS_FILES = sorted(CORPUS.glob("*.json"))


def load_corpus(name: str) -> PipelineDefinition:
    with (CORPUS / name).open() as handle:
        return PipelineDefinition.model_validate(json.load(handle))
