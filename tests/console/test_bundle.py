"""The committed console assets are exactly what ``console/src`` builds, and the sources never
parse strings as HTML or code (the escaping rule of docs/console.md, kept by construction)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("console")  # one server and one browser for the package

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "shared" / "pipelines" / "console" / "static"
SOURCES = ROOT / "console" / "src"


def test_committed_assets_match_a_fresh_build(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "esbuild").is_dir():
        pytest.fail("the console build needs node and `npm ci` (make install runs it)", pytrace=False)
    subprocess.run([node, str(ROOT / "console" / "build.mjs"), str(tmp_path)], check=True, timeout=120)
    built = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(STATIC).as_posix() for p in STATIC.rglob("*") if p.is_file())
    assert built == committed, "run `make console` and commit shared/pipelines/console/static"
    for name in built:
        assert (tmp_path / name).read_bytes() == (
            STATIC / name
        ).read_bytes(), f"{name} is stale: run `make console` and commit shared/pipelines/console/static"


def test_sources_never_turn_strings_into_markup_or_code() -> None:
    forbidden = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|DOMParser"
    )
    offenders = [
        f"{path.name}:{number}: {line.strip()}"
        for path in SOURCES.rglob("*.ts")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if forbidden.search(line)
    ]
    assert not offenders, offenders
