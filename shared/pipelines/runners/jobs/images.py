"""Which local interpreter stands in for a job's container image.

The config's ``[images]`` map sends an ImageUri (exact or glob) to a command line: a venv's
python, ``conda run -n env python``, ``python3``. Without an entry the host's own Python runs
the job (the one running this engine, so the job sees the same packages). A Python entrypoint
(``python3 script.py``) has its interpreter swapped for the mapped one, and the interpreter's
folder goes first on PATH so shell entrypoints that call ``python3`` find the same one.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipelines.config import Config

_PYTHON_NAME = re.compile(r"^python(\d+(\.\d+)?)?$")

# First-party algorithm images: they have their own training program and no script to run.
BUILT_IN_ALGORITHMS = (
    "blazingtext",
    "factorization-machines",
    "forecasting-deepar",
    "image-classification",
    "ipinsights",
    "kmeans",
    "knn",
    "lda",
    "linear-learner",
    "ntm",
    "object-detection",
    "object2vec",
    "pca",
    "randomcutforest",
    "semantic-segmentation",
    "seq2seq",
)


@dataclass(frozen=True)
class Interpreter:
    """The command prefix that runs Python for one image, and where the choice came from."""

    argv: tuple[str, ...]
    source: str
    mapped: bool  # True when the config's [images] map chose it

    def describe(self, image_uri: str | None) -> str:
        return f"image {image_uri or '(none)'} -> {shlex.join(self.argv)} ({self.source})"

    def path_env(self, env: Mapping[str, str]) -> dict[str, str]:
        """PATH with the interpreter's folder first, so ``python3`` inside shell scripts is it."""
        out = dict(env)
        first = self.argv[0]
        if os.sep in first:
            folder = str(Path(first).parent)
            out["PATH"] = os.pathsep.join([folder, out.get("PATH", os.defpath)])
        return out


def resolve_interpreter(config: Config, image_uri: str | None) -> Interpreter:
    command = config.image_command(image_uri) if image_uri else None
    if command is None:
        return Interpreter(argv=(sys.executable,), source="default: the host's Python", mapped=False)
    argv = shlex.split(command)
    if not argv:
        return Interpreter(argv=(sys.executable,), source="default: the host's Python", mapped=False)
    first = argv[0]
    if os.sep in first and not os.path.isabs(first):
        argv[0] = str((config.base_dir / first).resolve())
    return Interpreter(argv=tuple(argv), source="config [images]", mapped=True)


def is_python(program: str) -> bool:
    return bool(_PYTHON_NAME.match(os.path.basename(program)))


def entrypoint_command(
    interpreter: Interpreter, entrypoint: Sequence[str], arguments: Sequence[str]
) -> list[str]:
    """The container's entrypoint + arguments, with a Python entrypoint run by ``interpreter``."""
    argv = [str(a) for a in entrypoint] + [str(a) for a in arguments]
    if argv and is_python(argv[0]):
        return [*interpreter.argv, *argv[1:]]
    return argv


def built_in_algorithm(image_uri: str) -> str | None:
    """The algorithm name if the image is a SageMaker built-in algorithm image."""
    repository = image_uri.rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0]
    return repository if repository in BUILT_IN_ALGORITHMS else None


def find_program(program: str, env: Mapping[str, str]) -> str | None:
    """Where ``program`` resolves on the job's PATH (None if nowhere)."""
    return shutil.which(program, path=env.get("PATH"))


def serving_framework(image_uri: str | None) -> str:
    """Which framework container's default handlers serve a model of this image
    (``_inference.py``): ``xgboost`` for the XGBoost images (framework and built-in algorithm),
    ``sklearn`` for scikit-learn's, ``generic`` otherwise."""
    repository = (image_uri or "").rsplit("/", 1)[-1].split(":", 1)[0].split("@", 1)[0].lower()
    if "xgboost" in repository:
        return "xgboost"
    if "scikit-learn" in repository or "sklearn" in repository:
        return "sklearn"
    return "generic"
