"""Instructions one validation of a 1,000-step definition executes, by stage (load-independent).

`benchmarks/validate.py` reports CPU time, which on a shared machine swings by a third with
the load. This counts the instructions the same work executes under valgrind's callgrind, which
do not depend on the load, so two versions of the validator can be compared exactly. The
definition is the benchmark's own 1,000-step synthetic one. Only the timed loop is counted:
the child process sets everything up, then callgrind's instrumentation is switched on for the
loop alone (``callgrind_control -i on|off``), with hash randomisation fixed and the garbage
collector off, so a run repeats to within a few thousand instructions.

Stages: ``check`` (what `validate.py` times: ``check_text``, which takes the stepwise path for
these definitions), and the whole-document path's stages: ``json`` (the JSON parse),
``schema`` (the pydantic models), ``rules`` (``validate_with_graph``), ``arguments`` (every
step's Arguments against its request shape) and ``envelope`` (the envelope rules).

``--cache MB`` also simulates the caches (callgrind's ``--cache-sim``: a 48 KB first level and a
last level of MB megabytes, 16-way) and prints the last-level misses a step, the memory traffic
that instruction counts do not show. The child holds other copies of the definition besides
the one the stage works on, so a large definition is no more cached than in `validate.py`. On
the machine the benchmarks run on, the per-step time stops growing at about 3,000 steps (about
10 MB), so 8 MB is a fair model of what one process gets of the shared L3 (docs/validation.md).

A diagnostic beside `validate.py`, not a target of its own (so `make bench` does not run it).
Needs valgrind (`apt-get install valgrind`); it is not part of `make install`.
Run: .venv/bin/python benchmarks/tools/validate_instructions.py [--stages check json ...]
     [--steps 1000 ...] [--repeat N] [--cache MB]
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("check", "json", "schema", "rules", "arguments", "envelope")


def child(stage: str, repeat: int, steps: int) -> None:
    """Set up, say READY, run the stage ``repeat`` times between two lines from the parent."""
    sys.path.insert(0, str(ROOT / "shared"))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from pipelines.definition import check_definition, check_text, validation
    from pipelines.definition.arguments import check_arguments
    from pipelines.definition.parser import parse_json, validate_schema
    from pipelines.definition.step_rules import check_envelope
    from validate import _dump, synthetic_definition

    text = _dump(synthetic_definition(steps))
    check_definition(_dump(synthetic_definition(20)))  # loads the botocore models, as validate.py
    report = check_text(text)  # warms the process caches; no size limit, as validate.py
    assert report.definition is not None and not report.errors
    located = validation.locate_steps(report.definition)
    data, _ = parse_json(text)
    gc.disable()
    print("READY", flush=True)
    sys.stdin.readline()
    for _ in range(repeat):
        if stage == "check":
            check_text(text)
        elif stage == "json":
            parse_json(text)
        elif stage == "schema":
            validate_schema(data)
        elif stage == "rules":  # a fresh memo each time: only the process caches are warm
            validation.validate_with_graph(report.definition)
        elif stage == "arguments":
            for item in located:
                check_arguments(item.step.type, item.step.arguments, (*item.location, "Arguments"))
        elif stage == "envelope":
            for item in located:
                check_envelope(item.step, item.location, [])
    print("DONE", flush=True)
    sys.stdin.readline()


def count(stage: str, repeat: int, steps: int, cache_mb: int | None = None) -> tuple[float, float | None]:
    """Millions of instructions per repetition of ``stage``, and with ``cache_mb`` the
    last-level cache misses (reads and writes) per step."""
    cache = (
        ["--cache-sim=yes", "--D1=49152,12,64", f"--LL={cache_mb * 1024 * 1024},16,64"] if cache_mb else []
    )
    with tempfile.TemporaryDirectory() as out:
        process = subprocess.Popen(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                *cache,
                f"--callgrind-out-file={out}/callgrind.%p",
                sys.executable,
                __file__,
                "--child",
                stage,
                "--repeat",
                str(repeat),
                "--steps",
                str(steps),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        assert process.stdin is not None and process.stdout is not None
        if process.stdout.readline().strip() != "READY":
            raise RuntimeError(f"the {stage} child did not start: {process.communicate()[1][-2000:]}")
        subprocess.run(["callgrind_control", "-i", "on", str(process.pid)], check=True, capture_output=True)
        process.stdin.write("go\n")
        process.stdin.flush()
        assert process.stdout.readline().strip() == "DONE"
        subprocess.run(["callgrind_control", "-i", "off", str(process.pid)], check=True, capture_output=True)
        process.stdin.write("end\n")
        process.stdin.flush()
        _, stderr = process.communicate()
    match = re.search(r"Collected : ([\d ]+)", stderr)
    if match is None:
        raise RuntimeError(f"callgrind printed no count for {stage}: {stderr[-2000:]}")
    # Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw with --cache-sim, Ir alone without
    counts = [int(field) for field in match.group(1).split()]
    misses = (counts[7] + counts[8]) / repeat / steps if cache_mb else None
    return counts[0] / repeat / 1e6, misses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--steps", type=int, nargs="+", default=[1000])
    parser.add_argument("--cache", type=int, metavar="MB", help="simulate a last-level cache of MB megabytes")
    parser.add_argument("--child", choices=STAGES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.repeat, args.steps[0])
        return
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    for steps in args.steps:
        for stage in args.stages:
            millions, misses = count(stage, args.repeat, steps, args.cache)
            cache = (
                f", {misses:6.1f} last-level misses a step ({args.cache} MB)" if misses is not None else ""
            )
            print(
                f"{steps:>6} steps  {stage:<10}{millions:>10.1f} M instructions a run, "
                f"{millions * 1000 / steps:>6.1f} k a step{cache}",
                flush=True,
            )


if __name__ == "__main__":
    main()
