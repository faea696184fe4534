"""What the Spark tests need beyond the CLI helpers: the processes a Spark job left running."""

from __future__ import annotations

from pathlib import Path


def spark_processes(folder: Path) -> list[int]:
    """Live processes whose command line or environment names ``folder`` (every process of a
    Spark job has its local directories, which are in the job's folder, in its environment)."""
    needle = str(folder).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if needle in cmdline and state not in ("Z", "X"):
            found.append(int(entry.name))
    return sorted(found)
