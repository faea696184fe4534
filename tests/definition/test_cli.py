"""``pipelines validate`` and ``pipelines graph`` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pipelines.cli import app
from typer.testing import CliRunner

from tests.project_files import APPROVAL_DEFINITION

from .builders import base_definition

RUNNER = CliRunner()


@pytest.fixture
def valid_file(tmp_path: Path) -> Path:
    path = tmp_path / "valid.json"
    path.write_text(json.dumps(base_definition()))
    return path


@pytest.fixture
def invalid_file(tmp_path: Path) -> Path:
    definition = base_definition()
    definition["Steps"][1]["DependsOn"] = ["Nowhere"]
    path = tmp_path / "invalid.json"
    path.write_text(json.dumps(definition))
    return path


def test_validate_exits_0_when_every_file_is_valid(valid_file: Path) -> None:
    result = RUNNER.invoke(app, ["validate", str(valid_file), str(APPROVAL_DEFINITION)])
    assert result.exit_code == 0, result.output
    assert result.output.count("valid (") == 2


def test_validate_exits_1_and_explains_when_any_file_is_invalid(valid_file: Path, invalid_file: Path) -> None:
    result = RUNNER.invoke(app, ["validate", str(valid_file), str(invalid_file)])
    assert result.exit_code == 1
    assert "invalid.json: 1 error(s)" in result.output
    assert "Steps[1].DependsOn[0]" in result.output and "step 'Nowhere' does not exist" in result.output
    assert "Traceback" not in result.output


def test_validate_json_output(valid_file: Path, invalid_file: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"Version": "2020-12-01",\n "Steps": [}')
    result = RUNNER.invoke(app, ["validate", "--json", str(valid_file), str(invalid_file), str(broken)])
    assert result.exit_code == 1
    document = json.loads(result.output)
    assert document["valid"] is False
    files = {Path(entry["file"]).name: entry for entry in document["files"]}
    assert files["valid.json"] == {"file": str(valid_file), "valid": True, "errors": [], "warnings": []}
    assert files["invalid.json"]["errors"] == [
        {
            "kind": "depends-on",
            "message": "step 'Nowhere' does not exist",
            "path": "Steps[1].DependsOn[0]",
            "severity": "error",
        }
    ]
    syntax = files["broken.json"]["errors"][0]
    assert (syntax["kind"], syntax["line"], syntax["column"], syntax["offset"]) == ("json", 2, 12, 37)


@pytest.mark.parametrize(
    "content", [b"", b"\x00\x01\xfe\xff", b"[1, 2]", b'{"Version": "2020-12-01", "Steps": "all"}']
)
def test_validate_never_shows_a_traceback(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    result = RUNNER.invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error" in result.output and "Traceback" not in result.output


def test_validate_reports_a_missing_file(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["validate", str(tmp_path / "absent.json")])
    assert result.exit_code == 1
    assert "cannot read the file" in result.output


def test_graph_mermaid_shows_types_and_labelled_branches(valid_file: Path) -> None:
    result = RUNNER.invoke(app, ["graph", str(valid_file)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "flowchart TD"
    ids = {
        name: f"s{i}"
        for i, name in enumerate(
            ["Preprocess", "Train", "CheckMSE", "Register", "Notify", "TooHigh", "Approve"]
        )
    }
    assert f'    {ids["CheckMSE"]}{{"CheckMSE<br/><i>Condition</i>"}}' in lines
    assert f'    {ids["TooHigh"]}(["TooHigh<br/><i>Fail</i>"])' in lines
    assert f"    {ids['CheckMSE']} -- if --> {ids['Register']}" in lines
    assert f"    {ids['CheckMSE']} -- if --> {ids['Notify']}" in lines
    assert f"    {ids['CheckMSE']} -- else --> {ids['TooHigh']}" in lines
    assert f"    {ids['Preprocess']} --> {ids['Train']}" in lines


def test_graph_dot_labels_branches_and_dashes_depends_on(tmp_path: Path) -> None:
    definition = base_definition()
    definition["Steps"][3]["DependsOn"] = ["Preprocess"]
    path = tmp_path / "p.json"
    path.write_text(json.dumps(definition))
    result = RUNNER.invoke(app, ["graph", "--format", "dot", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("digraph pipeline {")
    assert '"CheckMSE" [label="CheckMSE\\nCondition", shape=diamond];' in result.output
    assert '"CheckMSE" -> "TooHigh" [label="else", color="firebrick"];' in result.output
    assert '"CheckMSE" -> "Register" [label="if", color="darkgreen"];' in result.output
    assert '"Preprocess" -> "Approve" [style=dashed];' in result.output
    assert '"Preprocess" -> "Train";' in result.output


def test_graph_of_an_unparseable_file_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text("{")
    result = RUNNER.invoke(app, ["graph", str(path)])
    assert result.exit_code == 1
    assert "invalid JSON" in result.output
