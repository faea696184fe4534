"""`pipelines run` names the pipeline from --pipeline-name, else the definition's Metadata, else the file."""

from __future__ import annotations

from pathlib import Path

import pytest
from pipelines.cli.run_commands import pipeline_name_for
from pipelines.errors import PipelinesError


def test_the_explicit_name_wins() -> None:
    assert pipeline_name_for(Path("pipeline.json"), "chosen", {"PipelineName": "meta"}) == "chosen"


def test_the_definition_metadata_names_it_next() -> None:
    assert (
        pipeline_name_for(Path("pipeline.json"), None, {"PipelineName": "AbalonePipeline"})
        == "AbalonePipeline"
    )


def test_the_file_stem_is_the_last_resort() -> None:
    assert pipeline_name_for(Path("my_pipeline.v2.json"), None, {}) == "my-pipeline-v2"


def test_an_invalid_metadata_name_is_refused_naming_it() -> None:
    with pytest.raises(PipelinesError, match="not a valid pipeline name"):
        pipeline_name_for(Path("p.json"), None, {"PipelineName": "bad name!"})
