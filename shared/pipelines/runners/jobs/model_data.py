"""A model's container staged into a job's ``/opt/ml``: its model data unpacked under
``/opt/ml/model`` and its inference script located, as a SageMaker serving container does at
start. Used by local batch transform and by local endpoints (``pipelines.hosting``).

``ModelDataUrl`` (or ``ModelDataSource.S3DataSource`` with ``CompressionType: Gzip``) is one
``.tar.gz`` that is unpacked; ``CompressionType: None`` copies the prefix as it is. The script is
``SAGEMAKER_PROGRAM`` from ``SAGEMAKER_SUBMIT_DIRECTORY`` (an ``s3://`` tarball, unpacked into
``/opt/ml/code``, or a folder below ``/opt/ml``), else the model data's own ``code/`` folder;
without ``SAGEMAKER_PROGRAM`` the inference toolkit's default, ``code/inference.py``, is used
when the model data has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipelines.objects.base import ObjectStore
from pipelines.runners.jobs.channels import fetch_and_extract, fetch_input, is_uri
from pipelines.runners.jobs.container import JobLabel, JobWorkspace, as_mapping

MODEL_DIR = "/opt/ml/model"
CODE_DIR = "/opt/ml/code"


def stage_model_data(
    container: Mapping[str, Any], workspace: JobWorkspace, objects: ObjectStore, label: JobLabel
) -> None:
    """Unpack (or copy) the container's model data into the job's ``/opt/ml/model``."""
    model_dir = workspace.host_path(MODEL_DIR, what="model")
    model_dir.mkdir(parents=True, exist_ok=True)
    source = as_mapping(
        as_mapping(container.get("ModelDataSource"), what="ModelDataSource").get("S3DataSource"),
        what="S3DataSource",
    )
    if source and source.get("CompressionType") == "None":
        fetch_input(objects, str(source["S3Uri"]), "S3Prefix", model_dir, what=label.reason("model data"))
        return
    url = container.get("ModelDataUrl") or source.get("S3Uri")
    if url:
        fetch_and_extract(objects, str(url), model_dir, what=label.reason("model data"))


def stage_inference_code(
    container: Mapping[str, Any],
    workspace: JobWorkspace,
    objects: ObjectStore,
    label: JobLabel,
    *,
    required: bool,
) -> tuple[str | None, str]:
    """The inference program and the folder it is imported from (as the job sees it). With
    ``required`` a model without a script is refused; otherwise (a model its image serves by
    itself, XGBoost's algorithm mode) the program is None."""
    environment = as_mapping(container.get("Environment"), what="model Environment")
    program = environment.get("SAGEMAKER_PROGRAM")
    submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY")
    model_code = workspace.host_path(f"{MODEL_DIR}/code", what="model code")
    if not program:
        if (model_code / "inference.py").is_file():
            return "inference.py", f"{MODEL_DIR}/code"
        if not required:
            return None, MODEL_DIR
        raise label.request_error(
            "the model names no inference script (Environment SAGEMAKER_PROGRAM) and its model data has no "
            "code/inference.py; a model served by its image's own server cannot run locally"
        )
    program = str(program)
    if isinstance(submit, str) and is_uri(submit):
        code = workspace.host_path(CODE_DIR, what="code")
        fetch_and_extract(objects, submit, code, what=label.reason("SAGEMAKER_SUBMIT_DIRECTORY"))
        code_dir = CODE_DIR
    elif isinstance(submit, str) and submit.startswith("/opt/ml/"):
        code_dir = submit.rstrip("/")
    else:
        code_dir = f"{MODEL_DIR}/code"
    if not workspace.host_path(f"{code_dir}/{program}", what="inference script").is_file():
        raise label.request_error(f"inference script {program} not found in {submit or code_dir}")
    return program, code_dir
