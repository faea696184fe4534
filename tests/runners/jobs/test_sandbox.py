"""The private /opt/ml: bind mount in a mount namespace, tmpfs-over-/opt fallback, clear errors."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from pipelines.runners.jobs import sandbox
from pipelines.runners.jobs.errors import SandboxUnavailable


def _run(
    job_root: Path, argv: list[str], plan: sandbox.SandboxPlan
) -> tuple[sandbox.ProcessOutcome, list[str]]:
    lines: list[str] = []
    outcome = sandbox.run_sandboxed(
        sandbox.SandboxCommand(
            job_root=job_root, argv=argv, env={"PATH": "/usr/bin:/bin"}, cwd="/", on_line=lines.append
        ),
        threading.Event(),
        plan=plan,
    )
    return outcome, lines


def test_overlay_fallback_presents_opt_ml_and_keeps_the_rest_of_opt(tmp_path: Path) -> None:
    (tmp_path / "opt" / "ml").mkdir(parents=True)
    (tmp_path / "opt" / "ml" / "marker").write_text("mine")
    host_entries = sorted(p.name for p in Path("/opt").iterdir() if p.name != "ml")
    outcome, lines = _run(
        tmp_path,
        ["sh", "-c", "cat /opt/ml/marker; echo; ls -A /opt"],
        sandbox.sandbox_plan(force_overlay=True),
    )
    assert outcome.exit_code == 0, outcome.stderr_tail
    assert lines[0] == "mine"
    assert sorted(lines[1:]) == sorted([*host_entries, "ml"])


def test_launcher_failure_is_reported_as_a_sandbox_problem(tmp_path: Path) -> None:
    outcome, _lines = _run(tmp_path / "missing", ["true"], sandbox.sandbox_plan())
    reason = sandbox.is_sandbox_failure(outcome)
    assert reason is not None and "cannot bind" in reason and "/opt/ml" in reason


def test_exit_codes_and_stderr_tail_come_back(tmp_path: Path) -> None:
    (tmp_path / "opt" / "ml").mkdir(parents=True)
    outcome, lines = _run(tmp_path, ["sh", "-c", "echo out; echo err >&2; exit 4"], sandbox.sandbox_plan())
    assert outcome.exit_code == 4
    assert sandbox.is_sandbox_failure(outcome) is None
    assert outcome.stderr_tail == ["err"]
    assert sorted(lines) == ["err", "out"]


def test_without_unshare_the_error_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox.shutil, "which", lambda _name: None)
    with pytest.raises(SandboxUnavailable, match=r"need the 'unshare' command \(util-linux\)"):
        sandbox.sandbox_plan.__wrapped__()
