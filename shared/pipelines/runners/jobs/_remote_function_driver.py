"""Runs inside a local @step job, under the image's interpreter (which must have ``sagemaker``).

It stands in for the container's ``job_driver.sh`` + ``bootstrap_runtime_environment.py``:
unpacks the user's workspace, runs the pre-execution script, then calls the SDK's
``invoke_function.main`` with S3 reads served from the files the runner staged
(``$PIPELINES_RF_OBJECTS_IN/<bucket>/<key>``) and S3 writes sent to files the runner uploads
afterwards (``$PIPELINES_RF_OBJECTS_OUT/<bucket>/<key>``). Standalone on purpose: the
interpreter may be another environment without the ``pipelines`` package.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

INPUT_DATA = Path("/opt/ml/input/data")
WORKSPACE_FOLDER = "sagemaker_remote_function_workspace"
DEPENDENCIES_CHANNEL = "pre_exec_script_and_dependencies"


def _local(root: str, uri: str) -> Path:
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return Path(root, bucket, key)


def read_bytes(s3_uri: str, *_args: Any, **_kwargs: Any) -> bytes:
    for root in (os.environ["PIPELINES_RF_OBJECTS_OUT"], os.environ["PIPELINES_RF_OBJECTS_IN"]):
        path = _local(root, s3_uri)
        if path.is_file():
            return path.read_bytes()
    raise FileNotFoundError(f"object not found in the local object store: {s3_uri}")


def _write(s3_uri: str, data: bytes) -> str:
    path = _local(os.environ["PIPELINES_RF_OBJECTS_OUT"], s3_uri)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return s3_uri


def upload_bytes(b: bytes | io.BytesIO, s3_uri: str, *_args: Any, **_kwargs: Any) -> str:
    return _write(s3_uri, b.getvalue() if isinstance(b, io.BytesIO) else bytes(b))


def upload_string_as_file_body(body: str, desired_s3_uri: str, *_args: Any, **_kwargs: Any) -> str:
    return _write(desired_s3_uri, body.encode("utf-8"))


def _option(argv: list[str], name: str) -> str | None:
    flag = f"--{name}"
    return argv[argv.index(flag) + 1] if flag in argv and argv.index(flag) + 1 < len(argv) else None


def _prepare_workspace(argv: list[str]) -> None:
    """What bootstrap_runtime_environment.py does for a pipeline step, minus environment building."""
    build_time = _option(argv, "func_step_s3_dir")
    archive = INPUT_DATA / build_time / "workspace.zip" if build_time else None
    if archive is not None and archive.is_file():
        shutil.unpack_archive(str(archive), extract_dir=os.getcwd())
    workspace = Path(os.getcwd(), WORKSPACE_FOLDER)
    workspace.mkdir(exist_ok=True)
    dependencies = INPUT_DATA / DEPENDENCIES_CHANNEL
    if dependencies.is_dir():
        for item in dependencies.iterdir():
            if item.is_file():
                shutil.copy2(item, workspace / item.name)
    os.chdir(workspace)
    sys.path.insert(0, str(workspace))
    pre_exec = workspace / "pre_exec.sh"
    if pre_exec.is_file():
        print(f"INFO: running the pre-execution script {pre_exec}", flush=True)
        subprocess.run(["/bin/bash", str(pre_exec)], check=True)
    requirements = [p for p in workspace.iterdir() if p.name == "requirements.txt"]
    if requirements and os.environ.get("PIPELINES_RF_INSTALL_REQUIREMENTS"):
        subprocess.run([sys.executable, "-m", "pip", "install", "-r", str(requirements[0])], check=True)
    elif requirements:
        print(
            "INFO: requirements.txt is not installed locally (set install_requirements = true in the config)",
            flush=True,
        )


def _sdk_modules() -> tuple[Any, Any]:
    """The SDK's ``s3`` and ``invoke_function`` modules: SDK v2 has them under ``sagemaker``,
    SDK v3 under ``sagemaker.core``. A function pickled by one must be run by the same major
    version, so the interpreter the image maps to needs the SDK the pipeline was built with."""
    import importlib

    problems = []
    for s3_module, invoke_module in (
        ("sagemaker.s3", "sagemaker.remote_function.invoke_function"),  # SDK v2
        ("sagemaker.core.s3", "sagemaker.core.remote_function.invoke_function"),  # SDK v3
    ):
        try:
            return importlib.import_module(s3_module), importlib.import_module(invoke_module)
        except ImportError as exc:
            problems.append(f"{invoke_module}: {exc}")
    message = (
        f"the interpreter {sys.executable} cannot import the SageMaker Python SDK's remote-function "
        f"driver ({'; '.join(problems)}); map the @step image to an interpreter that has the SDK the "
        "pipeline was built with, in the config's [images] table"
    )
    Path("/opt/ml/output/failure").write_text(message)
    print(message, file=sys.stderr)
    sys.exit(1)


def main(argv: list[str]) -> None:
    s3, invoke_function = _sdk_modules()
    s3.S3Downloader.read_bytes = staticmethod(read_bytes)
    s3.S3Uploader.upload_bytes = staticmethod(upload_bytes)
    s3.S3Uploader.upload_string_as_file_body = staticmethod(upload_string_as_file_body)
    invoke_function._get_sagemaker_session = lambda region: None
    if "--run_in_context" in argv:
        index = argv.index("--run_in_context")
        print("INFO: the experiment run context is not loaded locally", flush=True)
        del argv[index : index + 2]
    _prepare_workspace(argv)
    invoke_function.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
