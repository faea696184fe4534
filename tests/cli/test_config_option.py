"""Every command takes ``--config`` (the README promises it), and each uses or checks it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from pipelines.cli import app
from typer.testing import CliRunner

LAMBDA = json.dumps(
    {
        "Version": "2020-12-01",
        "Steps": [
            {
                "Name": "Score",
                "Type": "Lambda",
                "FunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:score",
                "Arguments": {},
            }
        ],
    }
)


def leaf_commands(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """(path, command) for every runnable command under ``command`` (groups descended)."""
    if getattr(command, "commands", None):
        found: list[tuple[tuple[str, ...], Any]] = []
        for name, sub in command.commands.items():
            found.extend(leaf_commands(sub, (*prefix, name)))
        return found
    return [(prefix, command)]


def test_every_command_has_a_config_option() -> None:
    commands = leaf_commands(typer.main.get_command(app))
    assert len(commands) > 15
    missing = [
        " ".join(path) for path, command in commands if not any("--config" in p.opts for p in command.params)
    ]
    assert missing == []


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pipeline.json").write_text(LAMBDA)
    (tmp_path / "score.py").write_text("def handler(event, context):\n    return {}\n")
    (tmp_path / "mapped.toml").write_text(
        '[functions]\n"arn:aws:lambda:*:*:function:score" = "score.py:handler"\n'
    )
    (tmp_path / "unmapped.toml").write_text('state_dir = "state"\n')
    (tmp_path / "broken.toml").write_text("state_dir = \n")
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [["validate", "pipeline.json"], ["graph", "pipeline.json"], ["plan", "pipeline.json"], ["asl"]],
)
def test_a_missing_or_malformed_config_is_refused_by_every_command(files: Path, args: list[str]) -> None:
    runner = CliRunner()
    for config, message in (("nowhere.toml", "config file not found"), ("broken.toml", "invalid TOML")):
        result = runner.invoke(app, [*args, "--config", config])
        assert result.exit_code == 2, result.output
        assert message in result.output
    assert runner.invoke(app, [*args, "--config", "mapped.toml"]).exit_code == 0


def test_validate_with_a_config_warns_about_steps_the_embedded_runtime_cannot_run(files: Path) -> None:
    runner = CliRunner()
    unmapped = json.loads(
        runner.invoke(app, ["validate", "pipeline.json", "--json", "--config", "unmapped.toml"]).stdout
    )
    assert unmapped["valid"] is True  # the service would take it
    [warning] = [w for w in unmapped["files"][0]["warnings"] if w["kind"] == "embedded-runtime"]
    assert "Score" in warning["message"] and "function:score" in warning["message"]
    assert warning["severity"] == "warning"
    mapped = json.loads(
        runner.invoke(app, ["validate", "pipeline.json", "--json", "--config", "mapped.toml"]).stdout
    )
    assert [w for w in mapped["files"][0]["warnings"] if w["kind"] == "embedded-runtime"] == []
