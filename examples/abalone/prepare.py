"""Put the example's code where its pipeline expects it: the local object store.

The definition (pipeline.json) reads its scripts from ``s3://abalone-example/code/`` as a
pipeline built with the SageMaker SDK reads them from S3: ``preprocess.py`` and
``evaluate.py`` as Processing inputs, and ``sourcedir.tar.gz`` (``train.py``) as the training
job's ``sagemaker_submit_directory`` and the model's ``SAGEMAKER_SUBMIT_DIRECTORY``. The tarball
is built here, byte-for-byte reproducible. Run before ``pipelines run`` (``make demo`` does).

    python examples/abalone/prepare.py [--config examples/abalone/pipelines.toml]
"""

from __future__ import annotations

import argparse
import gzip
import io
import tarfile
from pathlib import Path

from pipelines.config import Config, load_config
from pipelines.objects import LocalObjectStore

HERE = Path(__file__).resolve().parent
CODE = HERE / "code"
CODE_PREFIX = "s3://abalone-example/code"


def sourcedir_tar_gz(files: list[Path]) -> bytes:
    """A tar.gz of ``files`` with fixed metadata, so the same sources give the same bytes."""
    tar_bytes = io.BytesIO()
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(path.name)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(tar_bytes.getvalue(), mtime=0)


def prepare(config: Config) -> list[str]:
    """Upload the code into ``config``'s object store; the URIs written."""
    objects = LocalObjectStore(config.object_root)
    uploaded = []
    for name in ("preprocess.py", "evaluate.py"):
        uri = f"{CODE_PREFIX}/{name}"
        objects.put(uri, (CODE / name).read_bytes())
        uploaded.append(uri)
    uri = f"{CODE_PREFIX}/sourcedir.tar.gz"
    objects.put(uri, sourcedir_tar_gz([CODE / "train.py"]))
    uploaded.append(uri)
    return uploaded


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=HERE / "pipelines.toml")
    for line in prepare(load_config(parser.parse_args().config)):
        print(f"uploaded {line}")
