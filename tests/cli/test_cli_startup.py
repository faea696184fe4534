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
