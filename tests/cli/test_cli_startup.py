"""The CLI must stay quick to start: heavy server imports happen only in `serve`."""

from __future__ import annotations

import subprocess
import sys


def test_cli_import_does_not_load_the_api_server() -> None:
    code = "import sys, pipelines.cli; print('pipelines.api.server' in sys.modules, 'moto' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_serve_defaults_match_the_server() -> None:
    from pipelines.api.server import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_THREADS
    from pipelines.cli.api_commands import DEFAULT_HOST as CLI_HOST
    from pipelines.cli.api_commands import DEFAULT_PORT as CLI_PORT
    from pipelines.cli.api_commands import DEFAULT_THREADS as CLI_THREADS

    assert (CLI_HOST, CLI_PORT, CLI_THREADS) == (DEFAULT_HOST, DEFAULT_PORT, DEFAULT_THREADS)


def _pipelines(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed entry point (``pipelines.cli:main``), as a user runs it."""
    code = "import sys; from pipelines.cli import main; sys.argv[0] = 'pipelines'; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60)


def test_usage_errors_are_one_line_with_exit_2() -> None:
    for args, message in (
        (("steps",), "error: Missing argument 'execution'."),
        (("run", "--bogus", "x"), "error: No such option: --bogus"),
    ):
        done = _pipelines(*args)
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and done.stderr.startswith(message), done.stderr
        assert "--help" in done.stderr and done.stdout == ""


def test_no_arguments_prints_the_help() -> None:
    done = _pipelines()
    assert done.returncode == 0 and "Usage:" in done.stdout and "serve" in done.stdout
