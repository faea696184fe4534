"""``npx cdk synth`` as a user runs it, and the cloud assembly it writes.

The rehearsal only ever reads what the CDK CLI produced: the stack template and the asset
directories that ``cdk deploy`` would zip and upload (mapped through ``<stack>.assets.json``,
as the deploy does, from each asset's S3 object key back to its ``asset.<hash>`` directory).

Synthesis is slow (jsii start-up, pip-built layers), so each context variant is synthesized
once per test session into ``.rehearsal/<architecture>/`` at the repository root (each variant
keeps its own assembly in ``variant-<name>/`` there). Re-synthesizing
into a directory that already holds an ``asset.<hash>`` directory lets the CDK skip that
asset's bundling, which keeps repeated local runs fast; the template is written afresh.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.authorization.matrix import RULE_BUCKET, SHARING_ACCOUNTS

REPO = Path(__file__).resolve().parents[2]
OUT_ROOT = REPO / ".rehearsal"
ACCOUNT = "123456789012"
REGION = "us-east-1"
SYNTH_TIMEOUT_SECONDS = 900
SESSION = os.environ.get("PYTEST_XDIST_TESTRUNUID") or uuid.uuid4().hex
"""This test run: xdist workers share it, so each variant is synthesized once per run (the
rehearsal and the infra tests' CLI synth checks use the same outputs)."""


class SynthFailed(AssertionError):
    """``cdk synth`` exited non-zero (cdk-nag errors included): the rehearsal stops here."""


@dataclass(frozen=True)
class Variant:
    """One ``-c`` context combination a user may deploy."""

    name: str
    context: Mapping[str, str] = field(default_factory=dict)
    architecture: str = "arm64"  # cdk.json's default

    @property
    def outdir(self) -> Path:
        """Variants of one architecture share an output directory, so the second one reuses the
        first one's bundled assets (same asset hash) instead of running pip again."""
        return OUT_ROOT / self.architecture

    def arguments(self) -> list[str]:
        pairs = [["-c", f"{key}={value}"] for key, value in sorted(self.context.items())]
        return [item for pair in pairs for item in pair]


DEFAULT = Variant("default")
EXAMPLE = Variant("example", {"example": "true"})
# The variant the scenarios run: the handlers import compiled wheels, so its layer must be built
# for the machine's architecture (x86_64 here and in CI).
# Its API admits the authorization matrix's other accounts, and its rules may select the matrix's
# bucket (tests/authorization/matrix.py) and test_triggers' alarms.
RUNNABLE = Variant(
    "x86_64-example",
    {
        "lambdaArchitecture": "x86_64",
        "example": "true",
        "triggerAlarms": "churn-*",
        "triggerBuckets": RULE_BUCKET,
        "sharingAccounts": ",".join(SHARING_ACCOUNTS),
    },
    "x86_64",
)
# The web console left out (-c console=false): no CloudFront, Cognito or CORS on the API.
CONSOLE_OFF = Variant("console-off", {"console": "false"})
VARIANTS = (DEFAULT, EXAMPLE, RUNNABLE, CONSOLE_OFF)


@dataclass(frozen=True)
class Assembly:
    """One synthesized stack: its template and where each uploaded asset came from.

    ``outdir`` is this variant's own cloud assembly directory (``manifest.json``, the template,
    ``asset.<hash>`` entries), whichever variant synthesized last."""

    variant: Variant
    outdir: Path
    stack_name: str
    template: dict[str, Any]
    assets: dict[str, Path]  # S3 object key -> asset directory (or file)
    seconds: float
    output: str

    @property
    def account(self) -> str:
        return self.environment[0]

    @property
    def region(self) -> str:
        return self.environment[1]

    @property
    def environment(self) -> tuple[str, str]:
        manifest = json.loads((self.outdir / "manifest.json").read_text())
        env = manifest["artifacts"][self.stack_name]["environment"]
        account, region = env.removeprefix("aws://").split("/")
        return account, region

    def asset(self, code: Mapping[str, Any]) -> Path:
        """The directory behind a ``Code``/``Content`` property (``S3Bucket`` + ``S3Key``)."""
        key = code.get("S3Key")
        if not isinstance(key, str) or key not in self.assets:
            raise KeyError(f"no synthesized asset for code {dict(code)!r}")
        return self.assets[key]


def synth_environment() -> dict[str, str]:
    """What a user's shell holds when they synth: an account and a region, no credentials.

    The CLI replaces ``CDK_DEFAULT_REGION`` with its SDK's default region, so ``AWS_REGION``
    is set too (as it is in a shell configured for the account)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        CDK_DEFAULT_ACCOUNT=ACCOUNT,
        CDK_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="1",
        JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
    )
    return env


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise synths of one variant across test workers."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def synthesize(variant: Variant, *, session: str) -> Assembly:
    """``npx cdk synth`` for ``variant``; reused when this test session already ran it.

    ``session`` identifies the test run (workers of one run share it), so a synth is never
    reused across runs: every run rehearses the code as it is now."""
    outdir = variant.outdir
    with _locked(OUT_ROOT / f"{variant.architecture}.lock"):
        stamp = outdir / f"rehearsal-{variant.name}.json"
        if stamp.exists():
            recorded = json.loads(stamp.read_text())
            if recorded["session"] == session:
                return _read(variant, outdir, recorded["seconds"], recorded["output"])
        started = time.perf_counter()
        command = ["npx", "--no", "cdk", "synth", "-q", "-o", str(outdir), *variant.arguments()]
        done = subprocess.run(
            command,
            cwd=REPO,
            env=synth_environment(),
            capture_output=True,
            text=True,
            timeout=SYNTH_TIMEOUT_SECONDS,
            check=False,
        )
        seconds = time.perf_counter() - started
        output = done.stdout + done.stderr
        if done.returncode != 0:
            raise SynthFailed(
                f"`{' '.join(command)}` exited {done.returncode} for context {dict(variant.context)}:\n"
                + _errors(output)
            )
        _snapshot(variant, outdir)
        stamp.write_text(json.dumps({"session": session, "seconds": seconds, "output": output}))
        return _read(variant, outdir, seconds, output)


def _errors(output: str) -> str:
    """The error lines of a synth log (cdk-nag prints one finding per ERROR line), or its tail."""
    lines = [line for line in output.splitlines() if "ERROR" in line or "Error" in line]
    return "\n".join(lines[:40]) if lines else output[-4000:]


def _snapshot(variant: Variant, outdir: Path) -> Path:
    """This variant's cloud assembly, apart: the next variant's synth into the same directory
    overwrites the manifest and template. The files are copied and each ``asset.<hash>``
    directory is linked (content-hashed, so it stays valid for every variant that names it)."""
    kept = outdir / f"variant-{variant.name}"
    if kept.exists():
        shutil.rmtree(kept)
    kept.mkdir()
    for entry in outdir.iterdir():
        if entry.name.startswith("asset."):
            (kept / entry.name).symlink_to(Path("..") / entry.name)
        elif entry.is_file() and not entry.name.startswith("rehearsal-"):
            shutil.copy2(entry, kept / entry.name)
    return kept


def _read(variant: Variant, outdir: Path, seconds: float, output: str) -> Assembly:
    assembly_dir = outdir / f"variant-{variant.name}"
    manifest = json.loads((assembly_dir / "manifest.json").read_text())
    stacks = [n for n, a in manifest["artifacts"].items() if a["type"] == "aws:cloudformation:stack"]
    if len(stacks) != 1:
        raise AssertionError(f"expected one stack in {assembly_dir}, found {stacks}")
    stack = stacks[0]
    properties = manifest["artifacts"][stack]["properties"]
    template = json.loads((assembly_dir / properties["templateFile"]).read_text())
    assets: dict[str, Path] = {}
    assets_file = assembly_dir / f"{stack}.assets.json"
    for entry in json.loads(assets_file.read_text()).get("files", {}).values():
        source = assembly_dir / entry["source"]["path"]
        for destination in entry["destinations"].values():
            assets[destination["objectKey"]] = source
    return Assembly(variant, assembly_dir, stack, template, assets, seconds, output)
